package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// workspaceJSON is a workspace as Airbyte's WorkspaceResponse shows it.
// Ferry sends no notifications of its own kind, so notifications is empty.
type workspaceJSON struct {
	WorkspaceID   string         `json:"workspaceId"`
	Name          string         `json:"name"`
	DataResidency string         `json:"dataResidency"`
	Notifications map[string]any `json:"notifications"`
	Default       bool           `json:"default"`
	CreatedAt     int64          `json:"createdAt"`
}

// workspaceRequest is Airbyte's WorkspaceUpdateRequest.
type workspaceRequest struct {
	Name          *string `json:"name"`
	DataResidency *string `json:"dataResidency"`
}

func newWorkspaceJSON(w *store.Workspace) workspaceJSON {
	return workspaceJSON{WorkspaceID: w.ID, Name: w.Name, DataResidency: w.DataResidency,
		Notifications: map[string]any{}, Default: w.Default, CreatedAt: w.CreatedAt.Unix()}
}

func (s *Server) workspaceRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/workspaces", s.handleListWorkspaces)
	r.handle(http.MethodGet, "/workspaces/{workspaceId}", s.handleGetWorkspace)
	r.handle(http.MethodPatch, "/workspaces/{workspaceId}", s.handleUpdateWorkspace)
	r.handle(http.MethodPost, "/workspaces", s.handleOneWorkspace)
	r.handle(http.MethodDelete, "/workspaces/{workspaceId}", s.handleOneWorkspace)
}

func (s *Server) handleListWorkspaces(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ws, total, err := s.cfg.Store.Workspaces(r.Context(), store.WorkspaceFilter{IDs: workspaceIDs(r), Page: p})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]workspaceJSON, len(ws))
	for i, x := range ws {
		out[i] = newWorkspaceJSON(x)
	}
	writeList(w, r, newList(r, p, total, out))
}

func (s *Server) handleGetWorkspace(w http.ResponseWriter, r *http.Request) {
	ws, err := s.cfg.Store.Workspace(r.Context(), mux.Vars(r)["workspaceId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newWorkspaceJSON(ws))
}

func (s *Server) handleUpdateWorkspace(w http.ResponseWriter, r *http.Request) {
	var req workspaceRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ws := &store.Workspace{ID: mux.Vars(r)["workspaceId"]}
	if req.Name != nil {
		if ws.Name = *req.Name; strings.TrimSpace(ws.Name) == "" {
			writeError(w, r, s.log, &store.ValidationError{Field: "name", Message: "must not be empty"})
			return
		}
	}
	if req.DataResidency != nil {
		ws.DataResidency = *req.DataResidency
	}
	if err := s.cfg.Store.UpdateWorkspace(r.Context(), ws); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newWorkspaceJSON(ws))
}

// handleOneWorkspace answers creating or deleting a workspace: Ferry has
// exactly one.
func (s *Server) handleOneWorkspace(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.log, &requestError{status: http.StatusNotImplemented,
		msg: "Ferry has one workspace, the default; it cannot be created or deleted"})
}

// workspaceIDs reads the workspaceIds query parameter, repeated or
// comma-separated as Airbyte's clients send it.
func workspaceIDs(r *http.Request) []string {
	var out []string
	for _, v := range r.URL.Query()["workspaceIds"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// workspaceOf resolves the workspaceId of a create: the default when
// empty, else it must exist.
func (s *Server) workspaceOf(r *http.Request, id *string) (string, error) {
	if id == nil || *id == "" {
		ws, err := s.cfg.Store.DefaultWorkspace(r.Context())
		if err != nil {
			return "", err
		}
		return ws.ID, nil
	}
	if _, err := s.cfg.Store.Workspace(r.Context(), *id); err != nil {
		return "", missingRef(r, err, "workspaceId", "names no workspace")
	}
	return *id, nil
}

package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// definitionJSON is a connector definition as the API shows it.
type definitionJSON struct {
	DefinitionID string               `json:"definitionId"`
	Name         string               `json:"name"`
	Kind         store.ActorKind      `json:"kind"`
	Image        string               `json:"image"`
	BinaryPath   string               `json:"binaryPath,omitempty"`
	IPCOptions   *protocol.IPCOptions `json:"ipcOptions"`
	Resources    resourcesJSON        `json:"resources"`
	SpecCached   bool                 `json:"specCached"`
	SpecImageID  string               `json:"specImageId,omitempty"`
	CreatedAt    int64                `json:"createdAt"`
	UpdatedAt    int64                `json:"updatedAt"`
	// SpecError says why the spec could not be read when the definition
	// was created or its image changed; GET .../spec?refresh=true retries.
	SpecError string `json:"specError,omitempty"`
}

type resourcesJSON struct {
	MemoryBytes int64   `json:"memoryBytes"`
	CPUs        float64 `json:"cpus"`
}

// definitionRequest is the body of POST, PUT and PATCH. Pointers tell
// "absent" from "zero" for PATCH.
type definitionRequest struct {
	DefinitionID *string              `json:"definitionId"`
	Name         *string              `json:"name"`
	Kind         *store.ActorKind     `json:"kind"`
	Image        *string              `json:"image"`
	BinaryPath   *string              `json:"binaryPath"`
	IPCOptions   *protocol.IPCOptions `json:"ipcOptions"`
	Resources    *resourcesJSON       `json:"resources"`
	// Spec sets the ConnectorSpecification instead of running the
	// connector's spec command.
	Spec json.RawMessage `json:"spec"`
}

func newDefinitionJSON(d *store.Definition) definitionJSON {
	return definitionJSON{
		DefinitionID: d.ID, Name: d.Name, Kind: d.Kind, Image: d.Image, BinaryPath: d.BinaryPath,
		IPCOptions: d.IPCOptions, Resources: resourcesJSON{d.Resources.MemoryBytes, d.Resources.CPUs},
		SpecCached: d.Spec != nil, SpecImageID: d.SpecImageID,
		CreatedAt: d.CreatedAt.Unix(), UpdatedAt: d.UpdatedAt.Unix(),
	}
}

func (s *Server) definitionRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/definitions", s.handleListDefinitions)
	r.handle(http.MethodPost, "/definitions", s.handleCreateDefinition)
	r.handle(http.MethodGet, "/definitions/{definitionId}", s.handleGetDefinition)
	r.handle(http.MethodPut, "/definitions/{definitionId}", s.handleUpdateDefinition(false))
	r.handle(http.MethodPatch, "/definitions/{definitionId}", s.handleUpdateDefinition(true))
	r.handle(http.MethodDelete, "/definitions/{definitionId}", s.handleDeleteDefinition)
	r.handle(http.MethodGet, "/definitions/{definitionId}/spec", s.handleDefinitionSpec)
}

func (s *Server) handleListDefinitions(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f := store.DefinitionFilter{Kind: store.ActorKind(r.URL.Query().Get("kind")), Name: r.URL.Query().Get("name"), Page: p}
	if f.Kind != "" && f.Kind != store.KindSource && f.Kind != store.KindDestination {
		writeError(w, r, s.log, badRequest("kind", "kind must be source or destination"))
		return
	}
	defs, total, err := s.cfg.Store.Definitions(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]definitionJSON, len(defs))
	for i, d := range defs {
		out[i] = newDefinitionJSON(d)
	}
	writeJSON(w, http.StatusOK, newList(r, p, total, out))
}

func (s *Server) handleCreateDefinition(w http.ResponseWriter, r *http.Request) {
	var req definitionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d := &store.Definition{}
	req.apply(d)
	if err := d.Validate(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	specErr := ""
	if d.Spec == nil {
		specErr = s.readSpec(r.Context(), d, req.IPCOptions == nil)
	}
	if err := s.cfg.Store.CreateDefinition(r.Context(), d); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := newDefinitionJSON(d)
	out.SpecError = specErr
	w.Header().Set("Location", "/api/v1/definitions/"+d.ID)
	writeJSON(w, http.StatusCreated, out)
}

// apply copies the fields present in the request onto d.
func (req *definitionRequest) apply(d *store.Definition) {
	if req.DefinitionID != nil {
		d.ID = *req.DefinitionID
	}
	if req.Name != nil {
		d.Name = *req.Name
	}
	if req.Kind != nil {
		d.Kind = *req.Kind
	}
	if req.Image != nil {
		d.Image = *req.Image
	}
	if req.BinaryPath != nil {
		d.BinaryPath = *req.BinaryPath
	}
	if req.IPCOptions != nil {
		d.IPCOptions = req.IPCOptions
	}
	if req.Resources != nil {
		d.Resources = store.Resources{MemoryBytes: req.Resources.MemoryBytes, CPUs: req.Resources.CPUs}
	}
	if req.Spec != nil && string(req.Spec) != "null" {
		d.Spec, d.SpecImageID = req.Spec, ""
	}
}

// readSpec runs the connector's spec command and caches the result on d
// (and its IPC options when withIPC). It returns the error text for the
// response instead of failing: a definition can be registered before its
// image is built.
func (s *Server) readSpec(ctx context.Context, d *store.Definition, withIPC bool) string {
	res, err := s.cfg.Connectors.Spec(ctx, d)
	if err != nil {
		return err.Error()
	}
	d.Spec, d.SpecImageID = res.Spec, res.ImageID
	if withIPC && res.IPCOptions != nil {
		d.IPCOptions = res.IPCOptions
	}
	return ""
}

func (s *Server) handleGetDefinition(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newDefinitionJSON(d))
}

// handleUpdateDefinition serves PUT (replace: name, kind and image are
// required, and the omitted optional fields are cleared) and PATCH (only
// the fields sent change). A changed image or binary re-reads the spec
// unless the request carries one.
func (s *Server) handleUpdateDefinition(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req definitionRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		old, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if req.DefinitionID != nil && *req.DefinitionID != old.ID {
			writeError(w, r, s.log, badRequest("definitionId", "definitionId cannot change"))
			return
		}
		d := *old
		if !patch {
			d = store.Definition{ID: old.ID, Spec: old.Spec, SpecImageID: old.SpecImageID}
		}
		req.apply(&d)
		specErr := ""
		if req.Spec == nil && (d.Image != old.Image || d.BinaryPath != old.BinaryPath) {
			specErr = s.readSpec(r.Context(), &d, req.IPCOptions == nil)
		}
		if err := s.cfg.Store.UpdateDefinition(r.Context(), &d); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := newDefinitionJSON(&d)
		out.SpecError = specErr
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) handleDeleteDefinition(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeleteDefinition(r.Context(), mux.Vars(r)["definitionId"]); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// specJSON is a definition's ConnectorSpecification.
type specJSON struct {
	DefinitionID string          `json:"definitionId"`
	SpecImageID  string          `json:"specImageId,omitempty"`
	Spec         json.RawMessage `json:"spec"`
}

// handleDefinitionSpec returns the cached spec, reading it from the
// connector when none is cached or ?refresh=true.
func (s *Server) handleDefinitionSpec(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	refresh, err := boolParam(r, "refresh")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if d.Spec == nil || refresh {
		res, err := s.cfg.Connectors.Spec(r.Context(), d)
		if err != nil {
			writeError(w, r, s.log, &connectorError{msg: "spec: " + err.Error()})
			return
		}
		d.Spec, d.SpecImageID = res.Spec, res.ImageID
		if res.IPCOptions != nil {
			d.IPCOptions = res.IPCOptions
		}
		if err := s.cfg.Store.UpdateDefinition(r.Context(), d); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, specJSON{DefinitionID: d.ID, SpecImageID: d.SpecImageID, Spec: d.Spec})
}

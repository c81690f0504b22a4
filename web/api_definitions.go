package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// definitionJSON is a connector definition as the API shows it.
type definitionJSON struct {
	DefinitionID string               `json:"definitionId"`
	Name         string               `json:"name"`
	ShortName    string               `json:"shortName,omitempty"`
	Kind         store.ActorKind      `json:"kind"`
	Image        string               `json:"image"`
	BinaryPath   string               `json:"binaryPath,omitempty"`
	IPCOptions   *protocol.IPCOptions `json:"ipcOptions"`
	Resources    resourcesJSON        `json:"resources"`
	SpecCached   bool                 `json:"specCached"`
	SpecImageID  string               `json:"specImageId,omitempty"`
	// Hardening is how locked down the connector's containers run:
	// strict, compatible, or auto (the image's io.ferry.hardening label
	// decides: strict on Ferry's own connectors, compatible otherwise).
	Hardening string `json:"hardening"`
	// Entrypoint is the connector's command for runtimes that cannot
	// inspect images (Kubernetes); null when not set. EntrypointSource
	// says where it came from: image or api.
	Entrypoint       []string `json:"entrypoint"`
	EntrypointSource string   `json:"entrypointSource,omitempty"`
	CreatedAt        int64    `json:"createdAt"`
	UpdatedAt        int64    `json:"updatedAt"`
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
	ShortName    *string              `json:"shortName"`
	Kind         *store.ActorKind     `json:"kind"`
	Image        *string              `json:"image"`
	BinaryPath   *string              `json:"binaryPath"`
	IPCOptions   *protocol.IPCOptions `json:"ipcOptions"`
	Resources    *resourcesJSON       `json:"resources"`
	Hardening    *string              `json:"hardening"`
	// Entrypoint sets the connector's command, kept over the image's;
	// an empty array clears it, so that the image's is read again. The
	// stored one sent back unchanged changes nothing.
	Entrypoint *[]string `json:"entrypoint"`
	// Spec sets the ConnectorSpecification instead of running the
	// connector's spec command.
	Spec json.RawMessage `json:"spec"`
}

func newDefinitionJSON(d *store.Definition) definitionJSON {
	return definitionJSON{
		DefinitionID: d.ID, Name: d.Name, ShortName: d.ShortName, Kind: d.Kind, Image: d.Image, BinaryPath: d.BinaryPath,
		IPCOptions: d.IPCOptions, Resources: resourcesJSON{d.Resources.MemoryBytes, d.Resources.CPUs},
		SpecCached: d.Spec != nil, SpecImageID: d.SpecImageID, Hardening: hardeningName(d.Hardening),
		Entrypoint: d.Entrypoint, EntrypointSource: d.EntrypointSource,
		CreatedAt: d.CreatedAt.Unix(), UpdatedAt: d.UpdatedAt.Unix(),
	}
}

// hardeningAuto is the API's and the pages' name for a definition that
// follows its image's io.ferry.hardening label (stored as "").
const hardeningAuto = "auto"

func hardeningName(h string) string {
	if h == "" {
		return hardeningAuto
	}
	return h
}

// publicDefinitionJSON is a definition as Airbyte's DefinitionResponse
// shows it, with Ferry's short name and kind beside.
type publicDefinitionJSON struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	DockerRepository string          `json:"dockerRepository"`
	DockerImageTag   string          `json:"dockerImageTag"`
	ShortName        string          `json:"shortName,omitempty"`
	Kind             store.ActorKind `json:"kind"`
}

func newPublicDefinitionJSON(d *store.Definition) publicDefinitionJSON {
	repo, tag := splitImage(d.Image)
	return publicDefinitionJSON{ID: d.ID, Name: d.Name, DockerRepository: repo, DockerImageTag: tag,
		ShortName: d.ShortName, Kind: d.Kind}
}

// splitImage splits an image reference into repository and tag (or
// digest); a reference without either has the tag "latest", as Docker
// reads it.
func splitImage(image string) (repo, tag string) {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[:i], image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, "latest"
}

// workspaceDefinitionRoutes serve Airbyte's per-workspace definition
// lists; every definition is available in every workspace.
func (s *Server) workspaceDefinitionRoutes(r apiRouter) {
	for _, k := range []actorKind{sourceKind, destinationKind} {
		base := "/workspaces/{workspaceId}/definitions/" + k.plural
		r.handle(http.MethodGet, base, s.handleWorkspaceDefinitions(k))
		r.handle(http.MethodGet, base+"/{definitionId}", s.handleWorkspaceDefinition(k))
	}
}

func (s *Server) handleWorkspaceDefinitions(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePage(r)
		if err == nil {
			_, err = s.cfg.Store.Workspace(r.Context(), mux.Vars(r)["workspaceId"])
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		defs, total, err := s.cfg.Store.Definitions(r.Context(), store.DefinitionFilter{Kind: k.kind, Page: p})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := make([]publicDefinitionJSON, len(defs))
		for i, d := range defs {
			out[i] = newPublicDefinitionJSON(d)
		}
		writeList(w, r, newList(r, p, total, out))
	}
}

func (s *Server) handleWorkspaceDefinition(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.cfg.Store.Workspace(r.Context(), mux.Vars(r)["workspaceId"]); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		d, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
		if err == nil && d.Kind != k.kind {
			err = &requestError{status: http.StatusNotFound, msg: "definition " + d.ID + " is a " + string(d.Kind) + " definition"}
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, newPublicDefinitionJSON(d))
	}
}

func (s *Server) definitionRoutes(r apiRouter) {
	s.workspaceDefinitionRoutes(r)
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
	writeList(w, r, newList(r, p, total, out))
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
	writeCreated(w, r, "/definitions/"+d.ID, out)
}

// apply copies the fields present in the request onto d.
func (req *definitionRequest) apply(d *store.Definition) {
	if req.DefinitionID != nil {
		d.ID = *req.DefinitionID
	}
	if req.Name != nil {
		d.Name = *req.Name
	}
	if req.ShortName != nil {
		d.ShortName = *req.ShortName
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
	if req.Hardening != nil {
		// The store refuses anything but strict, compatible or "".
		d.Hardening = *req.Hardening
		if d.Hardening == hardeningAuto {
			d.Hardening = ""
		}
	}
	if req.Entrypoint != nil && !slices.Equal(*req.Entrypoint, d.Entrypoint) {
		// One sent back as it is stored changes nothing: a GET edited
		// and PUT back keeps an entrypoint read from the image as such.
		setEntrypoint(d, *req.Entrypoint)
	}
	if req.Spec != nil && string(req.Spec) != "null" {
		d.Spec, d.SpecImageID = req.Spec, ""
	}
}

// readSpec runs the connector's spec command and caches the result on d
// (and its IPC options when withIPC, and the short name its image's label
// gives when d has none). It returns the error text for the response
// instead of failing: a definition can be registered before its image is
// built.
func (s *Server) readSpec(ctx context.Context, d *store.Definition, withIPC bool) string {
	res, err := s.cfg.Connectors.Spec(ctx, d)
	if err != nil {
		return err.Error()
	}
	d.Spec, d.SpecImageID = res.Spec, res.ImageID
	if short := store.ShortNameOf(res.Connector); d.ShortName == "" && short != "" {
		// A label is a suggestion: a short name another definition of the
		// kind already has stays with it.
		if other, err := s.cfg.Store.DefinitionByShortName(ctx, d.Kind, short); errors.Is(err, store.ErrNotFound) ||
			(err == nil && other.ID == d.ID) {
			d.ShortName = short
		}
	}
	if withIPC && res.IPCOptions != nil {
		d.IPCOptions = res.IPCOptions
	}
	takeImageEntrypoint(d, res.Entrypoint)
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
			// What was read from the image stays, as the spec does.
			d = store.Definition{ID: old.ID, Spec: old.Spec, SpecImageID: old.SpecImageID}
			if old.EntrypointSource == store.EntrypointFromImage {
				d.Entrypoint, d.EntrypointSource = old.Entrypoint, old.EntrypointSource
			}
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
		takeImageEntrypoint(d, res.Entrypoint)
		if err := s.cfg.Store.UpdateDefinition(r.Context(), d); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, specJSON{DefinitionID: d.ID, SpecImageID: d.SpecImageID, Spec: d.Spec})
}

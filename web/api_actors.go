package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// Sources and destinations are both actors in the store, with the same
// handlers here; actorKind holds what differs: the path and the JSON names.
type actorKind struct {
	kind   store.ActorKind
	plural string // path segment: sources, destinations
	idVar  string // sourceId, destinationId
}

// typeKey is the configuration key that may name the connector.
func (k actorKind) typeKey() string { return string(k.kind) + "Type" }

var (
	sourceKind      = actorKind{store.KindSource, "sources", "sourceId"}
	destinationKind = actorKind{store.KindDestination, "destinations", "destinationId"}
)

// actorJSON is a source or destination as Airbyte's SourceResponse and
// DestinationResponse show it: the configuration with its secrets masked,
// and the definition's name as the type.
type actorJSON struct {
	SourceID        string          `json:"sourceId,omitempty"`
	DestinationID   string          `json:"destinationId,omitempty"`
	Name            string          `json:"name"`
	SourceType      string          `json:"sourceType,omitempty"`
	DestinationType string          `json:"destinationType,omitempty"`
	DefinitionID    string          `json:"definitionId"`
	WorkspaceID     string          `json:"workspaceId"`
	Configuration   json.RawMessage `json:"configuration"`
	CreatedAt       int64           `json:"createdAt"`
	UpdatedAt       int64           `json:"updatedAt"`
}

// actorRequest is the body of POST, PUT and PATCH. Other fields, such as
// the read-only ones of actorJSON, are ignored.
type actorRequest struct {
	SourceID      *string         `json:"sourceId"`
	DestinationID *string         `json:"destinationId"`
	Name          *string         `json:"name"`
	DefinitionID  *string         `json:"definitionId"`
	Configuration json.RawMessage `json:"configuration"`
	WorkspaceID   *string         `json:"workspaceId"`
}

// id returns the id field of the request's kind.
func (req *actorRequest) id(k actorKind) *string {
	if k.kind == store.KindDestination {
		return req.DestinationID
	}
	return req.SourceID
}

// typeName is what an actor's sourceType or destinationType says: its
// definition's short name, as Airbyte names connectors, else its name.
func typeName(def *store.Definition) string {
	if def.ShortName != "" {
		return def.ShortName
	}
	return def.Name
}

func (s *Server) newActorJSON(a *store.Actor, def *store.Definition) actorJSON {
	out := actorJSON{Name: a.Name, DefinitionID: a.DefinitionID, WorkspaceID: a.WorkspaceID,
		Configuration: a.Config, CreatedAt: a.CreatedAt.Unix(), UpdatedAt: a.UpdatedAt.Unix()}
	if a.Kind == store.KindSource {
		out.SourceID, out.SourceType = a.ID, typeName(def)
	} else {
		out.DestinationID, out.DestinationType = a.ID, typeName(def)
	}
	return out
}

func (s *Server) actorRoutes(r apiRouter, k actorKind) {
	base, one := "/"+k.plural, "/"+k.plural+"/{"+k.idVar+"}"
	r.handle(http.MethodGet, base, s.handleListActors(k))
	r.handle(http.MethodPost, base, s.handleCreateActor(k))
	r.handle(http.MethodGet, one, s.handleGetActor(k))
	r.handle(http.MethodPut, one, s.handleUpdateActor(k, false))
	r.handle(http.MethodPatch, one, s.handleUpdateActor(k, true))
	r.handle(http.MethodDelete, one, s.handleDeleteActor(k))
	r.handle(http.MethodPost, one+"/check", s.handleCheck(k))
}

func (s *Server) handleListActors(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePage(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		f := store.ActorFilter{Kind: k.kind, DefinitionID: r.URL.Query().Get("definitionId"),
			WorkspaceIDs: workspaceIDs(r), Page: p}
		actors, total, err := s.cfg.Store.Actors(r.Context(), f)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		defs := map[string]*store.Definition{}
		out := make([]actorJSON, len(actors))
		for i, a := range actors {
			if _, ok := defs[a.DefinitionID]; !ok {
				d, err := s.cfg.Store.Definition(r.Context(), a.DefinitionID)
				if err != nil {
					writeError(w, r, s.log, err)
					return
				}
				defs[a.DefinitionID] = d
			}
			out[i] = s.newActorJSON(a, defs[a.DefinitionID])
		}
		writeList(w, r, newList(r, p, total, out))
	}
}

func (s *Server) handleCreateActor(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req actorRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		a := &store.Actor{Kind: k.kind}
		if id := req.id(k); id != nil {
			a.ID = *id
		}
		if req.Name != nil {
			a.Name = *req.Name
		}
		ws, err := s.workspaceOf(r, req.WorkspaceID)
		a.WorkspaceID = ws
		var def *store.Definition
		if err == nil {
			err = checkConfigObject(req.Configuration)
		}
		if err == nil {
			def, a.Config, err = s.createDefinition(r, k, req.DefinitionID, req.Configuration)
		}
		if err == nil {
			a.DefinitionID = def.ID
			err = validateConfig(def.Spec, a.Config, newRedactor(secretValuesOf(def.Spec, a.Config)))
		}
		if err == nil {
			err = configField(s.cfg.Store.CreateActor(r.Context(), a))
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeCreated(w, r, "/"+k.plural+"/"+a.ID, s.newActorJSON(a, def))
	}
}

// createDefinition finds the definition a new source or destination
// names, by definitionId or, as Airbyte allows, by the connector's short
// name in configuration.sourceType (destinationType), which is then taken
// out of the configuration unless the connector's spec declares it.
func (s *Server) createDefinition(r *http.Request, k actorKind, id *string, config json.RawMessage) (*store.Definition, json.RawMessage, error) {
	typ, rest, err := takeType(config, k)
	if err != nil {
		return nil, nil, err
	}
	var def *store.Definition
	switch {
	case id != nil && *id != "":
		if def, err = s.actorDefinition(r, k, *id); err != nil {
			return nil, nil, err
		}
		if typ != "" && typ != def.ShortName && store.ShortNameOf(typ) != def.ShortName && typ != def.Name {
			return nil, nil, &store.ValidationError{Field: "configuration." + k.typeKey(),
				Message: fmt.Sprintf("is %q, but definitionId names %s", typ, typeName(def))}
		}
	case typ != "":
		if def, err = s.definitionByType(r, k, typ); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, &store.ValidationError{Field: "definitionId",
			Message: "is required, or the connector's short name in configuration." + k.typeKey()}
	}
	if typ == "" || specDeclares(def.Spec, k.typeKey()) {
		return def, config, nil
	}
	return def, rest, nil
}

// definitionByType finds a definition of kind k by the short name typ, or
// by what a connector name such as source-faker shortens to.
func (s *Server) definitionByType(r *http.Request, k actorKind, typ string) (*store.Definition, error) {
	def, err := s.cfg.Store.DefinitionByShortName(r.Context(), k.kind, typ)
	if errors.Is(err, store.ErrNotFound) && store.ShortNameOf(typ) != "" && store.ShortNameOf(typ) != typ {
		def, err = s.cfg.Store.DefinitionByShortName(r.Context(), k.kind, store.ShortNameOf(typ))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &store.ValidationError{Field: "configuration." + k.typeKey(),
			Message: fmt.Sprintf("%q is the short name of no %s definition", typ, k.kind)}
	} else if err != nil {
		return nil, err
	}
	return s.actorDefinition(r, k, def.ID)
}

// actorDefinition loads the definition an actor names and makes sure its
// spec is cached, reading it from the connector if need be: the spec
// decides both validation and which fields are secrets.
func (s *Server) actorDefinition(r *http.Request, k actorKind, id string) (*store.Definition, error) {
	ctx := r.Context()
	if id == "" {
		return nil, &store.ValidationError{Field: "definitionId", Message: "is required"}
	}
	def, err := s.cfg.Store.Definition(ctx, id)
	if err != nil {
		return nil, missingRef(r, err, "definitionId", "names no definition")
	}
	if def.Kind != k.kind {
		return nil, &store.ValidationError{Field: "definitionId", Message: "is a " + string(def.Kind) + " definition"}
	}
	if def.Spec == nil {
		if msg := s.readSpec(ctx, def, def.IPCOptions == nil); msg != "" {
			return nil, &connectorError{msg: "cannot read the connector's spec, which says how to validate and protect its configuration: " + msg}
		}
		if err := s.cfg.Store.UpdateDefinition(ctx, def); err != nil {
			return nil, err
		}
	}
	return def, nil
}

// checkConfigObject requires the configuration to be a JSON object.
func checkConfigObject(config json.RawMessage) error {
	if t := strings.TrimSpace(string(config)); !strings.HasPrefix(t, "{") {
		return &store.ValidationError{Field: "configuration", Message: "is required: a JSON object"}
	}
	return nil
}

// configField renames the store's "config" fields to the API's
// "configuration".
func configField(err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) && (ve.Field == "config" || strings.HasPrefix(ve.Field, "config.")) {
		return &store.ValidationError{Field: "configuration" + strings.TrimPrefix(ve.Field, "config"), Message: ve.Message}
	}
	return err
}

func (s *Server) handleGetActor(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.cfg.Store.Actor(r.Context(), k.kind, mux.Vars(r)[k.idVar])
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		def, err := s.cfg.Store.Definition(r.Context(), a.DefinitionID)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, s.newActorJSON(a, def))
	}
}

func (s *Server) handleDeleteActor(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)[k.idVar]
		if err := s.cfg.Store.DeleteActor(r.Context(), k.kind, id); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		s.streams.forget(id)
		w.WriteHeader(http.StatusNoContent)
	}
}

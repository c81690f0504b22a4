package web

import (
	"context"
	"encoding/json"
	"errors"
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
	Configuration   json.RawMessage `json:"configuration"`
	CreatedAt       int64           `json:"createdAt"`
	UpdatedAt       int64           `json:"updatedAt"`
}

// actorRequest is the body of POST, PUT and PATCH. workspaceId is accepted
// so that scripts written for Airbyte work unchanged; Ferry has one
// workspace and ignores it.
type actorRequest struct {
	SourceID      *string         `json:"sourceId"`
	DestinationID *string         `json:"destinationId"`
	Name          *string         `json:"name"`
	DefinitionID  *string         `json:"definitionId"`
	Configuration json.RawMessage `json:"configuration"`
	WorkspaceID   *string         `json:"workspaceId"`
}

// id returns the id field of the request's kind, refusing the other one.
func (req *actorRequest) id(k actorKind) (*string, error) {
	mine, other, otherName := req.SourceID, req.DestinationID, "destinationId"
	if k.kind == store.KindDestination {
		mine, other, otherName = req.DestinationID, req.SourceID, "sourceId"
	}
	if other != nil {
		return nil, badRequest(otherName, "unknown field %q", otherName)
	}
	return mine, nil
}

func (s *Server) newActorJSON(a *store.Actor, defName string) actorJSON {
	out := actorJSON{Name: a.Name, DefinitionID: a.DefinitionID, Configuration: a.Config,
		CreatedAt: a.CreatedAt.Unix(), UpdatedAt: a.UpdatedAt.Unix()}
	if a.Kind == store.KindSource {
		out.SourceID, out.SourceType = a.ID, defName
	} else {
		out.DestinationID, out.DestinationType = a.ID, defName
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
		f := store.ActorFilter{Kind: k.kind, DefinitionID: r.URL.Query().Get("definitionId"), Page: p}
		actors, total, err := s.cfg.Store.Actors(r.Context(), f)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		names := map[string]string{}
		out := make([]actorJSON, len(actors))
		for i, a := range actors {
			if _, ok := names[a.DefinitionID]; !ok {
				d, err := s.cfg.Store.Definition(r.Context(), a.DefinitionID)
				if err != nil {
					writeError(w, r, s.log, err)
					return
				}
				names[a.DefinitionID] = d.Name
			}
			out[i] = s.newActorJSON(a, names[a.DefinitionID])
		}
		writeJSON(w, http.StatusOK, newList(r, p, total, out))
	}
}

func (s *Server) handleCreateActor(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req actorRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		id, err := req.id(k)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		a := &store.Actor{Kind: k.kind, Config: req.Configuration}
		if id != nil {
			a.ID = *id
		}
		if req.Name != nil {
			a.Name = *req.Name
		}
		if req.DefinitionID != nil {
			a.DefinitionID = *req.DefinitionID
		}
		def, err := s.actorDefinition(r.Context(), k, a.DefinitionID)
		if err == nil {
			err = checkConfigObject(a.Config)
		}
		if err == nil {
			err = validateConfig(def.Spec, a.Config, newRedactor(secretValuesOf(def.Spec, a.Config)))
		}
		if err == nil {
			err = configField(s.cfg.Store.CreateActor(r.Context(), a))
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.Header().Set("Location", "/api/v1/"+k.plural+"/"+a.ID)
		writeJSON(w, http.StatusCreated, s.newActorJSON(a, def.Name))
	}
}

// actorDefinition loads the definition an actor names and makes sure its
// spec is cached, reading it from the connector if need be: the spec
// decides both validation and which fields are secrets.
func (s *Server) actorDefinition(ctx context.Context, k actorKind, id string) (*store.Definition, error) {
	if id == "" {
		return nil, &store.ValidationError{Field: "definitionId", Message: "is required"}
	}
	def, err := s.cfg.Store.Definition(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &store.ValidationError{Field: "definitionId", Message: "names no definition"}
	} else if err != nil {
		return nil, err
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
		writeJSON(w, http.StatusOK, s.newActorJSON(a, def.Name))
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

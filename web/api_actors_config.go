package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// The handlers here touch a stored plaintext config: an update merges the
// stored secrets into the incoming config to validate it, and check hands
// the config to the connector. The plaintext never reaches a response or a
// log line; what the connector says back is masked by value first.

// handleUpdateActor serves PUT (name and configuration required) and PATCH
// (either may be left out). A secret sent back as the mask keeps the
// stored value; the merged config is what the spec validates.
func (s *Server) handleUpdateActor(k actorKind, patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req actorRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		ctx := r.Context()
		id := mux.Vars(r)[k.idVar]
		old, err := s.cfg.Store.Actor(ctx, k.kind, id)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		reqID, err := req.id(k)
		switch {
		case err != nil:
		case reqID != nil && *reqID != id:
			err = badRequest(k.idVar, "%s cannot change", k.idVar)
		case req.DefinitionID != nil && *req.DefinitionID != old.DefinitionID:
			err = &store.ValidationError{Field: "definitionId", Message: "cannot change"}
		case !patch && req.Name == nil:
			err = &store.ValidationError{Field: "name", Message: "is required"}
		case !patch && req.Configuration == nil:
			err = &store.ValidationError{Field: "configuration", Message: "is required"}
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		a := &store.Actor{ID: id, Kind: k.kind, Name: old.Name, DefinitionID: old.DefinitionID, Config: old.Config}
		if req.Name != nil {
			a.Name = *req.Name
		}
		def, err := s.actorDefinition(ctx, k, old.DefinitionID)
		if err == nil && req.Configuration != nil {
			a.Config = req.Configuration
			err = s.validateUpdate(r, def, a)
		}
		if err == nil {
			// The store merges the masked values again, inside its
			// transaction, so a concurrent update cannot slip between.
			err = configField(s.cfg.Store.UpdateActor(ctx, a))
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		s.streams.forget(id)
		writeJSON(w, http.StatusOK, s.newActorJSON(a, def.Name))
	}
}

// validateUpdate validates the incoming config of a with the stored
// secrets merged in where it holds the mask.
func (s *Server) validateUpdate(r *http.Request, def *store.Definition, a *store.Actor) error {
	if err := checkConfigObject(a.Config); err != nil {
		return err
	}
	stored, err := s.cfg.Store.ActorConfig(r.Context(), a.Kind, a.ID)
	if err != nil {
		return err
	}
	merged, err := store.MergeSecrets(def.Spec, stored.Config, a.Config)
	if err != nil {
		return configField(err)
	}
	red := newRedactor(stored.Secrets, secretValuesOf(def.Spec, merged))
	return validateConfig(def.Spec, merged, red)
}

// checkJSON is the result of a connection check, as Airbyte's
// CheckConnectionRead: succeeded or failed, and the connector's message.
type checkJSON struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// handleCheck runs the connector's check with the stored config. A
// connector that cannot run at all is a failed check too: either way the
// user learns that the source or destination does not work, and why.
func (s *Server) handleCheck(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := mux.Vars(r)[k.idVar]
		a, err := s.cfg.Store.Actor(ctx, k.kind, id)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		def, err := s.cfg.Store.Definition(ctx, a.DefinitionID)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		cfg, err := s.cfg.Store.ActorConfig(ctx, k.kind, id)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		res, err := s.checkConfig(ctx, def, cfg.Config, newRedactor(cfg.Secrets))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// checkConfig runs the connector's check with a plaintext config and
// returns its verdict with the message masked by red. It fails only when
// ctx ended; the API and the UI's Test button both use it.
func (s *Server) checkConfig(ctx context.Context, def *store.Definition, config json.RawMessage, red *secret.Redactor) (checkJSON, error) {
	st, err := s.cfg.Connectors.Check(ctx, def, config)
	switch {
	case err != nil && ctx.Err() != nil:
		return checkJSON{}, ctx.Err()
	case err != nil:
		return checkJSON{Status: "failed", Message: red.Redact(err.Error())}, nil
	case st.Status == protocol.StatusSucceeded:
		return checkJSON{Status: "succeeded", Message: red.Redact(st.Message)}, nil
	}
	return checkJSON{Status: "failed", Message: red.Redact(st.Message)}, nil
}

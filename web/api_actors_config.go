package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// stored value; the merged config is what the spec validates. Read-only
// fields sent back (workspaceId, sourceType, createdAt...) are ignored
// when they match, refused when they would change something.
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
		reqID := req.id(k)
		switch {
		case reqID != nil && *reqID != id:
			err = badRequest(k.idVar, "%s cannot change", k.idVar)
		case req.DefinitionID != nil && *req.DefinitionID != old.DefinitionID:
			err = &store.ValidationError{Field: "definitionId", Message: "cannot change"}
		case req.WorkspaceID != nil && *req.WorkspaceID != "" && *req.WorkspaceID != old.WorkspaceID:
			err = &store.ValidationError{Field: "workspaceId", Message: "cannot change"}
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
		def, err := s.actorDefinition(r, k, old.DefinitionID)
		if err == nil && req.Configuration != nil {
			a.Config, err = s.updateConfig(def, k, req.Configuration)
		}
		if err == nil && req.Configuration != nil {
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
		writeJSON(w, http.StatusOK, s.newActorJSON(a, def))
	}
}

// updateConfig takes configuration.sourceType (destinationType) out of an
// updated configuration, as on create; it must name the actor's own
// connector.
func (s *Server) updateConfig(def *store.Definition, k actorKind, config json.RawMessage) (json.RawMessage, error) {
	if err := checkConfigObject(config); err != nil {
		return nil, err
	}
	typ, rest, err := takeType(config, k)
	if err != nil || typ == "" || specDeclares(def.Spec, k.typeKey()) {
		return config, err
	}
	if typ != def.ShortName && store.ShortNameOf(typ) != def.ShortName && typ != def.Name {
		return nil, &store.ValidationError{Field: "configuration." + k.typeKey(),
			Message: fmt.Sprintf("is %q, but this %s runs %s; its connector cannot change", typ, k.kind, typeName(def))}
	}
	return rest, nil
}

// takeType returns the string value of config's top-level sourceType (or
// destinationType) and config without it, its other members in their
// order. It returns "" and config as it is when the key is absent.
func takeType(config json.RawMessage, k actorKind) (string, json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(config))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", config, nil // not an object: validation says so
	}
	var typ string
	found := false
	var b bytes.Buffer
	b.WriteByte('{')
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", nil, jsonError(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", nil, jsonError(err)
		}
		if key == k.typeKey() {
			if err := json.Unmarshal(v, &typ); err != nil {
				return "", nil, &store.ValidationError{Field: "configuration." + k.typeKey(), Message: "must be a string"}
			}
			found = true
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(key)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	if !found {
		return "", config, nil
	}
	return typ, b.Bytes(), nil
}

// specDeclares reports whether a ConnectorSpecification's
// connectionSpecification has a top-level property name.
func specDeclares(spec json.RawMessage, name string) bool {
	var cs struct {
		ConnectionSpecification struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"connectionSpecification"`
	}
	if json.Unmarshal(spec, &cs) != nil {
		return false
	}
	_, ok := cs.ConnectionSpecification.Properties[name]
	return ok
}

// validateUpdate validates the incoming config of a with the stored
// secrets merged in where it holds the mask.
func (s *Server) validateUpdate(r *http.Request, def *store.Definition, a *store.Actor) error {
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
	// InternalMessage and LastErrorLogs are what a failed connector said
	// beyond its message: its ERROR trace's internal_message and its last
	// error log lines.
	InternalMessage string   `json:"internalMessage,omitempty"`
	LastErrorLogs   []string `json:"lastErrorLogs,omitempty"`
}

// connectorFailure is an error of a connector that ran and failed, with
// what it said beyond its message (runner.ConnectorError); web takes it
// through this interface, not the runner's type.
type connectorFailure interface {
	InternalMessage() string
	LastErrorLogs() []string
}

// failedCheck is the verdict of a check that could not run or whose
// connector failed, masked by red.
func failedCheck(err error, red *secret.Redactor) checkJSON {
	res := checkJSON{Status: "failed", Message: red.Redact(err.Error())}
	var cf connectorFailure
	if errors.As(err, &cf) {
		res.InternalMessage = red.Redact(cf.InternalMessage())
		for _, l := range cf.LastErrorLogs() {
			res.LastErrorLogs = append(res.LastErrorLogs, red.Redact(l))
		}
	}
	return res
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
		return failedCheck(err, red), nil
	case st.Status == protocol.StatusSucceeded:
		return checkJSON{Status: "succeeded", Message: red.Redact(st.Message)}, nil
	}
	return checkJSON{Status: "failed", Message: red.Redact(st.Message)}, nil
}

package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// stateJSON is a connection's committed state: its kind (stream, global,
// legacy, or not_set as Airbyte's ConnectionState says), and the state
// messages themselves, in the shape a source's --state file takes, so that
// GET and PUT round-trip.
type stateJSON struct {
	ConnectionID string            `json:"connectionId"`
	StateType    string            `json:"stateType"`
	State        []*protocol.State `json:"state"`
}

// stateRequest replaces the state; connectionId may be sent back as GET
// returned it.
type stateRequest struct {
	ConnectionID *string           `json:"connectionId"`
	StateType    *string           `json:"stateType"`
	State        []*protocol.State `json:"state"`
}

// clearRequest optionally limits a DELETE to some streams.
type clearRequest struct {
	Streams []protocol.StreamDescriptor `json:"streams"`
}

func (s *Server) stateRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/connections/{connectionId}/state", s.handleGetState)
	r.handle(http.MethodPut, "/connections/{connectionId}/state", s.handlePutState)
	r.handle(http.MethodDelete, "/connections/{connectionId}/state", s.handleDeleteState)
}

func (s *Server) writeState(w http.ResponseWriter, r *http.Request, connID string) {
	states, err := s.cfg.Store.State(r.Context(), connID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := stateJSON{ConnectionID: connID, StateType: "not_set", State: nonNil(states)}
	if len(states) > 0 {
		out.StateType = strings.ToLower(string(states[0].Kind()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetState(w http.ResponseWriter, r *http.Request) {
	s.writeState(w, r, mux.Vars(r)["connectionId"])
}

// handlePutState replaces the whole state (409 while an attempt runs) and
// returns it as stored.
func (s *Server) handlePutState(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["connectionId"]
	var req stateRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.ConnectionID != nil && *req.ConnectionID != id {
		writeError(w, r, s.log, badRequest("connectionId", "connectionId does not match the URL"))
		return
	}
	if req.State == nil {
		writeError(w, r, s.log, &store.ValidationError{Field: "state", Message: "is required: an array of state messages ([] clears)"})
		return
	}
	if err := s.cfg.Store.ReplaceState(r.Context(), id, req.State); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeState(w, r, id)
}

// handleDeleteState clears the state, of the streams named in an optional
// body or of all, and returns what is left.
func (s *Server) handleDeleteState(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["connectionId"]
	var req clearRequest
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	if len(req.Streams) == 0 {
		req.Streams = nil // no list, or an empty one: every stream
	}
	if err := s.cfg.Store.ClearState(r.Context(), id, req.Streams); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeState(w, r, id)
}

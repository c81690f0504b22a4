package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// connectionRequest is the body of POST, PUT and PATCH: Airbyte's
// ConnectionCreateRequest and ConnectionPatchRequest, plus Ferry's
// settings. Pointers tell "absent" from "zero" for PATCH.
type connectionRequest struct {
	ConnectionID        *string             `json:"connectionId"`
	Name                *string             `json:"name"`
	SourceID            *string             `json:"sourceId"`
	DestinationID       *string             `json:"destinationId"`
	Configurations      *configurationsJSON `json:"configurations"`
	Schedule            *scheduleJSON       `json:"schedule"`
	NamespaceDefinition *string             `json:"namespaceDefinition"`
	NamespaceFormat     *string             `json:"namespaceFormat"`
	Prefix              *string             `json:"prefix"`
	Status              *string             `json:"status"`
	NonBreakingChanges  *string             `json:"nonBreakingSchemaUpdatesBehavior"`
	DataResidency       *string             `json:"dataResidency"`
	Tags                *[]store.Tag        `json:"tags"`
	Timeouts            *timeoutsJSON       `json:"timeouts"`
	ForceStdio          *bool               `json:"forceStdio"`
	SocketCount         *int                `json:"socketCount"`
	NetworkMode         *string             `json:"networkMode"`
	// Bridge is auto, direct or relay; "" is the daemon's default.
	Bridge     *string `json:"bridge"`
	WebhookURL *string `json:"webhookUrl"`
	// WebhookSecret sent back as the mask keeps the stored one.
	WebhookSecret *string `json:"webhookSecret"`
}

func (s *Server) connectionRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/connections", s.handleListConnections)
	r.handle(http.MethodPost, "/connections", s.handleCreateConnection)
	r.handle(http.MethodGet, "/connections/{connectionId}", s.handleGetConnection)
	r.handle(http.MethodPut, "/connections/{connectionId}", s.handleUpdateConnection(false))
	r.handle(http.MethodPatch, "/connections/{connectionId}", s.handleUpdateConnection(true))
	r.handle(http.MethodDelete, "/connections/{connectionId}", s.handleDeleteConnection)
}

func (s *Server) handleListConnections(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	f := store.ConnectionFilter{SourceID: q.Get("sourceId"), DestinationID: q.Get("destinationId"),
		Status: store.ConnectionStatus(q.Get("status")), WorkspaceIDs: workspaceIDs(r), Page: p}
	if f.Status != "" && f.Status != store.ConnectionActive && f.Status != store.ConnectionInactive {
		writeError(w, r, s.log, badRequest("status", "status must be active or inactive"))
		return
	}
	conns, total, err := s.cfg.Store.Connections(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]connectionJSON, len(conns))
	for i, c := range conns {
		out[i] = newConnectionJSON(r, c)
	}
	writeList(w, r, newList(r, p, total, out))
}

func (s *Server) handleCreateConnection(w http.ResponseWriter, r *http.Request) {
	var req connectionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	c := &store.Connection{}
	if req.ConnectionID != nil {
		c.ID = *req.ConnectionID
	}
	if req.SourceID != nil {
		c.SourceID = *req.SourceID
	}
	if req.DestinationID != nil {
		c.DestinationID = *req.DestinationID
	}
	err := s.checkEnds(r, c)
	if err == nil {
		err = req.apply(c)
	}
	if err == nil {
		err = s.networkAllowed(c.NetworkMode)
	}
	if err == nil {
		c.Catalog, c.SelectedFields, err = s.configuredCatalog(r.Context(), c.SourceID, req.Configurations)
	}
	if err == nil {
		err = s.cfg.Store.CreateConnection(r.Context(), c)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeCreated(w, r, "/connections/"+c.ID, newConnectionJSON(r, c))
}

// checkEnds makes an unknown source or destination a 400 naming the field,
// rather than the store's foreign-key conflict.
func (s *Server) checkEnds(r *http.Request, c *store.Connection) error {
	if c.SourceID == "" {
		return &store.ValidationError{Field: "sourceId", Message: "is required"}
	}
	if c.DestinationID == "" {
		return &store.ValidationError{Field: "destinationId", Message: "is required"}
	}
	src, err := s.cfg.Store.Actor(r.Context(), store.KindSource, c.SourceID)
	if err != nil {
		return missingRef(r, err, "sourceId", "names no source")
	}
	if _, err := s.cfg.Store.Actor(r.Context(), store.KindDestination, c.DestinationID); err != nil {
		return missingRef(r, err, "destinationId", "names no destination")
	}
	c.WorkspaceID = src.WorkspaceID
	return nil
}

func (s *Server) handleGetConnection(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Store.Connection(r.Context(), mux.Vars(r)["connectionId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newConnectionJSON(r, c))
}

// handleUpdateConnection serves PUT (the omitted settings take their
// defaults, and omitted configurations mean every stream) and PATCH (only
// what is sent changes). The source and destination cannot change.
func (s *Server) handleUpdateConnection(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req connectionRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		id := mux.Vars(r)["connectionId"]
		old, err := s.cfg.Store.Connection(r.Context(), id)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		c := *old
		if !patch {
			// Start from defaults; the mask keeps the stored webhook secret
			// only when the request sends it back.
			c = store.Connection{ID: old.ID, Name: old.Name, SourceID: old.SourceID, DestinationID: old.DestinationID,
				WorkspaceID: old.WorkspaceID}
		}
		if isPublic(r) {
			// Not fields of Airbyte's update requests: ignored, as any
			// other unknown field (its own example sends them).
			req.SourceID, req.DestinationID = nil, nil
		}
		switch {
		case req.ConnectionID != nil && *req.ConnectionID != id:
			err = badRequest("connectionId", "connectionId cannot change")
		case req.SourceID != nil && *req.SourceID != old.SourceID:
			err = &store.ValidationError{Field: "sourceId", Message: "cannot change"}
		case req.DestinationID != nil && *req.DestinationID != old.DestinationID:
			err = &store.ValidationError{Field: "destinationId", Message: "cannot change"}
		default:
			err = req.apply(&c)
		}
		if err == nil && req.NetworkMode != nil {
			err = s.networkAllowed(c.NetworkMode)
		}
		if err == nil && (!patch || req.Configurations != nil) {
			c.Catalog, c.SelectedFields, err = s.configuredCatalog(r.Context(), c.SourceID, req.Configurations)
		}
		if err == nil {
			err = s.cfg.Store.UpdateConnection(r.Context(), &c)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, newConnectionJSON(r, &c))
	}
}

func (s *Server) handleDeleteConnection(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeleteConnection(r.Context(), mux.Vars(r)["connectionId"]); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// networkAllowed refuses the host network for connectors unless the daemon
// was started with it allowed: on the host network a connector reaches
// every service bound to the host's loopback, Ferry's API included.
func (s *Server) networkAllowed(mode string) error {
	if strings.EqualFold(strings.TrimSpace(mode), "host") && !s.cfg.AllowHostNetwork {
		return &store.ValidationError{Field: "networkMode",
			Message: `"host" is refused: the host network is an opt-in; start ferry serve with --allow-host-network (FERRY_ALLOW_HOST_NETWORK=true) to allow it`}
	}
	return nil
}

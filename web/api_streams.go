package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// Discover runs a container and can take a while, so its catalogs are
// cached per source, in memory. An entry is good while the source's config
// and its definition's image are what they were at discovery; any change
// there makes the next read discover again, as does ?refresh=true.

// maxCachedCatalogs bounds the cache; the oldest entry goes first.
const maxCachedCatalogs = 256

type streamEntry struct {
	key     string // what the catalog depends on
	catalog *protocol.Catalog
	at      time.Time
}

type streamCache struct {
	mu      sync.Mutex
	entries map[string]streamEntry // by source ID
}

func newStreamCache() *streamCache { return &streamCache{entries: map[string]streamEntry{}} }

func (c *streamCache) get(sourceID, key string) (streamEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sourceID]
	return e, ok && e.key == key
}

func (c *streamCache) put(sourceID string, e streamEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[sourceID]; !ok && len(c.entries) >= maxCachedCatalogs {
		oldest := ""
		for id, x := range c.entries {
			if oldest == "" || x.at.Before(c.entries[oldest].at) {
				oldest = id
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[sourceID] = e
}

func (c *streamCache) forget(sourceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sourceID)
}

// streamJSON is one stream as Airbyte's StreamProperties shows it, with
// the sync modes named as its connection configurations name them.
type streamJSON struct {
	StreamName               string     `json:"streamName"`
	StreamNamespace          string     `json:"streamnamespace,omitempty"`
	SyncModes                []string   `json:"syncModes"`
	DefaultCursorField       []string   `json:"defaultCursorField"`
	SourceDefinedCursorField bool       `json:"sourceDefinedCursorField"`
	SourceDefinedPrimaryKey  [][]string `json:"sourceDefinedPrimaryKey"`
}

// streamsJSON is a source's discovered catalog: the streams in Airbyte's
// shape, and the catalog as the connector sent it.
type streamsJSON struct {
	SourceID     string            `json:"sourceId"`
	DiscoveredAt string            `json:"discoveredAt"`
	Streams      []streamJSON      `json:"streams"`
	Catalog      *protocol.Catalog `json:"catalog"`
}

// streamPropertiesJSON is Airbyte's StreamProperties: streamJSON plus the
// top-level fields a connection may select.
type streamPropertiesJSON struct {
	streamJSON
	PropertyFields [][]string `json:"propertyFields"`
}

func (s *Server) streamRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/sources/{sourceId}/streams", s.handleStreams)
	// Airbyte's GET /streams: the streams alone, as an array.
	r.handle(http.MethodGet, "/streams", s.handleStreamProperties)
}

// handleStreamProperties serves Airbyte's GET /streams?sourceId=...: the
// source's streams, read again with ignoreCache=true (or Ferry's
// refresh=true), and with destinationId the sync modes narrowed to the
// writes that destination supports.
func (s *Server) handleStreamProperties(w http.ResponseWriter, r *http.Request) {
	refresh, err := boolParam(r, "ignoreCache")
	if err == nil && !refresh {
		refresh, err = boolParam(r, "refresh")
	}
	id := r.URL.Query().Get("sourceId")
	if err == nil && id == "" {
		err = badRequest("sourceId", "sourceId is required")
	}
	var writes []string
	if dstID := r.URL.Query().Get("destinationId"); err == nil && dstID != "" {
		writes, err = s.destinationWrites(r, dstID)
	}
	var e streamEntry
	if err == nil {
		e, err = s.discover(r.Context(), id, refresh)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]streamPropertiesJSON, 0, len(e.catalog.Streams))
	for _, st := range e.catalog.Streams {
		sp := streamPropertiesJSON{streamJSON: newStreamJSON(&st), PropertyFields: topLevelFields(st.JSONSchema)}
		if writes != nil {
			sp.SyncModes = slices.DeleteFunc(sp.SyncModes, func(m string) bool {
				_, dest, _ := splitSyncMode(m)
				return !slices.Contains(writes, dest)
			})
		}
		out = append(out, sp)
	}
	writeJSON(w, http.StatusOK, out)
}

// destinationWrites returns the destination sync modes a destination's
// spec says it supports, or nil when its spec does not say.
func (s *Server) destinationWrites(r *http.Request, id string) ([]string, error) {
	dst, err := s.cfg.Store.Actor(r.Context(), store.KindDestination, id)
	if err != nil {
		return nil, err
	}
	def, err := s.cfg.Store.Definition(r.Context(), dst.DefinitionID)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Modes []string `json:"supported_destination_sync_modes"`
	}
	if json.Unmarshal(def.Spec, &spec) != nil || len(spec.Modes) == 0 {
		return nil, nil
	}
	return spec.Modes, nil
}

// topLevelFields lists a stream schema's top-level properties, each as a
// one-element field path, sorted.
func topLevelFields(schema json.RawMessage) [][]string {
	var sch struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(schema, &sch)
	out := [][]string{}
	for _, name := range slices.Sorted(maps.Keys(sch.Properties)) {
		out = append(out, []string{name})
	}
	return out
}

func newStreamJSON(st *protocol.Stream) streamJSON {
	return streamJSON{
		StreamName: st.Name, StreamNamespace: st.Namespace, SyncModes: syncModesOf(st),
		DefaultCursorField: nonNil(st.DefaultCursorField), SourceDefinedCursorField: st.SourceDefinedCursor,
		SourceDefinedPrimaryKey: nonNil(st.SourceDefinedPrimaryKey),
	}
}

func (s *Server) handleStreams(w http.ResponseWriter, r *http.Request) {
	refresh, err := boolParam(r, "refresh")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	id := mux.Vars(r)["sourceId"]
	if id == "" {
		if id = r.URL.Query().Get("sourceId"); id == "" {
			writeError(w, r, s.log, badRequest("sourceId", "sourceId is required"))
			return
		}
	}
	e, err := s.discover(r.Context(), id, refresh)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := streamsJSON{SourceID: id, DiscoveredAt: e.at.UTC().Format(time.RFC3339), Catalog: e.catalog,
		Streams: make([]streamJSON, 0, len(e.catalog.Streams))}
	for _, st := range e.catalog.Streams {
		out.Streams = append(out.Streams, newStreamJSON(&st))
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// discover returns the source's catalog from the cache, or runs discover
// with the stored config. The connector's error is masked with the
// config's secrets before anyone sees it.
func (s *Server) discover(ctx context.Context, sourceID string, refresh bool) (streamEntry, error) {
	src, err := s.cfg.Store.Actor(ctx, store.KindSource, sourceID)
	if err != nil {
		return streamEntry{}, err
	}
	def, err := s.cfg.Store.Definition(ctx, src.DefinitionID)
	if err != nil {
		return streamEntry{}, err
	}
	key := src.UpdatedAt.UTC().Format(time.RFC3339Nano) + "|" + def.Image + "|" + def.BinaryPath + "|" + def.SpecImageID
	if e, ok := s.streams.get(sourceID, key); ok && !refresh {
		return e, nil
	}
	cfg, err := s.cfg.Store.ActorConfig(ctx, store.KindSource, sourceID)
	if err != nil {
		return streamEntry{}, err
	}
	cat, err := s.cfg.Connectors.Discover(ctx, def, cfg.Config)
	if err != nil {
		if ctx.Err() != nil {
			return streamEntry{}, ctx.Err()
		}
		return streamEntry{}, &connectorError{msg: "discover: " + newRedactor(cfg.Secrets).Redact(err.Error())}
	}
	// A source may echo its config into the catalog (a description, a
	// default); mask it before the catalog is cached, shown, or copied
	// into a connection and stored.
	if cat, err = redactCatalog(newRedactor(cfg.Secrets), cat); err != nil {
		return streamEntry{}, err
	}
	e := streamEntry{key: key, catalog: cat, at: time.Now()}
	s.streams.put(sourceID, e)
	return e, nil
}

// redactCatalog masks secret values anywhere in a discovered catalog.
func redactCatalog(red *secret.Redactor, cat *protocol.Catalog) (*protocol.Catalog, error) {
	b, err := json.Marshal(cat)
	if err != nil {
		return nil, fmt.Errorf("encode the discovered catalog: %w", err)
	}
	masked, changed := red.RedactJSON(b)
	if !changed {
		return cat, nil
	}
	var out protocol.Catalog
	if err := json.Unmarshal(masked, &out); err != nil {
		return nil, fmt.Errorf("decode the masked catalog: %w", err)
	}
	return &out, nil
}

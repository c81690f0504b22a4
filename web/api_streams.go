package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

func (s *Server) streamRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/sources/{sourceId}/streams", s.handleStreams)
	// Airbyte's spelling of the same.
	r.handle(http.MethodGet, "/streams", s.handleStreams)
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
		out.Streams = append(out.Streams, streamJSON{
			StreamName: st.Name, StreamNamespace: st.Namespace, SyncModes: syncModesOf(&st),
			DefaultCursorField: nonNil(st.DefaultCursorField), SourceDefinedCursorField: st.SourceDefinedCursor,
			SourceDefinedPrimaryKey: nonNil(st.SourceDefinedPrimaryKey),
		})
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

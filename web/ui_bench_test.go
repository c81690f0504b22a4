package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// Sizes of the list-page benchmark's store, the issue's figures.
const (
	benchConnections = 500
	benchJobs        = 10_000
	// benchBudget is what one list page may take to render.
	benchBudget = 100 * time.Millisecond
)

// BenchmarkListPages renders every list page from a store holding 500
// connections and 10,000 jobs (one failed job per connection among them,
// so the lists look up failure reasons too), through the router with a
// session, as a browser asks for them. It fails when a page takes longer
// than benchBudget on average.
//
//	go test ./web -run '^$' -bench ListPages -benchtime 20x
func BenchmarkListPages(b *testing.B) {
	srv, cookie := benchServer(b)
	for _, path := range []string{"/connections", "/connections?offset=450", "/jobs", "/jobs?offset=9950",
		"/jobs?status=failed", "/jobs?status=succeeded", "/sources", "/destinations", "/definitions"} {
		b.Run(path, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Accept", "text/html")
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				srv.router.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: got %d\n%s", path, rec.Code, rec.Body)
				}
			}
			if per := time.Since(start) / time.Duration(b.N); per > benchBudget {
				b.Errorf("%s: %v a page, want under %v", path, per, benchBudget)
			}
		})
	}
}

// benchServer fills a store and returns a server on it and a session.
func benchServer(b *testing.B) (*Server, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	key, err := store.LoadOrCreateKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "ferry.db"), store.WithKey(key))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var ids [2]string
	for i, kind := range []store.ActorKind{store.KindSource, store.KindDestination} {
		d := &store.Definition{Kind: kind, Name: string(kind) + "-bench", Image: "ferry/" + string(kind) + "-bench:dev",
			Spec: json.RawMessage(`{"connectionSpecification":{"type":"object"}}`)}
		if err := db.CreateDefinition(ctx, d); err != nil {
			b.Fatal(err)
		}
		a := &store.Actor{Kind: kind, Name: string(kind) + " one", DefinitionID: d.ID, Config: json.RawMessage(`{"host":"db.example"}`)}
		if err := db.CreateActor(ctx, a); err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID
	}
	cat := &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{{Stream: protocol.Stream{Name: "users",
		JSONSchema: json.RawMessage(`{"type":"object"}`), SupportedSyncModes: []string{"full_refresh"}},
		SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestOverwrite}}}
	var conns []string
	for i := range benchConnections {
		c := &store.Connection{Name: fmt.Sprintf("connection %03d", i), SourceID: ids[0], DestinationID: ids[1], Catalog: cat,
			Schedule: store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 3600}}
		if err := db.CreateConnection(ctx, c); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c.ID)
	}
	owner := store.Owner{InstanceID: "bench", PID: 1, BootID: "bench"}
	for i := range benchJobs {
		conn := conns[i%len(conns)]
		if _, err := db.CreateJob(ctx, conn, store.JobSync, store.TriggerSchedule); err != nil {
			b.Fatal(err)
		}
		c, err := db.ClaimJob(ctx, owner)
		if err != nil || c == nil {
			b.Fatalf("claim: %v", err)
		}
		res := store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded,
			Stats: &store.Stats{RecordsEmitted: 100, RecordsCommitted: 100, BytesEmitted: 1000, BytesCommitted: 1000}}
		if i >= benchJobs-benchConnections { // each connection's last job failed
			res.Status, res.JobStatus = store.AttemptFailed, store.JobFailed
			res.FailureReasons = []store.FailureReason{{FailureOrigin: protocol.OriginSource, FailureType: protocol.FailureConfig,
				ExternalMessage: "the source refused the credentials", Timestamp: 1}}
		}
		if _, err := db.FinishAttempt(ctx, res); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := New(Config{Addr: "127.0.0.1:0", Token: testToken, Store: db, Jobs: &fakeJobs{db: db}, Connectors: &fakeConnectors{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	value, expires := srv.sessions.issue()
	return srv, &http.Cookie{Name: sessionCookie, Value: value, Expires: expires}
}

package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// scriptedPkg is the scenario connector the daemon tests drive.
const scriptedPkg = "./connectors/connector-scripted"

// testConfig is a configuration for tests: a temp data dir, the local
// runtime with the connectors dir given, fast ticks and backoffs.
func testConfig(t *testing.T, connectorsDir string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Runtime.Kind = RuntimeLocal
	cfg.Runtime.ConnectorsDir = connectorsDir
	cfg.Scheduler.Tick = 50 * time.Millisecond
	cfg.Retry.BackoffBase = 20 * time.Millisecond
	cfg.Retry.BackoffMax = 100 * time.Millisecond
	cfg.Retry.MinBackoff = 0
	cfg.Shutdown.Grace = 10 * time.Second
	cfg.Webhooks.Backoff = 10 * time.Millisecond
	// A POST to a loopback receiver is quick, but a loaded machine must
	// not turn it into a timeout and a second delivery.
	cfg.Webhooks.Timeout = time.Minute
	return cfg
}

// scriptedDir builds connector-scripted once per test process and returns
// the directory holding it, the local runtime's connectors dir.
func scriptedDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(runnertest.BuildBinary(t, "connector-scripted", scriptedPkg))
}

// testLogger writes the daemon's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// openDaemon opens a daemon and closes it at cleanup.
func openDaemon(t *testing.T, cfg Config, opts Options) *Daemon {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	d, err := Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// serve runs d until the test ends (or stop is called) and returns stop,
// which shuts it down and waits for Run to return.
func serve(t *testing.T, d *Daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// scenario is connector-scripted's config.
type scenario struct {
	Streams     []string       `json:"streams,omitempty"`
	Secret      string         `json:"secret,omitempty"`
	Source      map[string]any `json:"source,omitempty"`
	Destination map[string]any `json:"destination,omitempty"`
}

func (s scenario) json(t *testing.T) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scriptedConnection registers connector-scripted as a source and a
// destination (with their specs, read by running it) and creates a manual
// connection between them with the given scenarios. The destination
// appends what it receives to <local root>/received.jsonl.
func scriptedConnection(t *testing.T, d *Daemon, src, dst scenario) *store.Connection {
	t.Helper()
	ctx := context.Background()
	var defs []*store.Definition
	for _, rc := range ReferenceConnectors {
		if rc.Binary != "connector-scripted" {
			continue
		}
		def, err := d.registerReference(ctx, rc)
		if err != nil {
			t.Fatalf("register %s: %v", rc.Name, err)
		}
		if def.Spec == nil {
			t.Fatalf("register %s: no spec", rc.Name)
		}
		defs = append(defs, def)
	}
	if dst.Destination == nil {
		dst.Destination = map[string]any{}
	}
	dst.Destination["output_path"] = "/local/received.jsonl"
	srcActor := &store.Actor{Kind: store.KindSource, Name: "scripted source", DefinitionID: defs[0].ID, Config: src.json(t)}
	if err := d.db.CreateActor(ctx, srcActor); err != nil {
		t.Fatalf("create source: %v", err)
	}
	dstActor := &store.Actor{Kind: store.KindDestination, Name: "scripted destination", DefinitionID: defs[1].ID, Config: dst.json(t)}
	if err := d.db.CreateActor(ctx, dstActor); err != nil {
		t.Fatalf("create destination: %v", err)
	}
	catalog, err := d.Connectors().Discover(ctx, defs[0], src.json(t))
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	conn := &store.Connection{SourceID: srcActor.ID, DestinationID: dstActor.ID, Catalog: DefaultConfiguredCatalog(catalog)}
	if err := d.db.CreateConnection(ctx, conn); err != nil {
		t.Fatalf("create connection: %v", err)
	}
	return conn
}

// waitJob follows a job until it ends and returns it with its attempts.
func waitJob(t *testing.T, d *Daemon, jobID int64) *store.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last *store.Job
	err := d.Subscribe(ctx, jobID, func(j *store.Job) { last = j }, func(int, string) {})
	if err != nil {
		t.Fatalf("job %d did not end: %v (last status %v)", jobID, err, last)
	}
	j, err := d.db.Job(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// receivedIDs reads the ids the scripted destination wrote, per stream.
func receivedIDs(t *testing.T, d *Daemon) map[string][]int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(d.cfg.LocalRoot(), "received.jsonl"))
	if err != nil {
		t.Fatalf("received records: %v", err)
	}
	defer f.Close()
	out := map[string][]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var m struct {
			Record struct {
				Stream string `json:"stream"`
				Data   struct {
					ID int64 `json:"id"`
				} `json:"data"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("received line %q: %v", sc.Text(), err)
		}
		out[m.Record.Stream] = append(out[m.Record.Stream], m.Record.Data.ID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// missing returns the ids of 1..n that ids lacks.
func missing(ids []int64, n int64) []int64 {
	seen := map[int64]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	var out []int64
	for i := int64(1); i <= n; i++ {
		if !seen[i] {
			out = append(out, i)
		}
	}
	return out
}

// cursors returns the committed STREAM state per stream, as JSON.
func cursors(t *testing.T, d *Daemon, connID string) map[string]string {
	t.Helper()
	states, err := d.db.State(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range states {
		if s.Kind() == protocol.StateStream {
			out[s.Stream.StreamDescriptor.Name] = string(s.Stream.StreamState)
		}
	}
	return out
}

// scriptedState is the STREAM state connector-scripted emits at cursor n.
func scriptedState(t *testing.T, stream string, n int) []*protocol.State {
	t.Helper()
	var s protocol.State
	raw := fmt.Sprintf(`{"type":"STREAM","stream":{"stream_descriptor":{"name":%q},"stream_state":{"cursor":%d}}}`, stream, n)
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	return []*protocol.State{&s}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

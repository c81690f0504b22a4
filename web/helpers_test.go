package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// Secret values used by the fixtures. Every test server records every
// response body and log line, and TestSecretsNeverLeak looks for these.
const (
	testToken       = "test-token-0123456789abcdef"
	srcPassword     = "s3cr3t-source-pw"
	srcAPIKey       = "key-9f8e7d6c5b4a"
	dstToken        = "dst-token-abcdef99"
	webhookSecretPT = "hook-secret-77aa88"
)

// srcSpec has a top-level secret, a secret inside a oneOf, and a pattern
// on the secret so that a schema error would quote it.
const srcSpec = `{"documentationUrl":"https://example.com","connectionSpecification":{
 "$schema":"http://json-schema.org/draft-07/schema#","type":"object",
 "required":["host","port","password"],
 "properties":{
  "host":{"type":"string","pattern":"^[a-z.]+$"},
  "port":{"type":"integer","minimum":1,"maximum":65535},
  "password":{"type":"string","airbyte_secret":true,"pattern":"^[^ ]+$"},
  "credentials":{"type":"object","oneOf":[
    {"type":"object","required":["auth_type","api_key"],"properties":{
      "auth_type":{"const":"key"},"api_key":{"type":"string","airbyte_secret":true}}},
    {"type":"object","required":["auth_type"],"properties":{"auth_type":{"const":"none"}}}]}
 }}}`

const dstSpec = `{"connectionSpecification":{"type":"object","required":["destination_path"],
 "properties":{"destination_path":{"type":"string"},"token":{"type":"string","airbyte_secret":true}}}}`

func srcConfig() map[string]any {
	return map[string]any{"host": "db.example", "port": 5432, "password": srcPassword,
		"credentials": map[string]any{"auth_type": "key", "api_key": srcAPIKey}}
}

func dstConfig() map[string]any {
	return map[string]any{"destination_path": "/local/out", "token": dstToken}
}

// testCatalog is what the fake connector discovers.
func testCatalog() *protocol.Catalog {
	return &protocol.Catalog{Streams: []protocol.Stream{
		{Name: "users", JSONSchema: json.RawMessage(`{"type":"object"}`),
			SupportedSyncModes: []string{"full_refresh", "incremental"}, DefaultCursorField: []string{"updated_at"},
			SourceDefinedPrimaryKey: [][]string{{"id"}}},
		{Name: "products", JSONSchema: json.RawMessage(`{"type":"object"}`), SupportedSyncModes: []string{"full_refresh"}},
	}}
}

// fakeJobs is the daemon's job controller, backed by the real store for
// Trigger and Cancel; Subscribe is set per test.
type fakeJobs struct {
	db          *store.DB
	SubscribeFn func(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(int, string)) error
}

var _ Jobs = (*fakeJobs)(nil)

func (f *fakeJobs) Trigger(ctx context.Context, connID string, typ store.JobType) (*store.Job, error) {
	return f.db.CreateJob(ctx, connID, typ, store.TriggerAPI)
}

// TriggerManual is the daemon's trigger for jobs a person starts in the UI.
func (f *fakeJobs) TriggerManual(ctx context.Context, connID string, typ store.JobType) (*store.Job, error) {
	return f.db.CreateJob(ctx, connID, typ, store.TriggerManual)
}

func (f *fakeJobs) Cancel(ctx context.Context, jobID int64) (*store.Job, error) {
	return f.db.CancelJob(ctx, jobID)
}

func (f *fakeJobs) Subscribe(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(int, string)) error {
	if f.SubscribeFn != nil {
		return f.SubscribeFn(ctx, jobID, onStatus, onLog)
	}
	<-ctx.Done()
	return ctx.Err()
}

// fakeConnectors answers spec, check and discover from function fields,
// counting the calls.
type fakeConnectors struct {
	SpecFn     func(def *store.Definition) (*SpecResult, error)
	CheckFn    func(config json.RawMessage) (*protocol.ConnectionStatus, error)
	DiscoverFn func(config json.RawMessage) (*protocol.Catalog, error)
	specs      atomic.Int64
	discovers  atomic.Int64
}

var _ Connectors = (*fakeConnectors)(nil)

func (f *fakeConnectors) Spec(_ context.Context, def *store.Definition) (*SpecResult, error) {
	f.specs.Add(1)
	if f.SpecFn != nil {
		return f.SpecFn(def)
	}
	spec := srcSpec
	if def.Kind == store.KindDestination {
		spec = dstSpec
	}
	return &SpecResult{Spec: json.RawMessage(spec), ImageID: "sha256:" + def.Image}, nil
}

func (f *fakeConnectors) Check(_ context.Context, _ *store.Definition, config json.RawMessage) (*protocol.ConnectionStatus, error) {
	if f.CheckFn != nil {
		return f.CheckFn(config)
	}
	return &protocol.ConnectionStatus{Status: protocol.StatusSucceeded}, nil
}

func (f *fakeConnectors) Discover(_ context.Context, _ *store.Definition, config json.RawMessage) (*protocol.Catalog, error) {
	f.discovers.Add(1)
	if f.DiscoverFn != nil {
		return f.DiscoverFn(config)
	}
	return testCatalog(), nil
}

// syncBuffer is a log sink tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a server on a loopback port with a real store on a temp
// SQLite file.
type testEnv struct {
	t     *testing.T
	dir   string
	db    *store.DB
	srv   *Server
	url   string
	jobs  *fakeJobs
	conns *fakeConnectors
	log   *syncBuffer

	mu     sync.Mutex
	bodies []string // every response body, for the secrets check
}

// workspace returns the default workspace's id.
func (e *testEnv) workspace() string {
	ws, err := e.db.DefaultWorkspace(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return ws.ID
}

func newEnv(t *testing.T, opts ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	key, err := store.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "ferry.db"), store.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &testEnv{t: t, dir: dir, db: db, jobs: &fakeJobs{db: db}, conns: &fakeConnectors{}, log: &syncBuffer{}}
	cfg := Config{Addr: "127.0.0.1:0", Token: testToken, Store: db, Jobs: e.jobs, Connectors: e.conns,
		Logger:          slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LogPollInterval: 20 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv, e.url = srv, srv.URL()
	return e
}

// request sends a request with the token and returns the response and its
// body, which it records.
func (e *testEnv) request(t testing.TB, method, path string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	return resp, b
}

// do sends a JSON request, requires status want, and decodes the body into
// out when out is not nil.
func (e *testEnv) do(t testing.TB, method, path string, body any, want int, out any) []byte {
	t.Helper()
	resp, b := e.request(t, method, path, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d; body: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// apiError is an error response.
type apiError struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// fail sends a request that must fail with status want and returns the
// error body.
func (e *testEnv) fail(t testing.TB, method, path string, body any, want int) apiError {
	t.Helper()
	var ae apiError
	e.do(t, method, path, body, want, &ae)
	if ae.Status != want || ae.Message == "" {
		t.Fatalf("%s %s: error body %+v, want status %d and a message", method, path, ae, want)
	}
	return ae
}

// fixture ids of a source, destination and connection made through the
// API.
type fixture struct {
	srcDef, dstDef, src, dst, conn string
}

func (e *testEnv) createDefinition(kind, name string) string {
	e.t.Helper()
	var d definitionJSON
	e.do(e.t, "POST", "/api/v1/definitions", map[string]any{"name": name, "kind": kind, "image": "ferry/" + name + ":dev"}, 201, &d)
	return d.DefinitionID
}

func (e *testEnv) fixture() fixture {
	e.t.Helper()
	var f fixture
	f.srcDef = e.createDefinition("source", "source-test")
	f.dstDef = e.createDefinition("destination", "destination-test")
	var a actorJSON
	e.do(e.t, "POST", "/api/v1/sources", map[string]any{"name": "src", "definitionId": f.srcDef, "configuration": srcConfig()}, 201, &a)
	f.src = a.SourceID
	e.do(e.t, "POST", "/api/v1/destinations", map[string]any{"name": "dst", "definitionId": f.dstDef, "configuration": dstConfig()}, 201, &a)
	f.dst = a.DestinationID
	var c connectionJSON
	e.do(e.t, "POST", "/api/v1/connections", map[string]any{"sourceId": f.src, "destinationId": f.dst,
		"webhookUrl": "https://hooks.example/x", "webhookSecret": webhookSecretPT}, 201, &c)
	f.conn = c.ConnectionID
	return f
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

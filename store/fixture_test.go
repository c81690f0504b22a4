package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// readTestdata returns the content of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a database with a source, a destination and a connection
// between them, all using the testdata spec and config.
type fixture struct {
	db     *DB
	clock  *testClock
	srcDef *Definition
	dstDef *Definition
	src    *Actor
	dst    *Actor
	conn   *Connection
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	db, clock := mustOpen(t, opts...)
	f := &fixture{db: db, clock: clock}
	f.srcDef = mustDefinition(t, db, KindSource, "source-test")
	f.dstDef = mustDefinition(t, db, KindDestination, "destination-test")
	f.src = mustActor(t, db, KindSource, f.srcDef.ID, readTestdata(t, "config.json"))
	f.dst = mustActor(t, db, KindDestination, f.dstDef.ID, json.RawMessage(`{"host":"warehouse","api_key":"SECRET-dest-key-77aa"}`))
	f.conn = f.newConnection(t)
	return f
}

// newConnection creates another connection between the fixture's source
// and destination, with the testdata catalog.
func (f *fixture) newConnection(t testing.TB, mods ...func(*Connection)) *Connection {
	t.Helper()
	c := &Connection{SourceID: f.src.ID, DestinationID: f.dst.ID, Catalog: testCatalog(t)}
	for _, m := range mods {
		m(c)
	}
	if err := f.db.CreateConnection(context.Background(), c); err != nil {
		t.Fatalf("create connection: %v", err)
	}
	return c
}

func testCatalog(t testing.TB) *protocol.ConfiguredCatalog {
	t.Helper()
	var cat protocol.ConfiguredCatalog
	if err := json.Unmarshal(readTestdata(t, "catalog.json"), &cat); err != nil {
		t.Fatal(err)
	}
	return &cat
}

func mustDefinition(t testing.TB, db *DB, kind ActorKind, name string) *Definition {
	t.Helper()
	d := &Definition{Name: name, Kind: kind, Image: "ferry/" + name + ":dev", Spec: readTestdata(t, "spec.json")}
	if err := db.CreateDefinition(context.Background(), d); err != nil {
		t.Fatalf("create definition: %v", err)
	}
	return d
}

func mustActor(t testing.TB, db *DB, kind ActorKind, defID string, config json.RawMessage) *Actor {
	t.Helper()
	a := &Actor{Kind: kind, Name: string(kind) + " one", DefinitionID: defID, Config: config}
	if err := db.CreateActor(context.Background(), a); err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	return a
}

// testOwner is the owner of attempts claimed in tests.
var testOwner = Owner{InstanceID: "test-instance", PID: 4242, BootID: "boot-1"}

// mustClaim creates a job on the fixture's connection and claims it.
func (f *fixture) mustClaim(t *testing.T) *Claim {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatalf("create job: %v", err)
	}
	c, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	return c
}

// parseStates decodes a JSON array of state messages.
func parseStates(t *testing.T, b []byte) []*protocol.State {
	t.Helper()
	var states []*protocol.State
	if err := json.Unmarshal(b, &states); err != nil {
		t.Fatal(err)
	}
	return states
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// wantValidation fails unless err is a *ValidationError for field.
func wantValidation(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v, want a *ValidationError for %s", err, field)
	}
	if ve.Field != field {
		t.Fatalf("got ValidationError for %q (%v), want %q", ve.Field, ve, field)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

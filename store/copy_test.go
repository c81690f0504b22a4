package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store/pgtest"
)

// copyTarget opens an empty PostgreSQL schema with the test key. Copy
// always reads SQLite, so its tests run in the suite's SQLite pass only.
func copyTarget(t *testing.T, clock *testClock) *DB {
	t.Helper()
	if onPostgres() {
		t.Skip("copies from SQLite: runs in the SQLite pass")
	}
	dst, err := Open(context.Background(), pgtest.SchemaURL(t), WithKey(testKey(t)), WithNow(clock.Now))
	if err != nil {
		t.Fatalf("open target: %v", err)
	}
	t.Cleanup(func() { dst.Close() })
	return dst
}

// populate gives the fixture a finished job of two attempts (one failed,
// one succeeded) with state, history and samples, and an application
// with a token. It returns the job and the token.
func populate(t *testing.T, f *fixture) (*Job, string) {
	t.Helper()
	ctx := context.Background()
	c := f.mustClaim(t)
	first := parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":1}}}]`))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, first, Stats{RecordsCommitted: 10, BytesCommitted: 100}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddSample(ctx, c.Attempt.ID, Sample{Elapsed: time.Second, RecordsEmitted: 10, RecordsCommitted: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed, JobStatus: JobIncomplete,
		FailureReasons: []FailureReason{{FailureOrigin: protocol.OriginSource, FailureType: protocol.FailureSystem, ExternalMessage: "boom"}}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	c2, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c2 == nil {
		t.Fatalf("claim the retry: %v, %v", c2, err)
	}
	final := parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":7}}}]`))
	j, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c2.Attempt.ID, Status: AttemptSucceeded, JobStatus: JobSucceeded,
		Stats: &Stats{RecordsCommitted: 70, BytesCommitted: 700}, FinalStates: final})
	if err != nil || j.Status != JobSucceeded || len(j.Attempts) != 2 {
		t.Fatalf("finish: %v, %v", j, err)
	}
	app, secret, err := f.db.CreateApplication(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := f.db.IssueAccessToken(ctx, app.ClientID, secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return j, token
}

// TestCopyToPostgres copies a populated SQLite store and reads everything
// back through the store API on PostgreSQL.
func TestCopyToPostgres(t *testing.T) {
	f := newFixture(t)
	dst := copyTarget(t, f.clock)
	ctx := context.Background()
	job, token := populate(t, f)

	res, err := Copy(ctx, f.db, dst)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.KeyFingerprint != testKey(t).Fingerprint() {
		t.Errorf("fingerprint %q", res.KeyFingerprint)
	}
	// Every table is copied or skipped on purpose: a table a migration
	// adds cannot be left behind unnoticed.
	var tx *txn
	if tx, err = f.db.beginRead(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := sqliteTables(ctx, tx)
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	var covered []string
	for _, c := range res.Tables {
		covered = append(covered, c.Table)
		if c.Source != c.Target {
			t.Errorf("table %s: %d rows copied to %d", c.Table, c.Source, c.Target)
		}
	}
	covered = append(covered, slices.Collect(maps.Keys(copySkipped))...)
	if got, want := slices.Sorted(slices.Values(covered)), slices.Sorted(maps.Keys(tables)); !slices.Equal(got, want) {
		t.Errorf("copied or skipped tables %v, want every table %v", got, want)
	}
	for _, name := range []string{"definitions", "actors", "connections", "jobs", "attempts", "states", "state_history",
		"attempt_samples", "applications", "access_tokens", "settings", "workspaces"} {
		if i := slices.IndexFunc(res.Tables, func(c TableCount) bool { return c.Table == name }); i < 0 || res.Tables[i].Target == 0 {
			t.Errorf("table %s: no rows copied (%v)", name, res.Tables)
		}
	}
	checkReadsBack(t, f, dst, job, token)
}

// checkReadsBack compares what the source and the copy return.
func checkReadsBack(t *testing.T, f *fixture, dst *DB, job *Job, token string) {
	t.Helper()
	ctx := context.Background()
	if err := dst.CheckKey(ctx); err != nil {
		t.Errorf("check key on the copy: %v", err)
	}
	same := func(what string, get func(db *DB) (any, error)) {
		t.Helper()
		a, err := get(f.db)
		if err != nil {
			t.Fatalf("%s on the source: %v", what, err)
		}
		b, err := get(dst)
		if err != nil {
			t.Fatalf("%s on the copy: %v", what, err)
		}
		if mustJSON(t, a) != mustJSON(t, b) {
			t.Errorf("%s differs:\n source %s\n   copy %s", what, mustJSON(t, a), mustJSON(t, b))
		}
	}
	same("source actor", func(db *DB) (any, error) { return db.Actor(ctx, KindSource, f.src.ID) })
	same("destination actor", func(db *DB) (any, error) { return db.Actor(ctx, KindDestination, f.dst.ID) })
	same("connection", func(db *DB) (any, error) { return db.Connection(ctx, f.conn.ID) })
	same("state", func(db *DB) (any, error) { return db.State(ctx, f.conn.ID) })
	same("state history", func(db *DB) (any, error) { h, _, err := db.StateHistory(ctx, f.conn.ID, Page{}); return h, err })
	same("job", func(db *DB) (any, error) { return db.Job(ctx, job.ID) })
	same("samples", func(db *DB) (any, error) { return db.JobSamples(ctx, job.ID) })
	same("applications", func(db *DB) (any, error) { return db.Applications(ctx) })
	same("workspaces", func(db *DB) (any, error) { w, _, err := db.Workspaces(ctx, WorkspaceFilter{}); return w, err })

	// The secret decrypts on the copy.
	rc, err := dst.ActorConfig(ctx, KindDestination, f.dst.ID)
	if err != nil || !strings.Contains(string(rc.Config), "SECRET-dest-key-77aa") {
		t.Fatalf("the destination's secret on the copy: %v", err)
	}
	same("resolved source config", func(db *DB) (any, error) { return db.ActorConfig(ctx, KindSource, f.src.ID) })
	if st, _, err := dst.CheckAccessToken(ctx, token); err != nil || st != TokenValid {
		t.Errorf("the access token on the copy: %v, %v", st, err)
	}
	// New ids continue after the copied ones.
	nj, err := dst.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dst.ClaimJob(ctx, testOwner)
	if err != nil || c == nil {
		t.Fatalf("claim on the copy: %v, %v", c, err)
	}
	if nj.ID <= job.ID || c.Attempt.ID <= job.Attempts[1].ID {
		t.Errorf("new job %d, attempt %d; want after job %d, attempt %d", nj.ID, c.Attempt.ID, job.ID, job.Attempts[1].ID)
	}
}

// TestCopyRefusesNonEmptyTarget verifies that a target holding data is
// left untouched, including the target of an earlier copy.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	f := newFixture(t)
	dst := copyTarget(t, f.clock)
	ctx := context.Background()
	mustDefinition(t, dst, KindSource, "source-already-here")
	_, err := Copy(ctx, f.db, dst)
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "definitions: 1 rows") {
		t.Fatalf("copy into a used database: %v", err)
	}
	defs, _, err := dst.Definitions(ctx, DefinitionFilter{})
	if err != nil || len(defs) != 1 {
		t.Errorf("the target changed: %d definitions, %v", len(defs), err)
	}

	dst2 := copyTarget(t, f.clock)
	if _, err := Copy(ctx, f.db, dst2); err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, f.db, dst2); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("a second copy: %v, want ErrTargetNotEmpty", err)
	}
}

// TestCopyRefusesAnotherKey verifies that a key other than the one the
// source's secrets were sealed with stops the copy.
func TestCopyRefusesAnotherKey(t *testing.T) {
	f := newFixture(t)
	dst := copyTarget(t, f.clock)
	ctx := context.Background()
	if err := f.db.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := NewKey([]byte("ffffffffffffffffffffffffffffffff"))
	if err != nil {
		t.Fatal(err)
	}
	src2, err := Open(ctx, f.db.path, WithKey(other))
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	if _, err := Copy(ctx, src2, dst); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("copy with another key: %v, want ErrKeyMismatch", err)
	}
}

// TestOrderByReferences verifies the copy order and that a cycle is an
// error rather than a skipped table.
func TestOrderByReferences(t *testing.T) {
	tabs := []copyTable{{name: "c"}, {name: "b"}, {name: "a"}}
	got, err := orderByReferences(tabs, map[string][]string{"a": {"c"}, "c": {"b", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, t := range got {
		names = append(names, t.name)
	}
	if !slices.Equal(names, []string{"b", "c", "a"}) {
		t.Errorf("order %v, want [b c a]", names)
	}
	if _, err := orderByReferences(tabs, map[string][]string{"a": {"b"}, "b": {"a"}}); err == nil {
		t.Error("a cycle was accepted")
	}
}

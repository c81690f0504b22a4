package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestJobTypesAndStreams verifies the four job types and the streams a
// clear may name: each named stream must be in the catalog, once, and
// only clears and resets name streams; the streams round-trip.
func TestJobTypesAndStreams(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	users := protocol.StreamDescriptor{Namespace: "public", Name: "users"}
	_, err := f.db.CreateJob(ctx, f.conn.ID, "rewind", TriggerAPI)
	wantValidation(t, err, "jobType")
	for _, bad := range [][]protocol.StreamDescriptor{
		{},
		{{Name: "users"}}, // wrong namespace: not in the catalog
		{users, users},
	} {
		_, err := f.db.CreateStreamsJob(ctx, f.conn.ID, JobClear, TriggerAPI, bad)
		wantValidation(t, err, "streams")
	}
	_, err = f.db.CreateStreamsJob(ctx, f.conn.ID, JobRefresh, TriggerAPI, []protocol.StreamDescriptor{users})
	wantValidation(t, err, "streams")

	j, err := f.db.CreateStreamsJob(ctx, f.conn.ID, JobClear, TriggerAPI, []protocol.StreamDescriptor{users})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.db.Job(ctx, j.ID)
	if err != nil || got.Type != JobClear || len(got.Streams) != 1 || got.Streams[0] != users {
		t.Fatalf("stored job: %+v, %v; want a clear of public.users", got, err)
	}
	if _, err := f.db.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []JobType{JobReset, JobRefresh, JobSync} {
		j, err := f.db.CreateJob(ctx, f.conn.ID, typ, TriggerAPI)
		if err != nil {
			t.Fatalf("create %s: %v", typ, err)
		}
		if j.Type != typ || j.Streams != nil {
			t.Errorf("created %+v, want a %s of every stream", j, typ)
		}
		if _, err := f.db.CancelJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if js, _, err := f.db.Jobs(ctx, JobFilter{Type: JobRefresh}); err != nil || len(js) != 1 {
		t.Errorf("refresh jobs: %d (%v), want 1", len(js), err)
	}
}

// claimType creates a job of typ for the fixture's connection and claims it.
func (f *fixture) claimType(t *testing.T, typ JobType) *Claim {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.CreateJob(ctx, f.conn.ID, typ, TriggerManual); err != nil {
		t.Fatalf("create job: %v", err)
	}
	c, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	return c
}

// cursorState is a STREAM state of public.users at cursor n.
func cursorState(t *testing.T, n string) []*protocol.State {
	t.Helper()
	return parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":"`+n+`"}}}]`))
}

// stateText is a connection's committed state as JSON.
func stateText(t *testing.T, db *DB, connID string) string {
	t.Helper()
	s, err := db.State(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, s)
}

// TestRefreshStagesItsState walks a refresh through a failed attempt and a
// success: the refresh starts from no state, its acknowledged states are
// committed to the job (the retry resumes from them) while the
// connection keeps its state, and the success replaces the connection's
// state in the same commit that marks the job succeeded.
func TestRefreshStagesItsState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sync := f.claimType(t, JobSync)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: sync.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded, FinalStates: cursorState(t, "old")}); err != nil {
		t.Fatal(err)
	}
	before := stateText(t, f.db, f.conn.ID)

	c := f.claimType(t, JobRefresh)
	if c.State != nil {
		t.Fatalf("refresh starts from %s, want no state", mustJSON(t, c.State))
	}
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, cursorState(t, "r1"), Stats{RecordsCommitted: 3}); err != nil {
		t.Fatal(err)
	}
	if got := stateText(t, f.db, f.conn.ID); got != before {
		t.Errorf("connection state during the refresh %s, want %s", got, before)
	}
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		JobStatus: JobIncomplete}); err != nil {
		t.Fatal(err)
	}
	c2, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c2 == nil || c2.Job.ID != c.Job.ID {
		t.Fatalf("claim the retry: %v, %v", c2, err)
	}
	if got := mustJSON(t, c2.State); !strings.Contains(got, `"r1"`) {
		t.Errorf("the retry starts from %s, want the refresh's own state r1", got)
	}
	j, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c2.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded, FinalStates: cursorState(t, "r2")})
	if err != nil || j.Status != JobSucceeded {
		t.Fatalf("finish: %v, %v", j, err)
	}
	if got := stateText(t, f.db, f.conn.ID); !strings.Contains(got, `"r2"`) || strings.Contains(got, `"old"`) {
		t.Errorf("connection state after the refresh %s, want r2 only", got)
	}
	if staged, err := f.db.RefreshState(ctx, c.Job.ID); err != nil || staged != nil {
		t.Errorf("staged state after the refresh: %v, %v; want none", staged, err)
	}
	hist, _, err := f.db.StateHistory(ctx, f.conn.ID, Page{Limit: 1})
	if err != nil || len(hist) != 1 || hist[0].Action != "replace" || *hist[0].AttemptID != c2.Attempt.ID {
		t.Errorf("last history entry %+v (%v), want the refresh's replace", hist, err)
	}
}

// TestFailedRefreshKeepsState: a refresh that fails, and one cancelled
// between attempts, leave the connection's state as it was and drop what
// they staged.
func TestFailedRefreshKeepsState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.ReplaceState(ctx, f.conn.ID, cursorState(t, "old")); err != nil {
		t.Fatal(err)
	}
	before := stateText(t, f.db, f.conn.ID)
	for _, end := range []string{"failed", "cancelled"} {
		c := f.claimType(t, JobRefresh)
		if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, cursorState(t, "partial"), Stats{}); err != nil {
			t.Fatal(err)
		}
		status := JobFailed
		if end == "cancelled" {
			status = JobIncomplete
		}
		if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
			JobStatus: status}); err != nil {
			t.Fatal(err)
		}
		if end == "cancelled" {
			if j, err := f.db.CancelJob(ctx, c.Job.ID); err != nil || j.Status != JobCancelled {
				t.Fatalf("cancel: %v, %v", j, err)
			}
		}
		if got := stateText(t, f.db, f.conn.ID); got != before {
			t.Errorf("%s refresh: connection state %s, want %s", end, got, before)
		}
		if staged, err := f.db.RefreshState(ctx, c.Job.ID); err != nil || staged != nil {
			t.Errorf("%s refresh: staged state %v (%v), want dropped", end, staged, err)
		}
	}
}

// TestMigrateJobTypes upgrades a database at version 6 (the last before
// the job types) holding a job and
// its attempt: the attempt survives (no cascade from rebuilding jobs), the
// new job types are accepted on every pooled connection, and the
// database's integrity check passes.
func TestMigrateJobTypes(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	clock := newTestClock()
	old, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)), withMigrations(migrationsUpTo(t, 6)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: old, clock: clock}
	f.srcDef = mustDefinition(t, old, KindSource, "source-old")
	f.dstDef = mustDefinition(t, old, KindDestination, "dest-old")
	// Actors as version 6 writes them: this binary reads definitions with
	// columns later migrations add.
	f.src, f.dst = &Actor{ID: "a-src"}, &Actor{ID: "a-dst"}
	for _, a := range []struct{ id, kind, def string }{{"a-src", "source", f.srcDef.ID}, {"a-dst", "destination", f.dstDef.ID}} {
		if _, err := old.db.ExecContext(ctx, `INSERT INTO actors (id, kind, name, definition_id, config, created_at, updated_at, workspace_id)
			VALUES (?, ?, ?, ?, '{}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', (SELECT id FROM workspaces WHERE is_default = 1))`,
			a.id, a.kind, a.kind+" one", a.def); err != nil {
			t.Fatal(err)
		}
	}
	f.conn = f.newConnection(t)
	// This binary's CreateJob writes the new column: write the job and its
	// attempt as version 3 would.
	for _, q := range []string{
		`INSERT INTO jobs (id, connection_id, type, status, trigger, created_at, updated_at)
			VALUES (1, ?, 'reset', 'succeeded', 'manual', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')`,
		`INSERT INTO attempts (job_id, connection_id, number, status, started_at, updated_at, owner_instance, owner_pid)
			VALUES (1, ?, 1, 'succeeded', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'old', 1)`,
	} {
		if _, err := old.db.ExecContext(ctx, q, f.conn.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if j, err := db.Job(ctx, 1); err != nil || len(j.Attempts) != 1 || j.Type != JobReset || j.Streams != nil {
		t.Fatalf("job after the migration: %+v, %v; want it with its attempt", j, err)
	}
	// Jobs created in parallel land on several pooled connections.
	conns := make([]*Connection, 4)
	for i := range conns {
		f.db = db
		conns[i] = f.newConnection(t)
	}
	errs := make(chan error, len(conns))
	for i, conn := range conns {
		typ := []JobType{JobClear, JobRefresh}[i%2]
		go func() {
			_, err := db.CreateJob(ctx, conn.ID, typ, TriggerAPI)
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Errorf("create a job of a new type: %v", err)
		}
	}
	var check string
	if err := db.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}

// TestJobWarningsAndPartialSuccess: a succeeded job whose last attempt
// carries warnings is a partial success, in the job and in lists; one
// whose earlier attempt had them is not; a failed job that committed
// records is one too.
func TestJobWarningsAndPartialSuccess(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	warning := FailureReason{FailureOrigin: protocol.OriginReplication, ExternalMessage: "no state",
		Metadata: map[string]any{WarningMetadata: true}}
	failure := FailureReason{FailureOrigin: protocol.OriginSource, ExternalMessage: "boom"}

	c := f.claimType(t, JobSync)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded, FailureReasons: []FailureReason{warning, warning}}); err != nil {
		t.Fatal(err)
	}
	c = f.claimType(t, JobSync)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		JobStatus: JobIncomplete, FailureReasons: []FailureReason{warning, failure}}); err != nil {
		t.Fatal(err)
	}
	c2, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c2 == nil {
		t.Fatalf("claim the retry: %v, %v", c2, err)
	}
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c2.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	c = f.claimType(t, JobSync)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		JobStatus: JobFailed, Stats: &Stats{RecordsCommitted: 5}, FailureReasons: []FailureReason{failure}}); err != nil {
		t.Fatal(err)
	}
	jobs, _, err := f.db.Jobs(ctx, JobFilter{ConnectionID: f.conn.ID})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("jobs: %d (%v), want 3", len(jobs), err)
	}
	want := []struct {
		warnings int
		partial  bool
	}{{0, true}, {0, false}, {2, true}} // newest first
	for i, j := range jobs {
		byID, err := f.db.Job(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*Job{j, byID} {
			if got.Warnings != want[i].warnings || got.PartialSuccess() != want[i].partial {
				t.Errorf("job %d (%s): %d warnings, partial %v; want %d, %v", j.ID, j.Status,
					got.Warnings, got.PartialSuccess(), want[i].warnings, want[i].partial)
			}
		}
	}
}

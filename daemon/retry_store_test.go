package daemon

import (
	"context"
	"testing"

	"github.com/ferrysync/ferry/store"
)

// trigger starts a sync of conn and waits for the job to end.
func runJob(t *testing.T, d *Daemon, connID string, typ store.JobType) *store.Job {
	t.Helper()
	j, err := d.Trigger(context.Background(), connID, typ)
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	return waitJob(t, d, j.ID)
}

// TestRetryResumesFromCommittedState crashes the destination after every
// 8 records it receives: each attempt commits the states acknowledged
// before the crash, the next attempt resumes from them without backoff
// (it made progress), and in the end every record reached the destination
// (at least once) and the job succeeded (G3, G9).
func TestRetryResumesFromCommittedState(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 20, "state_every": 3}},
		scenario{Destination: map[string]any{"crash_after_records": 8}})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobSucceeded {
		t.Fatalf("job status %s after %d attempts, want succeeded", j.Status, j.AttemptCount)
	}
	if j.AttemptCount < 3 {
		t.Errorf("got %d attempts, want at least 3 (the destination crashes every 8 records)", j.AttemptCount)
	}
	for _, a := range j.Attempts[:len(j.Attempts)-1] {
		if a.Status != store.AttemptFailed || !a.CommittedState {
			t.Errorf("attempt %d: status %s, committed state %v; want failed after committing state", a.Number, a.Status, a.CommittedState)
		}
	}
	if got := receivedIDs(t, d)["items"]; len(missing(got, 20)) != 0 {
		t.Errorf("destination got ids %v, missing %v; want every id of 1..20", got, missing(got, 20))
	}
	if got, want := cursors(t, d, conn.ID)["items"], `{"cursor":20}`; got != want {
		t.Errorf("committed state %s, want %s", got, want)
	}
}

// TestNoProgressRetriesAreBounded fails every attempt before any state:
// the job is retried with backoff and fails after 5 attempts in a row.
func TestNoProgressRetriesAreBounded(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 10, "state_every": 5, "exit_after_record": 1, "exit_code": 1, "error_message": "boom"}},
		scenario{})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobFailed || j.AttemptCount != 5 {
		t.Fatalf("job %s after %d attempts, want failed after 5", j.Status, j.AttemptCount)
	}
	for _, a := range j.Attempts {
		if a.Status != store.AttemptFailed || a.CommittedState {
			t.Errorf("attempt %d: %s, committed state %v; want failed without state", a.Number, a.Status, a.CommittedState)
		}
		if len(a.FailureReasons) == 0 || a.FailureReasons[0].ExternalMessage != "boom" {
			t.Errorf("attempt %d reasons %+v, want the source's trace first", a.Number, a.FailureReasons)
		}
	}
}

// TestConfigErrorNotRetried points the source at a binary that does not
// exist: a config_error, so the job fails after one attempt (G9).
func TestConfigErrorNotRetried(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	ctx := context.Background()
	src, err := d.db.Actor(ctx, store.KindSource, conn.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	def, err := d.db.Definition(ctx, src.DefinitionID)
	if err != nil {
		t.Fatal(err)
	}
	def.BinaryPath = "/nonexistent/connector"
	if err := d.db.UpdateDefinition(ctx, def); err != nil {
		t.Fatal(err)
	}
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobFailed || j.AttemptCount != 1 {
		t.Fatalf("job %s after %d attempts, want failed after 1", j.Status, j.AttemptCount)
	}
	if !hasConfigError(j.Attempts[0].FailureReasons) {
		t.Errorf("reasons %+v, want a config_error", j.Attempts[0].FailureReasons)
	}
}

// TestUnacknowledgedSyncIsNotAPlainSuccess has a destination that never
// acknowledges a state: both connectors exit 0, but nothing is known to
// be durable, so the job is a success with warnings, a partial success,
// never a plain one (G11).
func TestUnacknowledgedSyncIsNotAPlainSuccess(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 6, "state_every": 2}},
		scenario{Destination: map[string]any{"ack": "none"}})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobSucceeded || len(JobWarnings(j)) == 0 || !PartialSuccess(j) {
		t.Fatalf("job %s with warnings %q, want succeeded with warnings", j.Status, JobWarnings(j))
	}
	if j.Attempts[0].CommittedState {
		t.Errorf("the attempt is marked as having committed state, want not")
	}
	if got := cursors(t, d, conn.ID); len(got) != 0 {
		t.Errorf("committed state %v, want none", got)
	}
}

// TestResetClearsState syncs, then resets: the state is gone and every
// stream is in a new generation.
func TestResetClearsState(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 4, "state_every": 2}}, scenario{})
	serve(t, d)
	if j := runJob(t, d, conn.ID, store.JobSync); j.Status != store.JobSucceeded {
		t.Fatalf("sync %s, want succeeded", j.Status)
	}
	if len(cursors(t, d, conn.ID)) == 0 {
		t.Fatal("no state after the sync")
	}
	if j := runJob(t, d, conn.ID, store.JobReset); j.Status != store.JobSucceeded {
		t.Fatalf("reset %s, want succeeded", j.Status)
	}
	if got := cursors(t, d, conn.ID); len(got) != 0 {
		t.Errorf("state after reset %v, want none", got)
	}
	gens, err := d.db.Generations(context.Background(), conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 1 || gens[0].GenerationID != 1 {
		t.Errorf("generations %+v, want items at generation 1", gens)
	}
}

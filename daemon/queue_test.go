package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/store"
)

// TestSyncSucceeds runs a clean sync of two streams on the local runtime:
// the job succeeds without warnings, the stats and the committed state are
// in the store, and the destination got every record once.
func TestSyncSucceeds(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d,
		scenario{Streams: []string{"items", "users"}, Source: map[string]any{"records": 25, "state_every": 5}},
		scenario{})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobSucceeded || len(JobWarnings(j)) != 0 {
		t.Fatalf("job status %s, warnings %q; want succeeded without warnings; reasons %+v", j.Status, JobWarnings(j), j.Attempts[len(j.Attempts)-1].FailureReasons)
	}
	if j.AttemptCount != 1 || j.RecordsSynced != 50 {
		t.Errorf("got %d attempts and %d records synced, want 1 and 50", j.AttemptCount, j.RecordsSynced)
	}
	a := j.Attempts[0]
	if a.Stats.RecordsEmitted != 50 || a.Stats.RecordsCommitted != 50 || !a.CommittedState {
		t.Errorf("attempt stats %+v committed %v, want 50 emitted and committed", a.Stats, a.CommittedState)
	}
	if a.LogPath == "" {
		t.Errorf("attempt has no log path")
	} else if b, err := os.ReadFile(a.LogPath); err != nil || !strings.Contains(string(b), "sync succeeded") {
		t.Errorf("attempt log %s: %v, want a line saying the sync succeeded:\n%s", a.LogPath, err, b)
	}
	want := map[string]string{"items": `{"cursor":25}`, "users": `{"cursor":25}`}
	if diff := cmp.Diff(want, cursors(t, d, conn.ID)); diff != "" {
		t.Errorf("committed state (-want +got):\n%s", diff)
	}
	got := receivedIDs(t, d)
	for _, s := range []string{"items", "users"} {
		if len(got[s]) != 25 || len(missing(got[s], 25)) != 0 {
			t.Errorf("stream %s: destination got ids %v, want 1..25 once each", s, got[s])
		}
	}
}

// TestTriggerConflict checks G7 at the controller: a second trigger while
// a job is active is a conflict, for a sync and for a reset alike.
func TestTriggerConflict(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	// Not serving: the first job stays pending.
	if _, err := d.Trigger(context.Background(), conn.ID, store.JobSync); err != nil {
		t.Fatalf("first Trigger: %v", err)
	}
	for _, typ := range []store.JobType{store.JobSync, store.JobReset} {
		_, err := d.Trigger(context.Background(), conn.ID, typ)
		if !errors.Is(err, store.ErrConflict) || !IsConflict(err) {
			t.Errorf("second Trigger(%s) = %v, want a conflict", typ, err)
		}
	}
}

// TestWorkersBoundConcurrency runs one worker: while a hanging sync holds
// it, another connection's job stays pending, and it runs once the first
// is cancelled.
func TestWorkersBoundConcurrency(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	cfg.Workers.Count = 1
	d := openDaemon(t, cfg, Options{})
	hanging := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 10, "state_every": 1, "hang_after_record": 2}}, scenario{})
	other := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 3}}, scenario{})
	serve(t, d)
	ctx := context.Background()
	first, err := d.Trigger(ctx, hanging.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, d, first.ID, 2)
	second, err := d.Trigger(ctx, other.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	// Wake the dispatcher a few times: with its one slot taken, the second
	// job must stay pending.
	for i := 0; i < 3; i++ {
		d.poke()
		d.dispatch(ctx)
	}
	if j, err := d.db.Job(ctx, second.ID); err != nil || j.Status != store.JobPending {
		t.Fatalf("second job %v (%v) while the only worker is busy, want pending", j.Status, err)
	}
	if _, err := d.Cancel(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, d, second.ID); j.Status != store.JobSucceeded {
		t.Errorf("second job %s, want succeeded once the worker is free", j.Status)
	}
}

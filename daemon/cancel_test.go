package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// waitCommitted follows a running job until its live stats show at least n
// committed records.
func waitCommitted(t *testing.T, d *Daemon, jobID int64, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, stop := context.WithCancel(ctx)
	defer stop()
	reached := false
	_ = d.Subscribe(sub, jobID, func(j *store.Job) {
		if j.Status == store.JobRunning && j.RecordsSynced >= n {
			reached = true
			stop()
		}
	}, func(int, string) {})
	if !reached {
		t.Fatalf("job %d never committed %d records", jobID, n)
	}
}

// TestCancelRunningJob cancels a sync whose source hangs: the connectors
// are stopped, the acknowledged state is committed, and the job and its
// attempt end cancelled, without a retry.
func TestCancelRunningJob(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 100, "state_every": 2, "hang_after_record": 4}},
		scenario{})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, d, j.ID, 4)
	if _, err := d.Cancel(context.Background(), j.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobCancelled || j.AttemptCount != 1 || j.Attempts[0].Status != store.AttemptCancelled {
		t.Fatalf("job %s with %d attempts (first %s), want cancelled with one cancelled attempt", j.Status, j.AttemptCount, j.Attempts[0].Status)
	}
	if got, want := cursors(t, d, conn.ID)["items"], `{"cursor":4}`; got != want {
		t.Errorf("committed state %s, want %s", got, want)
	}
	if _, err := d.Cancel(context.Background(), j.ID); !IsConflict(err) {
		t.Errorf("second Cancel = %v, want a conflict: the job has ended", err)
	}
}

// TestCancelPendingJob cancels a job before any worker took it.
func TestCancelPendingJob(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Cancel(context.Background(), j.ID)
	if err != nil || got.Status != store.JobCancelled {
		t.Fatalf("Cancel = %v, %v; want the job cancelled", got, err)
	}
	// The connection is free again.
	if _, err := d.Trigger(context.Background(), conn.ID, store.JobSync); err != nil {
		t.Errorf("Trigger after cancel: %v", err)
	}
}

// TestGracefulShutdownMidSync stops the daemon while a sync hangs: after
// the grace period the attempt is cancelled, what was acknowledged is
// committed, the attempt is failed ("shut down") and the job stays
// incomplete; the next daemon on the same data dir resumes it from the
// committed state and finishes it.
func TestGracefulShutdownMidSync(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	cfg.Shutdown.Grace = 200 * time.Millisecond
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 10, "state_every": 2, "hang_after_record": 6}},
		scenario{})
	stop := serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, d, j.ID, 6)
	stop()
	got, err := d.db.Job(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.JobIncomplete || got.Attempts[0].Status != store.AttemptFailed {
		t.Fatalf("after shutdown: job %s, attempt %s; want incomplete and failed", got.Status, got.Attempts[0].Status)
	}
	if r := got.Attempts[0].FailureReasons; len(r) == 0 || r[len(r)-1].ExternalMessage != errShutdown.Error() {
		t.Errorf("attempt reasons %+v, want the shutdown last", r)
	}
	if c := cursors(t, d, conn.ID)["items"]; c != `{"cursor":6}` {
		t.Errorf("committed state %s, want cursor 6", c)
	}
	d.Close()

	// The next start: the source no longer hangs, and the retry resumes.
	d2 := openDaemon(t, cfg, Options{})
	src, err := d2.db.Actor(context.Background(), store.KindSource, conn.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	src.Config = scenario{Source: map[string]any{"records": 10, "state_every": 2}}.json(t)
	if err := d2.db.UpdateActor(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	serve(t, d2)
	final := waitJob(t, d2, j.ID)
	if final.Status != store.JobSucceeded || final.AttemptCount != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2", final.Status, final.AttemptCount)
	}
	if ids := receivedIDs(t, d2)["items"]; len(missing(ids, 10)) != 0 || ids[len(ids)-1] != 10 {
		t.Errorf("destination got %v, want every id of 1..10", ids)
	}
	if first := final.Attempts[1].Stats.RecordsEmitted; first != 4 {
		t.Errorf("the retry emitted %d records, want 4 (7..10, resumed from cursor 6)", first)
	}
}

// TestCancelAfterAttemptEndedTellsSubscribers cancels a job in the moment
// after its attempt was recorded (the job is incomplete, waiting for its
// retry) and before the worker forgot the attempt. The store cancels the
// job at once; subscribers and webhooks must hear of it, or a follower
// waits forever for a job that has ended.
func TestCancelAfterAttemptEndedTellsSubscribers(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	ctx := context.Background()
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	// The worker is still registered, its attempt already finished: the
	// job is not running in the store.
	runCtx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	d.mu.Lock()
	d.running[j.ID] = &activeRun{claim: &store.Claim{Job: j, Attempt: &store.Attempt{Number: 1}}, ctx: runCtx, cancel: cancel}
	d.mu.Unlock()
	s := d.hub.subscribe(j.ID)
	defer d.hub.unsubscribe(j.ID, s)

	got, err := d.Cancel(ctx, j.ID)
	if err != nil || got.Status != store.JobCancelled {
		t.Fatalf("Cancel = %v, %v; want the job cancelled", got, err)
	}
	// Cancel told the hub before it returned; the minute only guards
	// against a hang.
	fctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	var last *store.Job
	if err := s.follow(fctx, func(j *store.Job) { last = j }, func(int, string) {}); err != nil {
		t.Fatalf("subscriber never told the job ended: %v (last %v)", err, last)
	}
	if last == nil || last.Status != store.JobCancelled {
		t.Errorf("subscriber's last status %v, want cancelled", last)
	}
}

package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestRetryStormAfterProgress is scenario 10's storm: the destination
// crashes after 5 records on every attempt, after acknowledging states,
// so each attempt makes progress and fails the same way. On an injected
// clock that only moves when the test moves it, each retry waits its
// backoff (10 s, then 10 s, 30 s, 90 s as the failure keeps repeating):
// no attempt starts before its time, where before every retry started at
// once and a job reached 20 attempts in under a minute (then the job
// never waits for a retry here, and ends after 20 attempts).
func TestRetryStormAfterProgress(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	cfg := testConfig(t, scriptedDir(t))
	cfg.Retry = DefaultRetryPolicy()
	d := openDaemon(t, cfg, Options{Now: clock.Now})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 1000, "state_every": 1}},
		scenario{Destination: map[string]any{"crash_after_records": 5}})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range []time.Duration{10 * time.Second, 10 * time.Second, 30 * time.Second, 90 * time.Second} {
		got := waitRetryAt(t, d, j.ID, n+1)
		a := got.Attempts[n]
		if a.Status != store.AttemptFailed || !a.CommittedState {
			t.Fatalf("attempt %d: %s, committed %v; want failed after progress", n+1, a.Status, a.CommittedState)
		}
		now := clock.Now()
		if wait := got.RetryAt.Sub(now); wait != want {
			t.Fatalf("after attempt %d the retry waits %s, want %s", n+1, wait, want)
		}
		// The clock stands still: the job is due only once it moves past
		// the backoff, so the next attempt cannot start early.
		clock.Set(now.Add(want))
		d.poke()
	}
	if _, err := d.Cancel(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	waitJob(t, d, j.ID)
}

// jobNow reads a job once.
func jobNow(t *testing.T, d *Daemon, id int64) *store.Job {
	t.Helper()
	j, err := d.db.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitRetryAt waits until the job's n-th attempt has ended and the job
// waits for a retry; the deadline only guards against a hang.
func waitRetryAt(t *testing.T, d *Daemon, id int64, n int) *store.Job {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		j := jobNow(t, d, id)
		if j.Status.Terminal() {
			t.Fatalf("job ended %s after %d attempts, want a retry", j.Status, j.AttemptCount)
		}
		if j.AttemptCount == n && j.Status == store.JobIncomplete && j.RetryAt != nil {
			return j
		}
	}
	t.Fatalf("job %d never waited for a retry after attempt %d", id, n)
	return nil
}

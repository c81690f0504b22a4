package daemon

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// runningOn waits for job's attempt number n to run and committed state
// at cursor or beyond, and returns the attempt.
func (r *replicaSet) runningOn(jobID int64, n int, connID, cursor string) *store.Attempt {
	r.t.Helper()
	var a *store.Attempt
	r.eventually("attempt running with "+cursor+" committed", func() bool {
		j := r.job(jobID)
		if len(j.Attempts) < n || j.Attempts[n-1].Status != store.AttemptRunning {
			return false
		}
		a = j.Attempts[n-1]
		st, err := r.db.State(context.Background(), connID)
		return err == nil && len(st) == 1 && string(st[0].Stream.StreamState) == cursor
	})
	return a
}

// TestReplicaKillNine kills the replica running a sync with SIGKILL. Its
// attempt is failed once its lease expires, by another replica, which
// also removes its containers (one engine here); the retry runs on a
// surviving replica from the committed state and nothing is lost.
func TestReplicaKillNine(t *testing.T) {
	c := runnertest.RequireDocker(t)
	r := newReplicaSet(t)
	ctx := context.Background()
	conn := r.connections(1, scenario{Source: map[string]any{"records": 20, "state_every": 2, "hang_after_record": 8}})[0]
	ids := []string{"replica-1", "replica-2", "replica-3"}
	for _, id := range ids {
		r.start(id)
	}
	j, err := r.db.CreateJob(ctx, conn.ID, store.JobSync, store.TriggerAPI)
	if err != nil {
		t.Fatal(err)
	}
	a := r.runningOn(j.ID, 1, conn.ID, `{"cursor":8}`)
	victim := a.Owner.InstanceID
	// The source stops hanging for the retry.
	src, err := r.db.Actor(ctx, store.KindSource, conn.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	src.Config = scenario{Source: map[string]any{"records": 20, "state_every": 2}}.json(t)
	if err := r.db.UpdateActor(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := r.procs[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.procs[victim].Wait()
	killed := time.Now()
	// The lease as last renewed before the kill.
	a = r.job(j.ID).Attempts[0]
	expiry := *a.LeaseExpiresAt

	var failedAt, resumedAt time.Time
	r.eventually("the killed attempt fails", func() bool {
		a = r.job(j.ID).Attempts[0]
		if a.Status == store.AttemptRunning {
			return false
		}
		failedAt = time.Now()
		return true
	})
	r.eventually("a retry starts", func() bool {
		if j := r.job(j.ID); len(j.Attempts) > 1 {
			resumedAt = time.Now()
			return true
		}
		return false
	})
	var final *store.Job
	r.eventually("the job ends", func() bool {
		final = r.job(j.ID)
		return final.Status.Terminal()
	})
	r.stopAll()
	t.Logf("kill -9 to lease expiry %v; lease expiry to failure %v (lease %v, heartbeat %v); failure to resume %v",
		expiry.Sub(killed).Round(time.Millisecond), failedAt.Sub(expiry).Round(time.Millisecond), testLease, testHeartbeat,
		resumedAt.Sub(failedAt).Round(time.Millisecond))

	if a.Status != store.AttemptFailed || len(a.FailureReasons) == 0 ||
		a.FailureReasons[0].ExternalMessage != "lease expired on replica "+victim {
		t.Errorf("killed attempt: %s %+v, want failed with the lease expired on %s", a.Status, a.FailureReasons, victim)
	}
	if final.Status != store.JobSucceeded || len(final.Attempts) != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2\n%s", final.Status, len(final.Attempts), r.logs())
	}
	retry := final.Attempts[1]
	if retry.Owner.InstanceID == victim {
		t.Errorf("the retry ran on the killed replica %s", victim)
	}
	if n := retry.Stats.RecordsEmitted; n != 12 {
		t.Errorf("the retry emitted %d records, want 12 (9..20, resumed from cursor 8)", n)
	}
	if got := r.received(); len(missing(got, 20)) != 0 {
		t.Errorf("destinations got %v, missing %v", got, missing(got, 20))
	}
	// Another replica removed the dead one's containers when it failed
	// the attempt: they share this engine.
	if cs, vs := leftovers(t, c, victim); cs != 0 || vs != 0 {
		t.Errorf("replica %s left %d containers and %d volumes", victim, cs, vs)
	}
}

// TestReplicaPausedPastLease stops the replica running a sync with
// SIGSTOP until another replica has failed its attempt and the retry has
// finished, then resumes it: its late state commit and late end are
// refused and logged, and the destination has every record (at least
// once, no gap).
func TestReplicaPausedPastLease(t *testing.T) {
	r := newReplicaSet(t)
	ctx := context.Background()
	// A slow middle: the source sleeps after record 8, so the pause lands
	// with records 9.. still to come.
	conn := r.connections(1, scenario{Source: map[string]any{"records": 20, "state_every": 2,
		"sleep_after_record": 8, "sleep_ms": 1500}})[0]
	for _, id := range []string{"replica-1", "replica-2", "replica-3"} {
		r.start(id)
	}
	j, err := r.db.CreateJob(ctx, conn.ID, store.JobSync, store.TriggerAPI)
	if err != nil {
		t.Fatal(err)
	}
	a := r.runningOn(j.ID, 1, conn.ID, `{"cursor":8}`)
	paused := a.Owner.InstanceID
	p := r.procs[paused].Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var final *store.Job
	r.eventually("the retry ends while the replica is paused", func() bool {
		final = r.job(j.ID)
		return final.Status.Terminal()
	})
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	out := r.outs[paused]
	r.eventually("the paused replica's late end is refused", func() bool {
		return strings.Contains(out.String(), "record the attempt's end")
	})
	r.stopAll()
	// Its intermediate commits may or may not come before the heartbeat
	// stops the attempt; the final state is written only with the end,
	// in one transaction, so that refusal covers it.
	for _, line := range []string{"lost the lease of a running attempt", "record the attempt's end"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the paused replica did not log %q", line)
		}
	}
	t.Logf("refusals logged by %s: %d state commits, 1 end", paused, strings.Count(out.String(), "state commit refused"))

	first := final.Attempts[0]
	if first.Status != store.AttemptFailed || first.FailureReasons[0].ExternalMessage != "lease expired on replica "+paused {
		t.Errorf("paused attempt: %s %+v", first.Status, first.FailureReasons)
	}
	if final.Status != store.JobSucceeded {
		t.Fatalf("job %s, want succeeded\n%s", final.Status, r.logs())
	}
	if a := r.job(j.ID).Attempts[0]; a.Status != store.AttemptFailed || a.Stats.RecordsCommitted != first.Stats.RecordsCommitted {
		t.Errorf("the late end changed the failed attempt: %s %+v, was %+v", a.Status, a.Stats, first.Stats)
	}
	if st := cursors(t, &Daemon{db: r.db}, conn.ID); st["items"] != `{"cursor":20}` {
		t.Errorf("committed state %v, want the retry's cursor 20", st)
	}
	if got := r.received(); len(missing(got, 20)) != 0 {
		t.Errorf("destinations got %v, missing %v", got, missing(got, 20))
	}
}

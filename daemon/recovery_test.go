package daemon

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// fakeSweeper records sweeps and asks keep about the labels it is given.
type fakeSweeper struct {
	mu     sync.Mutex
	calls  []string
	labels []map[string]string
	kept   int
}

var _ Sweeper = (*fakeSweeper)(nil)

func (f *fakeSweeper) Sweep(ctx context.Context, instanceID string, keep func(map[string]string) bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, instanceID)
	removed := 0
	for _, l := range f.labels {
		if keep(l) {
			f.kept++
		} else {
			removed++
		}
	}
	return removed, nil
}

// TestRecoveryFailsLeftoverAttempts simulates a daemon killed mid-sync: an
// attempt claimed by an earlier process of this instance is still running
// in the store, with state committed. The next Open fails it ("daemon
// restarted"), sweeps this instance's leftovers, and the retry resumes
// from the committed state (G6).
func TestRecoveryFailsLeftoverAttempts(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 10, "state_every": 2}}, scenario{})
	ctx := context.Background()
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	// The "earlier process": it claimed the job and committed cursor 4.
	old := store.Owner{InstanceID: d.InstanceID(), PID: 1, BootID: "earlier"}
	c, err := d.db.ClaimJob(ctx, old)
	if err != nil || c == nil {
		t.Fatalf("ClaimJob = %v, %v", c, err)
	}
	state := scriptedState(t, "items", 4)
	if err := d.db.CommitCheckpoint(ctx, c.Attempt.ID, state, store.Stats{RecordsEmitted: 5, RecordsCommitted: 4}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	sw := &fakeSweeper{labels: []map[string]string{
		{runner.LabelInstance: d.InstanceID(), runner.LabelJob: "1", runner.LabelAttempt: "1"},
	}}
	d2 := openDaemon(t, cfg, Options{Sweeper: sw})
	got, err := d2.db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := got.Attempts[0]
	if a.Status != store.AttemptFailed || len(a.FailureReasons) == 0 || a.FailureReasons[0].ExternalMessage != restartMessage {
		t.Errorf("old attempt: %s %+v, want failed with %q", a.Status, a.FailureReasons, restartMessage)
	}
	if got.Status != store.JobIncomplete || got.RetryAt != nil {
		t.Errorf("job %s retry at %v, want incomplete and retried at once", got.Status, got.RetryAt)
	}
	if len(sw.calls) != 1 || sw.calls[0] != d.InstanceID() || sw.kept != 0 {
		t.Errorf("sweeps %v (kept %d), want one sweep of instance %s keeping nothing", sw.calls, sw.kept, d.InstanceID())
	}
	serve(t, d2)
	final := waitJob(t, d2, j.ID)
	if final.Status != store.JobSucceeded || final.AttemptCount != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2", final.Status, final.AttemptCount)
	}
	if n := final.Attempts[1].Stats.RecordsEmitted; n != 6 {
		t.Errorf("the retry emitted %d records, want 6 (5..10, resumed from cursor 4)", n)
	}
}

// TestRecoveryKeepsOtherInstances leaves attempts of another instance
// alone, and keeps their containers in the sweep.
func TestRecoveryKeepsOtherInstances(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	ctx := context.Background()
	if _, err := d.Trigger(ctx, conn.ID, store.JobSync); err != nil {
		t.Fatal(err)
	}
	c, err := d.db.ClaimJob(ctx, store.Owner{InstanceID: "someone-else", PID: 1, BootID: "x"})
	if err != nil || c == nil {
		t.Fatalf("ClaimJob = %v, %v", c, err)
	}
	d.Close()
	sw := &fakeSweeper{labels: []map[string]string{{runner.LabelJob: "1", runner.LabelAttempt: "1"}}}
	d2 := openDaemon(t, cfg, Options{Sweeper: sw})
	a, err := d2.db.Attempt(ctx, c.Attempt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.AttemptRunning || sw.kept != 1 {
		t.Errorf("other instance's attempt %s, containers kept %d; want running and 1 kept", a.Status, sw.kept)
	}
}

// TestInstanceIDPersists checks that the instance ID survives a restart.
func TestInstanceIDPersists(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	d := openDaemon(t, cfg, Options{})
	id := d.InstanceID()
	d.Close()
	d2 := openDaemon(t, cfg, Options{})
	if d2.InstanceID() != id || d2.firstStart {
		t.Errorf("instance ID after restart %q (first start %v), want %q", d2.InstanceID(), d2.firstStart, id)
	}
}

// TestSecondDaemonOnDataDirRefused starts a second daemon on a data dir
// whose daemon is running a sync. Both share the instance ID, so the
// second's recovery would take the first's attempt for a leftover: fail it
// ("daemon restarted") and sweep its containers. Open must refuse instead,
// and leave the running attempt alone.
func TestSecondDaemonOnDataDirRefused(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	ctx := context.Background()
	if _, err := d.Trigger(ctx, conn.ID, store.JobSync); err != nil {
		t.Fatal(err)
	}
	c, err := d.db.ClaimJob(ctx, d.owner) // the first daemon's attempt, running
	if err != nil || c == nil {
		t.Fatalf("ClaimJob = %v, %v", c, err)
	}
	sw := &fakeSweeper{}
	d2, err := Open(ctx, cfg, Options{Logger: testLogger(t), Sweeper: sw})
	if err == nil {
		d2.Close()
		t.Fatal("a second Open of a data dir in use succeeded")
	}
	if !strings.Contains(err.Error(), cfg.DataDir) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q, want it to name the data dir and say it is in use", err)
	}
	a, err := d.db.Attempt(ctx, c.Attempt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.AttemptRunning || len(sw.calls) != 0 {
		t.Errorf("first daemon's attempt %s, sweeps %v; want running and no sweep", a.Status, sw.calls)
	}
	// Once the first daemon is closed, the data dir can be opened again.
	d.Close()
	openDaemon(t, cfg, Options{Sweeper: sw})
}

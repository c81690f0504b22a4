package daemon

import (
	"context"
	"database/sql"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestFinishSurvivesABusyStore holds SQLite's write lock (another writer,
// a backup tool) longer than the busy timeout while an attempt ends. The
// attempt's end cannot be recorded at first; it must be recorded once the
// lock is gone, not left running in the store until the next restart,
// with its connection blocked (no claim, no trigger) all that time.
func TestFinishSurvivesABusyStore(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	// The busy timeout is short so that the blocked write fails at once.
	// Only that write may meet a lock: with one worker and no periodic
	// claims (the tick is an hour; a trigger and a finished attempt still
	// wake the dispatcher), the attempt is the store's only writer, so
	// none of its own writes waits on another, however slow the machine.
	cfg.Store.BusyTimeout = 50 * time.Millisecond
	cfg.Workers.Count = 1
	cfg.Scheduler.Tick = time.Hour
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 4, "state_every": 2}}, scenario{})
	ctx := context.Background()

	// The other writer waits as long as it takes for the daemon's own
	// writes in flight (a claim), so that taking the lock never fails.
	other, err := sql.Open("sqlite", cfg.StorePath()+"?"+url.Values{"_pragma": {"busy_timeout(600000)"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	// The probes place the lock exactly: taken after the attempt's last
	// checkpoint and before its end is recorded, released only once
	// recording the end has failed.
	var locked, retries atomic.Int32
	var held atomic.Bool
	d.probes.beforeFinish = func() {
		if locked.Load() > 0 {
			return // a second attempt: reported below, not blocked
		}
		if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Errorf("take the write lock: %v", err)
			return
		}
		locked.Add(1)
		held.Store(true)
	}
	d.probes.finishRetry = func(error) {
		retries.Add(1)
		if held.CompareAndSwap(true, false) {
			if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Errorf("release the write lock: %v", err)
			}
		}
	}
	serve(t, d)
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	got := waitJob(t, d, j.ID)
	if locked.Load() != 1 || retries.Load() == 0 {
		t.Fatalf("lock taken %d times, end recorded after %d failed tries; want the lock once and a failed first try",
			locked.Load(), retries.Load())
	}
	if got.Status != store.JobSucceeded || got.AttemptCount != 1 || got.RecordsSynced != 4 {
		t.Errorf("job %s after %d attempts with %d records, want succeeded after 1 with 4 once the store is writable again",
			got.Status, got.AttemptCount, got.RecordsSynced)
	}
	if c := cursors(t, d, conn.ID)["items"]; c != `{"cursor":4}` {
		t.Errorf("committed state %s, want cursor 4", c)
	}
}

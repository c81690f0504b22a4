package daemon

import (
	"context"
	"database/sql"
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
	cfg.Store.BusyTimeout = 50 * time.Millisecond
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 4, "state_every": 2, "sleep_before_ms": 1500}}, scenario{})
	serve(t, d)
	ctx := context.Background()
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the attempt to have started and recorded its data channel.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := d.db.Job(ctx, j.ID)
		if err == nil && len(got.Attempts) > 0 && got.Attempts[0].Mode != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the attempt never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Another writer takes the lock while the source sleeps, and keeps it
	// until the attempt is over.
	other, err := sql.Open("sqlite", cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	time.Sleep(3 * time.Second)
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	lock.Close()

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last *store.Job
	if err := d.Subscribe(wctx, j.ID, func(j *store.Job) { last = j }, func(int, string) {}); err != nil {
		got, _ := d.db.Job(ctx, j.ID)
		t.Fatalf("the job never ended after the lock was released: %v (stored %s)", err, got.Status)
	}
	if last.Status != store.JobSucceeded {
		t.Errorf("job %s, want succeeded once the store is writable again", last.Status)
	}
}

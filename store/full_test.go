package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// fillUp caps the database at its current size plus a little, so the next
// large write fails with SQLITE_FULL, as on a full disk. max_page_count is
// per connection, so the pool is first cut to one connection.
func fillUp(t *testing.T, db *DB) (restore func()) {
	t.Helper()
	ctx := context.Background()
	db.db.SetMaxOpenConns(1)
	var pages int64
	if err := db.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.db.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
			t.Fatal(err)
		}
	}
}

// bigState returns a STREAM state with a blob of n bytes.
func bigState(t *testing.T, stream string, n int) *protocol.State {
	t.Helper()
	return parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"`+stream+
		`"},"stream_state":{"blob":"`+strings.Repeat("x", n)+`"}}}]`))[0]
}

// TestFullDiskLeavesStateIntact verifies that a checkpoint or a final
// commit that runs out of space mid-transaction returns ErrStorageFull and
// leaves the previous state, stats and statuses exactly as they were.
func TestFullDiskLeavesStateIntact(t *testing.T) {
	sqliteOnly(t)
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	first := parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":1}}}]`))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, first, Stats{RecordsCommitted: 1}); err != nil {
		t.Fatal(err)
	}
	before, _ := f.db.State(ctx, f.conn.ID)
	restore := fillUp(t, f.db)

	// The small new row fits; the big one does not. Neither may land.
	batch := []*protocol.State{
		parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"seq":5}}}]`))[0],
		bigState(t, "users", 1<<20),
	}
	err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, batch, Stats{RecordsCommitted: 99})
	wantErr(t, err, ErrStorageFull)
	if strings.Contains(err.Error(), "xxxx") {
		t.Error("error leaks the state")
	}
	_, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded, FinalStates: []*protocol.State{bigState(t, "events", 1<<20)}})
	wantErr(t, err, ErrStorageFull)

	after, _ := f.db.State(ctx, f.conn.ID)
	if mustJSON(t, after) != mustJSON(t, before) {
		t.Errorf("state changed by failed commits:\n got %s\nwant %s", mustJSON(t, after), mustJSON(t, before))
	}
	j, _ := f.db.Job(ctx, c.Job.ID)
	if j.Status != JobRunning || j.Attempts[0].Status != AttemptRunning || j.Attempts[0].Stats.RecordsCommitted != 1 {
		t.Errorf("job after failed commits: %s, attempt %s, committed %d",
			j.Status, j.Attempts[0].Status, j.Attempts[0].Stats.RecordsCommitted)
	}
	if hist, total, _ := f.db.StateHistory(ctx, f.conn.ID, Page{}); total != 1 {
		t.Errorf("history grew: %s", mustJSON(t, hist))
	}

	// With space again, the attempt can still finish.
	restore()
	j, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		JobStatus: JobFailed, FailureReasons: []FailureReason{{FailureOrigin: protocol.OriginPersistence,
			FailureType: protocol.FailureSystem, ExternalMessage: "disk full"}}})
	if err != nil || j.Status != JobFailed {
		t.Fatalf("finish after restore: %v, %v", j, err)
	}
}

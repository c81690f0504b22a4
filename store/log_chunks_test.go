package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// TestLogChunks verifies the attempt log round trip: chunks appended in
// order read back as one log from any offset, in pieces of any size; a
// repeated append changes nothing; a read past the end is empty; and the
// chunks go with their job when retention deletes it.
func TestLogChunks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	j, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil {
		t.Fatal(err)
	}
	id := c.Attempt.ID
	chunks := [][]byte{[]byte("line one\nline "), []byte("two\n"), bytes.Repeat([]byte("x"), 70000), []byte("\nlast\x00\xff")}
	var want []byte
	for _, ch := range chunks {
		if err := f.db.AppendLog(ctx, id, int64(len(want)), ch); err != nil {
			t.Fatal(err)
		}
		want = append(want, ch...)
	}
	if err := f.db.AppendLog(ctx, id, 0, []byte("a retried first chunk")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{1 << 20, 4096} {
		var got []byte
		for {
			b, err := f.db.ReadLog(ctx, id, int64(len(got)), step)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				break
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read in steps of %d: got %d bytes, want the %d appended", step, len(got), len(want))
		}
	}
	if b, err := f.db.ReadLog(ctx, id, 0, 5); err != nil || string(b) != "line " {
		t.Errorf("ReadLog(0, 5) = %q, %v; want %q", b, err, "line ")
	}
	if b, err := f.db.ReadLog(ctx, id, 9, 8); err != nil || string(b) != "line two" {
		t.Errorf("ReadLog(9, 8) = %q, %v; want %q (across two chunks)", b, err, "line two")
	}
	if b, err := f.db.ReadLog(ctx, id, int64(len(want)), 10); err != nil || len(b) != 0 {
		t.Errorf("read at the end: %q, %v; want nothing", b, err)
	}
	if err := f.db.AppendLog(ctx, 1<<40, 0, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("append to an unknown attempt: %v, want ErrNotFound", err)
	}
	var ve *ValidationError
	if err := f.db.AppendLog(ctx, id, -1, []byte("x")); !errors.As(err, &ve) {
		t.Errorf("append at a negative offset: %v, want a validation error", err)
	}

	// Retention: a deleted connection's ended job goes, and its log too.
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: id, Status: AttemptSucceeded, JobStatus: JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteConnection(ctx, f.conn.ID); err != nil {
		t.Fatal(err)
	}
	ids, err := f.db.PruneDeletedJobs(ctx, time.Now().Add(time.Hour))
	if err != nil || len(ids) != 1 || ids[0] != j.ID {
		t.Fatalf("prune: %v, %v; want job %d", ids, err, j.ID)
	}
	var n int
	if err := f.db.queryRowRaw(ctx, `SELECT COUNT(*) FROM attempt_log_chunks`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after retention: %d chunks left (%v), want 0", n, err)
	}
}

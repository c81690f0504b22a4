package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSamples verifies that samples are recorded only while the attempt
// runs, come back by attempt in time order, and that the jobs of a deleted
// connection are pruned with them once they ended before the cutoff, and
// not before.
func TestSamples(t *testing.T) {
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
	for _, s := range []Sample{{Elapsed: 2 * time.Second, RecordsEmitted: 20, BytesEmitted: 2000},
		{Elapsed: time.Second, RecordsEmitted: 10, BytesEmitted: 1000, RecordsCommitted: 5}} {
		if err := f.db.AddSample(ctx, c.Attempt.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.db.JobSamples(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[1]) != 2 || got[1][0].Elapsed != time.Second || got[1][0].RecordsCommitted != 5 || got[1][1].RecordsEmitted != 20 {
		t.Fatalf("got %+v, want attempt 1's two samples in time order", got)
	}
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded, JobStatus: JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddSample(ctx, c.Attempt.ID, Sample{Elapsed: 3 * time.Second}); !errors.Is(err, ErrConflict) {
		t.Errorf("a sample after the end: got %v, want ErrConflict", err)
	}

	// A live connection's jobs are never pruned; a deleted one's once old.
	if ids, err := f.db.PruneDeletedJobs(ctx, f.clock.Now().Add(time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("prune with the connection alive: got %v, %v", ids, err)
	}
	if err := f.db.DeleteConnection(ctx, f.conn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Job(ctx, j.ID); err != nil {
		t.Fatalf("the job of a deleted connection: %v, want it readable", err)
	}
	if ids, err := f.db.PruneDeletedJobs(ctx, f.clock.Now().Add(-time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("prune before the job is old enough: got %v, %v", ids, err)
	}
	f.clock.Advance(2 * time.Hour)
	ids, err := f.db.PruneDeletedJobs(ctx, f.clock.Now().Add(-time.Hour))
	if err != nil || len(ids) != 1 || ids[0] != j.ID {
		t.Fatalf("prune: got %v, %v, want job %d", ids, err, j.ID)
	}
	if _, err := f.db.Job(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the pruned job: got %v, want ErrNotFound", err)
	}
	if got, _ := f.db.JobSamples(ctx, j.ID); len(got) != 0 {
		t.Errorf("the pruned job's samples remain: %+v", got)
	}
}

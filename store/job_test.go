package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCreateJobOneActive verifies G7 at the store: a second non-terminal
// job of a connection is a conflict, also when many goroutines race.
func TestCreateJobOneActive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerAPI)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Errorf("create job: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflicts != 7 {
		t.Fatalf("created %d, conflicts %d; want 1 and 7", created, conflicts)
	}
	// Another connection is independent.
	other := f.newConnection(t)
	if _, err := f.db.CreateJob(ctx, other.ID, JobReset, TriggerManual); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.CreateJob(ctx, "00000000-0000-4000-8000-000000000000", JobSync, TriggerManual)
	wantErr(t, err, ErrNotFound)
	_, err = f.db.CreateJob(ctx, f.conn.ID, "vacuum", TriggerManual)
	wantValidation(t, err, "jobType")
}

// TestUniqueIndexBackstop verifies that the partial unique index alone
// refuses a second active job, whatever the Go check does.
func TestUniqueIndexBackstop(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.execRaw(ctx, `INSERT INTO jobs (connection_id, type, status, trigger, created_at,
		updated_at) VALUES (?, 'sync', 'incomplete', 'manual', 'x', 'x')`, f.conn.ID)
	wantErr(t, wrapErr("insert", err), ErrConflict)
}

// TestCancelJob verifies cancelling a pending job at once, flagging a
// running one, and refusing a finished one.
func TestCancelJob(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	j, _ := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual)
	j, err := f.db.CancelJob(ctx, j.ID)
	if err != nil || j.Status != JobCancelled || j.EndedAt == nil {
		t.Fatalf("cancel pending: %+v, %v", j, err)
	}
	_, err = f.db.CancelJob(ctx, j.ID)
	wantErr(t, err, ErrConflict)
	_, err = f.db.CancelJob(ctx, 9999)
	wantErr(t, err, ErrNotFound)

	c := f.mustClaim(t)
	j, err = f.db.CancelJob(ctx, c.Job.ID)
	if err != nil || j.Status != JobRunning || !j.CancelRequested {
		t.Fatalf("cancel running: %+v, %v", j, err)
	}
	// A worker that still asks for a retry gets a cancelled job.
	j, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptCancelled,
		JobStatus: JobIncomplete})
	if err != nil || j.Status != JobCancelled || j.EndedAt == nil {
		t.Fatalf("finish cancelled: %+v, %v", j, err)
	}
}

// TestListJobs verifies the filters, newest-first order, paging and the
// total count.
func TestListJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := f.newConnection(t)
	start := f.clock.Now()
	var ids []int64
	for i := 0; i < 5; i++ {
		conn := f.conn.ID
		if i%2 == 1 {
			conn = other.ID
		}
		j, err := f.db.CreateJob(ctx, conn, JobSync, TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		if _, err := f.db.CancelJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	jobs, total, err := f.db.Jobs(ctx, JobFilter{ConnectionID: f.conn.ID, Page: Page{Limit: 2}})
	if err != nil || total != 3 || len(jobs) != 2 || jobs[0].ID != ids[4] || jobs[1].ID != ids[2] {
		t.Fatalf("by connection: %v of %d, %v", jobs, total, err)
	}
	from, to := start.Add(time.Minute), start.Add(3*time.Minute)
	jobs, total, _ = f.db.Jobs(ctx, JobFilter{CreatedFrom: &from, CreatedTo: &to})
	if total != 2 || jobs[0].ID != ids[2] || jobs[1].ID != ids[1] {
		t.Errorf("by created range: %v of %d", jobs, total)
	}
	if _, total, _ = f.db.Jobs(ctx, JobFilter{Status: JobCancelled, Type: JobSync}); total != 5 {
		t.Errorf("by status and type: %d, want 5", total)
	}
	if _, total, _ = f.db.Jobs(ctx, JobFilter{Status: JobRunning}); total != 0 {
		t.Errorf("running: %d, want 0", total)
	}
}

// TestLastJobsAndJobAttempts verifies the list pages' batch reads: the
// newest job of each connection named (none for a connection without
// jobs or not named), and each job's attempts in order.
func TestLastJobsAndJobAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, idle := f.newConnection(t), f.newConnection(t)
	newest := map[string]int64{}
	for i := 0; i < 4; i++ {
		conn := f.conn.ID
		if i%2 == 1 {
			conn = other.ID
		}
		j, err := f.db.CreateJob(ctx, conn, JobSync, TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		newest[conn] = j.ID
		if _, err := f.db.CancelJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	last, err := f.db.LastJobs(ctx, []string{f.conn.ID, other.ID, idle.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 2 || last[f.conn.ID].ID != newest[f.conn.ID] || last[other.ID].ID != newest[other.ID] {
		t.Fatalf("last jobs: %v, want ids %v", last, newest)
	}
	if last[f.conn.ID].ConnectionID != f.conn.ID || last[f.conn.ID].Status != JobCancelled {
		t.Errorf("last job of %s: %+v", f.conn.ID, last[f.conn.ID])
	}
	if none, err := f.db.LastJobs(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v, %v", none, err)
	}

	// Two attempts on one job, none on another.
	c := f.mustClaim(t)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		JobStatus: JobIncomplete}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	c2, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c2 == nil || c2.Job.ID != c.Job.ID {
		t.Fatalf("second claim: %+v, %v; want job %d", c2, err, c.Job.ID)
	}
	got, err := f.db.JobAttempts(ctx, []int64{c.Job.ID, newest[other.ID]})
	if err != nil {
		t.Fatal(err)
	}
	as := got[c.Job.ID]
	if len(got) != 1 || len(as) != 2 || as[0].Number != 1 || as[1].Number != 2 || as[0].JobID != c.Job.ID {
		t.Fatalf("attempts: %v", got)
	}
}

package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestAdvanceScheduleOnce: two schedulers that planned the same due run
// (a leader lease handed over mid-tick) race to advance it; exactly one
// creates the job, the other finds the run moved and writes nothing.
func TestAdvanceScheduleOnce(t *testing.T) {
	f := newFixture(t)
	other := f.openReplica(t)
	ctx := context.Background()
	c := f.newConnection(t, func(c *Connection) {
		c.Schedule = Schedule{Type: ScheduleCron, Cron: "* * * * *", Timezone: "UTC"}
	})
	if c.NextRunAt == nil {
		t.Fatal("cron connection without a next run")
	}
	prev := *c.NextRunAt
	next := prev.Add(time.Minute)
	var wg sync.WaitGroup
	jobs := make([]*Job, 2)
	errs := make([]error, 2)
	for i, db := range []*DB{f.db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs[i], errs[i] = db.AdvanceSchedule(ctx, c.ID, &prev, &next, true)
		}()
	}
	wg.Wait()
	created := 0
	for i := range jobs {
		switch {
		case errs[i] == nil && jobs[i] != nil:
			created++
		case errs[i] != nil:
			wantErr(t, errs[i], ErrScheduleMoved)
		}
	}
	if created != 1 {
		t.Fatalf("jobs created: %d (errors %v), want 1", created, errs)
	}
	got, err := f.db.Connection(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.NextRunAt == nil || !got.NextRunAt.Equal(next) {
		t.Fatalf("next run %v, want %v", got.NextRunAt, next)
	}
	// Busy: a second fire is a conflict and leaves the next run alone.
	later := next.Add(time.Minute)
	_, err = f.db.AdvanceSchedule(ctx, c.ID, &next, &later, true)
	wantErr(t, err, ErrConflict)
	got, _ = f.db.Connection(ctx, c.ID)
	if !got.NextRunAt.Equal(next) {
		t.Fatalf("a refused fire moved the next run to %v", got.NextRunAt)
	}
}

package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// fakeClock is a settable clock for the daemon and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// scheduledConnection creates a scripted connection with a schedule.
func scheduledConnection(t *testing.T, d *Daemon, s store.Schedule) *store.Connection {
	t.Helper()
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	conn.Schedule = s
	if err := d.db.UpdateConnection(context.Background(), conn); err != nil {
		t.Fatalf("set schedule: %v", err)
	}
	got, err := d.db.Connection(context.Background(), conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// jobsOf lists a connection's jobs, newest first.
func jobsOf(t *testing.T, d *Daemon, connID string) []*store.Job {
	t.Helper()
	js, _, err := d.db.Jobs(context.Background(), store.JobFilter{ConnectionID: connID})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func nextRun(t *testing.T, d *Daemon, connID string) time.Time {
	t.Helper()
	c, err := d.db.Connection(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	if c.NextRunAt == nil {
		t.Fatalf("connection %s has no next run", connID)
	}
	return *c.NextRunAt
}

// TestSchedulerInterval walks an hourly connection through a clock: not
// due, due (a scheduled job, next run an hour on), due while that job is
// still active (it waits, then is skipped once late), never overlapping.
func TestSchedulerInterval(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{Now: clock.Now})
	conn := scheduledConnection(t, d, store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 3600})
	ctx := context.Background()
	if got, want := nextRun(t, d, conn.ID), t0.Add(time.Hour); !got.Equal(want) {
		t.Fatalf("next run after create %s, want %s", got, want)
	}

	d.scheduleTick(ctx, t0.Add(30*time.Minute))
	if js := jobsOf(t, d, conn.ID); len(js) != 0 {
		t.Fatalf("jobs before the due time: %d, want 0", len(js))
	}

	d.scheduleTick(ctx, t0.Add(time.Hour+2*time.Second))
	js := jobsOf(t, d, conn.ID)
	if len(js) != 1 || js[0].Trigger != store.TriggerSchedule {
		t.Fatalf("jobs after the due time: %+v, want one scheduled job", js)
	}
	if got, want := nextRun(t, d, conn.ID), t0.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("next run %s, want %s", got, want)
	}

	// The job is still pending (nothing serves it): the next run waits...
	d.scheduleTick(ctx, t0.Add(2*time.Hour+10*time.Second))
	if got, want := nextRun(t, d, conn.ID), t0.Add(2*time.Hour); !got.Equal(want) || len(jobsOf(t, d, conn.ID)) != 1 {
		t.Errorf("busy and on time: next run %s, %d jobs; want %s and 1 job", got, len(jobsOf(t, d, conn.ID)), want)
	}
	// ...and is skipped once it is late.
	d.scheduleTick(ctx, t0.Add(2*time.Hour+5*time.Minute))
	if got, want := nextRun(t, d, conn.ID), t0.Add(3*time.Hour); !got.Equal(want) || len(jobsOf(t, d, conn.ID)) != 1 {
		t.Errorf("busy and late: next run %s, %d jobs; want %s and 1 job", got, len(jobsOf(t, d, conn.ID)), want)
	}
}

// TestSchedulerMissedRuns starts the scheduler five hours after a run was
// due, as after downtime: skip drops the missed runs, run_once runs one.
func TestSchedulerMissedRuns(t *testing.T) {
	for _, tc := range []struct {
		policy store.MissedRuns
		jobs   int
	}{
		{store.MissedSkip, 0},
		{store.MissedRunOnce, 1},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			t0 := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
			clock := &fakeClock{t: t0}
			d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{Now: clock.Now})
			conn := scheduledConnection(t, d, store.Schedule{Type: store.ScheduleCron, Cron: "0 * * * *", MissedRuns: tc.policy})
			later := t0.Add(5*time.Hour + 20*time.Minute)
			clock.Set(later)
			d.scheduleTick(context.Background(), later)
			if got := len(jobsOf(t, d, conn.ID)); got != tc.jobs {
				t.Errorf("jobs after downtime: %d, want %d", got, tc.jobs)
			}
			if got, want := nextRun(t, d, conn.ID), t0.Add(6*time.Hour); !got.Equal(want) {
				t.Errorf("next run %s, want %s", got, want)
			}
		})
	}
}

// TestSchedulerCronTimeZone checks that the stored next run of a cron
// schedule follows its time zone.
func TestSchedulerCronTimeZone(t *testing.T) {
	t0 := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{Now: clock.Now})
	conn := scheduledConnection(t, d, store.Schedule{Type: store.ScheduleCron, Cron: "30 9 * * *", Timezone: "America/New_York"})
	// 09:30 in New York in January is 14:30 UTC.
	if got, want := nextRun(t, d, conn.ID), time.Date(2025, 1, 15, 14, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next run %s, want %s", got, want)
	}
	due := time.Date(2025, 1, 15, 14, 30, 1, 0, time.UTC)
	d.scheduleTick(context.Background(), due)
	if got := len(jobsOf(t, d, conn.ID)); got != 1 {
		t.Errorf("jobs at the due time: %d, want 1", got)
	}
	if got, want := nextRun(t, d, conn.ID), time.Date(2025, 1, 16, 14, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next run %s, want %s", got, want)
	}
}

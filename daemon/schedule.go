package daemon

import (
	"time"

	"github.com/ferrysync/ferry/store"
)

// compiled is a connection's schedule, ready to compute run times. The
// store validates schedules when they are written; compile checks again,
// since a row may predate a rule. Cron run times come from
// store.Schedule.Next, the one implementation of the cron and daylight
// saving rules, so the store's first run and the scheduler's later ones
// agree.
type compiled struct {
	s        store.Schedule
	interval time.Duration
}

func compileSchedule(s store.Schedule) (*compiled, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	// Validate bounds the interval (store.MaxIntervalSeconds), so this
	// cannot overflow into a negative period that is due at every tick.
	return &compiled{s: s, interval: time.Duration(s.IntervalSeconds) * time.Second}, nil
}

// next returns the first run time strictly after now. prev is the run time
// that was due before (nil for a connection that never had one): interval
// schedules keep their phase from it, so a late tick does not make every
// later run late too. A connection with an interval schedule and no run yet
// is due at once, as Airbyte's basic schedules are. Manual schedules have
// no next run.
func (c *compiled) next(prev *time.Time, now time.Time) (time.Time, bool) {
	switch c.s.Type {
	case store.ScheduleInterval:
		if prev == nil {
			return now, true
		}
		t := prev.Add(c.interval)
		if !t.After(now) {
			k := now.Sub(*prev)/c.interval + 1
			t = prev.Add(k * c.interval)
		}
		return t, true
	case store.ScheduleCron:
		return c.s.Next(now)
	}
	return time.Time{}, false
}

// Plan is the scheduler's decision for one connection at one tick.
type Plan struct {
	// Fire: enqueue a scheduled job now.
	Fire bool
	// Next is the run time to store; nil clears it (manual schedule).
	Next *time.Time
	// Changed: Next differs from what was stored.
	Changed bool
	// Skipped: a due run was dropped under the skip policy.
	Skipped bool
	// SkippedRuns counts the runs dropped: the one due, and those that
	// fell due while it waited (a cron schedule's next run is planned
	// after now, so a late skip drops every tick in between).
	SkippedRuns int
}

// maxCountedRuns bounds the count of skipped runs after a long downtime.
const maxCountedRuns = 100000

// runsBetween counts the runs due at from and after it, before until.
func (c *compiled) runsBetween(from time.Time, until *time.Time) int {
	if until == nil {
		return 1
	}
	n := 0
	for t := from; t.Before(*until) && n < maxCountedRuns; n++ {
		next, ok := c.next(&t, t)
		if !ok || !next.After(t) {
			return n + 1
		}
		t = next
	}
	return n
}

// plan decides what to do with a connection at now. stored is its stored
// next run time, busy whether it has an active job. Runs never overlap: a
// due run waits while the connection is busy, up to missedAfter; then it
// counts as missed, like a run the daemon was down for. A missed run is
// dropped (skip) or kept pending until it can start, collapsing with any
// later missed runs into one (run_once).
func (c *compiled) plan(stored *time.Time, now time.Time, missedAfter time.Duration, busy bool) Plan {
	if c.s.Type == store.ScheduleManual {
		return Plan{Changed: stored != nil}
	}
	if stored == nil {
		n, ok := c.next(nil, now)
		if !ok {
			return Plan{}
		}
		if !n.After(now) && !busy {
			// Interval schedules start at once; compute the run after.
			following, _ := c.next(&n, now)
			return Plan{Fire: true, Next: &following, Changed: true}
		}
		return Plan{Next: &n, Changed: true}
	}
	if now.Before(*stored) {
		return Plan{Next: stored}
	}
	late := now.Sub(*stored) > missedAfter
	runOnce := c.s.MissedRuns == store.MissedRunOnce
	following, ok := c.next(stored, now)
	var nextPtr *time.Time
	if ok {
		nextPtr = &following
	}
	switch {
	case busy && !late:
		return Plan{Next: stored} // wait for the running job a little
	case busy && runOnce:
		return Plan{Next: stored} // stays due until the connection is free
	case busy, late && !runOnce:
		return Plan{Next: nextPtr, Changed: true, Skipped: true, SkippedRuns: c.runsBetween(*stored, nextPtr)}
	}
	return Plan{Fire: true, Next: nextPtr, Changed: true}
}

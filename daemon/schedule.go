package daemon

import (
	"fmt"
	"time"
	_ "time/tzdata" // zones must resolve in a FROM scratch image, which has no zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/ferrysync/ferry/store"
)

// compiled is a connection's schedule, ready to compute run times. The
// store validates schedules when they are written; compile only turns
// them into something fast to evaluate on every tick.
type compiled struct {
	s        store.Schedule
	interval time.Duration
	cron     cron.Schedule
	loc      *time.Location
}

// cronParser reads the expressions store.Schedule.Validate accepts:
// standard 5-field expressions and descriptors such as @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func compileSchedule(s store.Schedule) (*compiled, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &compiled{s: s, loc: time.UTC, interval: time.Duration(s.IntervalSeconds) * time.Second}
	if s.Type == store.ScheduleCron {
		sched, err := cronParser.Parse(s.Cron)
		if err != nil {
			return nil, fmt.Errorf("schedule.cronExpression: %w", err)
		}
		c.cron = sched
		if s.Timezone != "" {
			loc, err := time.LoadLocation(s.Timezone)
			if err != nil {
				return nil, fmt.Errorf("schedule.timezone: %w", err)
			}
			c.loc = loc
		}
	}
	return c, nil
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
		return c.nextCron(now)
	}
	return time.Time{}, false
}

// nextCron is the cron run time after now, read in the schedule's zone
// with cron(8)'s rules for daylight saving changes. The parser's own Next
// follows the wall clock blindly: a daily "30 2 * * *" would be skipped on
// the day the clocks jump over 02:30, and a daily "30 1 * * *" would run
// twice on the day they pass 01:30 twice. So, for schedules at fixed hours
// (the hour field is not *): a run whose wall time is skipped happens when
// the clocks jump, and a wall time that repeats runs only the first time.
// Schedules at every hour keep to the real hours.
func (c *compiled) nextCron(now time.Time) (time.Time, bool) {
	now = now.In(c.loc)
	t := c.cron.Next(now)
	fixed := c.fixedHours()
	// A repeated hour is at most a few hours long; the bound only guards
	// against a zone database that never ends one.
	for i := 0; fixed && !t.IsZero() && repeatedWallTime(t) && i < 16; i++ {
		t = c.cron.Next(t)
	}
	if t.IsZero() { // an expression that never matches, e.g. 30 Feb
		return time.Time{}, false
	}
	if fixed {
		if g, ok := c.gapRun(now, t); ok {
			t = g
		}
	}
	return t.UTC(), true
}

// fixedHours reports whether the schedule runs at fixed hours, not at
// every hour.
func (c *compiled) fixedHours() bool {
	const starBit = 1 << 63 // the parser's mark of a * field
	spec, ok := c.cron.(*cron.SpecSchedule)
	return ok && spec.Hour&starBit == 0
}

// repeatedWallTime reports whether t's wall clock time already happened
// earlier, just before the clocks were set back.
func repeatedWallTime(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, off := t.Zone()
	_, before := start.Add(-time.Nanosecond).Zone()
	back := time.Duration(before-off) * time.Second
	return back > 0 && t.Sub(start) < back
}

// gapRun returns the instant the clocks jump forward when that happens
// after now and no later than t, the next regular run, and the schedule
// matches a wall time the jump skips.
func (c *compiled) gapRun(now, t time.Time) (time.Time, bool) {
	_, end := now.ZoneBounds()
	if end.IsZero() || !end.After(now) || end.After(t) {
		return time.Time{}, false
	}
	_, before := now.Zone()
	_, after := end.Zone()
	gap := time.Duration(after-before) * time.Second
	if gap <= 0 {
		return time.Time{}, false
	}
	// Read the skipped wall times on a clock that did not jump.
	fixed := time.FixedZone("", before)
	from := end.In(fixed)
	m := c.cron.Next(from.Add(-time.Second))
	if m.IsZero() || !m.Before(from.Add(gap)) {
		return time.Time{}, false
	}
	return end, true
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
		return Plan{Next: nextPtr, Changed: true, Skipped: true}
	}
	return Plan{Fire: true, Next: nextPtr, Changed: true}
}

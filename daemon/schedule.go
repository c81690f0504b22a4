package daemon

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones must resolve in a FROM scratch image, which has no zoneinfo

	"github.com/robfig/cron/v3"
)

// Schedule types.
const (
	ScheduleManual   = "manual"
	ScheduleInterval = "interval"
	ScheduleCron     = "cron"
)

// Missed-run policies.
const (
	MissedSkip    = "skip"
	MissedRunOnce = "run_once"
)

// Schedule says when a connection syncs on its own.
type Schedule struct {
	// Type is manual, interval or cron.
	Type string
	// Interval is the period of an interval schedule (at least a minute).
	Interval time.Duration
	// Cron is a 5-field cron expression (minute hour day-of-month month
	// day-of-week), or a descriptor such as @hourly.
	Cron string
	// TimeZone is the IANA zone the cron expression is read in; empty
	// means UTC.
	TimeZone string
	// Missed is what happens to a run that could not start on time (the
	// daemon was down, or the connection still busy): skip, or run_once
	// (any number of missed runs become one run as soon as possible).
	Missed string
}

// cronParser reads standard 5-field expressions and descriptors. Seconds
// are not accepted: a sync every few seconds is a loop, not a schedule.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MinInterval is the shortest interval schedule.
const MinInterval = time.Minute

// compiled is a validated schedule, ready to compute run times.
type compiled struct {
	s    Schedule
	cron cron.Schedule
	loc  *time.Location
}

// Validate checks s. Its error names the field that is wrong, in the API's
// spelling.
func (s Schedule) Validate() error {
	_, err := s.compile()
	return err
}

// NextRun returns the first run time after now, for display; false for a
// manual schedule or an expression that never matches.
func (s Schedule) NextRun(now time.Time) (time.Time, bool, error) {
	c, err := s.compile()
	if err != nil {
		return time.Time{}, false, err
	}
	if s.Type == ScheduleInterval {
		t := now.Add(s.Interval)
		return t, true, nil
	}
	t, ok := c.next(nil, now)
	return t, ok, nil
}

func (s Schedule) compile() (*compiled, error) {
	c := &compiled{s: s, loc: time.UTC}
	switch s.Missed {
	case "", MissedSkip, MissedRunOnce:
	default:
		return nil, fmt.Errorf("schedule.missedRuns: %q, want skip or run_once", s.Missed)
	}
	switch s.Type {
	case ScheduleManual:
	case ScheduleInterval:
		if s.Interval < MinInterval {
			return nil, fmt.Errorf("schedule.interval: %s, want at least %s", s.Interval, MinInterval)
		}
	case ScheduleCron:
		expr := strings.TrimSpace(s.Cron)
		if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
			return nil, errors.New("schedule.cron: set the time zone in schedule.timeZone, not in the expression")
		}
		if expr == "" {
			return nil, errors.New("schedule.cron: is required for a cron schedule")
		}
		sched, err := cronParser.Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("schedule.cron: %v", err)
		}
		if s.TimeZone != "" {
			loc, err := time.LoadLocation(s.TimeZone)
			if err != nil {
				return nil, fmt.Errorf("schedule.timeZone: unknown time zone %q", s.TimeZone)
			}
			c.loc = loc
		}
		c.cron = sched
	default:
		return nil, fmt.Errorf("schedule.type: %q, want manual, interval or cron", s.Type)
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
	case ScheduleInterval:
		if prev == nil {
			return now, true
		}
		t := prev.Add(c.s.Interval)
		if !t.After(now) {
			k := now.Sub(*prev)/c.s.Interval + 1
			t = prev.Add(k * c.s.Interval)
		}
		return t, true
	case ScheduleCron:
		t := c.cron.Next(now.In(c.loc))
		if t.IsZero() { // an expression that never matches, e.g. 30 Feb
			return time.Time{}, false
		}
		return t.UTC(), true
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
}

// plan decides what to do with a connection at now. stored is its stored
// next run time, busy whether it has an active job. Runs never overlap: a
// due run waits while the connection is busy, up to missedAfter; then it
// counts as missed, like a run the daemon was down for. A missed run is
// dropped (skip) or kept pending until it can start, collapsing with any
// later missed runs into one (run_once).
func (c *compiled) plan(stored *time.Time, now time.Time, missedAfter time.Duration, busy bool) Plan {
	if c.s.Type == ScheduleManual {
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
	runOnce := c.s.Missed == MissedRunOnce
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

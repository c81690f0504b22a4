package store

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve in a FROM scratch image

	"github.com/robfig/cron/v3"
)

// ScheduleType is how a connection's syncs are triggered.
type ScheduleType string

// Schedule types.
const (
	ScheduleManual   ScheduleType = "manual"
	ScheduleInterval ScheduleType = "interval"
	ScheduleCron     ScheduleType = "cron"
)

// MissedRuns says what the scheduler does with runs missed while Ferry was
// down: skip them, or run once now.
type MissedRuns string

// Missed-run policies.
const (
	MissedSkip    MissedRuns = "skip"
	MissedRunOnce MissedRuns = "run_once"
)

// Schedule is a connection's schedule.
type Schedule struct {
	Type ScheduleType
	// IntervalSeconds is the period of an interval schedule, at most
	// MaxIntervalSeconds.
	IntervalSeconds int64
	// Cron is a cron expression in one of two forms, kept as the user
	// wrote it: 5-field Unix (minute hour day-of-month month day-of-week,
	// or a descriptor such as "@daily"), or Quartz, the form Airbyte's
	// API takes (6 or 7 fields, from seconds to an optional year; see
	// quartz.go).
	Cron string
	// Timezone is an IANA zone name for cron schedules; empty means UTC.
	Timezone string
	// MissedRuns defaults to skip.
	MissedRuns MissedRuns
}

// MaxIntervalSeconds bounds an interval schedule's period: ten years.
// Without a bound a huge period overflows time.Duration, and the
// overflowed (negative) period made the connection run at every tick.
const MaxIntervalSeconds = 10 * 365 * 24 * 3600

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronSchedule is a parsed expression of either form: robfig's
// SpecSchedule for Unix ones, quartzSchedule for Quartz ones. Next reads
// the wall clock of the time it is given.
type cronSchedule interface {
	Next(time.Time) time.Time
}

// parseCron parses a cron expression of either form, told apart by the
// number of fields.
func parseCron(expr string) (cronSchedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		return cronParser.Parse(expr)
	}
	switch n := len(strings.Fields(expr)); n {
	case 5:
		return cronParser.Parse(expr)
	case 6, 7:
		return parseQuartz(expr)
	default:
		return nil, fmt.Errorf("got %d fields; want 5 (Unix: minute hour day-of-month month day-of-week) "+
			"or 6 to 7 (Quartz: seconds minutes hours day-of-month month day-of-week [year])", n)
	}
}

// validationNow is the clock Validate checks "fires at all" against.
var validationNow = time.Now

// withDefaults fills in the zero fields.
func (s Schedule) withDefaults() Schedule {
	if s.Type == "" {
		s.Type = ScheduleManual
	}
	if s.MissedRuns == "" {
		s.MissedRuns = MissedSkip
	}
	return s
}

// Validate checks the schedule. It returns a *ValidationError. A cron
// expression must parse and must fire within searchYears of now: "* * 31
// 2 *" (February 31st) parses, and would never run.
func (s Schedule) Validate() error {
	s = s.withDefaults()
	switch s.MissedRuns {
	case MissedSkip, MissedRunOnce:
	default:
		return invalid("schedule.missedRuns", "must be skip or run_once")
	}
	switch s.Type {
	case ScheduleManual:
		if s.IntervalSeconds != 0 || s.Cron != "" {
			return invalid("schedule", "a manual schedule takes no interval or cron expression")
		}
	case ScheduleInterval:
		if s.IntervalSeconds <= 0 || s.IntervalSeconds > MaxIntervalSeconds {
			return invalid("schedule.intervalSeconds", "is %d, want 1 to %d (ten years)", s.IntervalSeconds, MaxIntervalSeconds)
		}
		if s.Cron != "" {
			return invalid("schedule.cronExpression", "is only for cron schedules")
		}
	case ScheduleCron:
		if s.IntervalSeconds != 0 {
			return invalid("schedule.intervalSeconds", "is only for interval schedules")
		}
		if err := s.validateCron(); err != nil {
			return err
		}
	default:
		return invalid("schedule.scheduleType", "must be manual, interval or cron")
	}
	if _, err := s.location(); err != nil {
		return invalid("schedule.timezone", "unknown time zone %q", s.Timezone)
	}
	return nil
}

func (s Schedule) validateCron() error {
	sched, err := parseCron(s.Cron)
	if err != nil {
		return invalid("schedule.cronExpression", "%q: %v", s.Cron, err)
	}
	loc, err := s.location()
	if err != nil {
		return invalid("schedule.timezone", "unknown time zone %q", s.Timezone)
	}
	if sched.Next(validationNow().In(loc)).IsZero() {
		return invalid("schedule.cronExpression", "%q never fires in the next %d years (a date that does not exist, such as February 31, or only past years)",
			s.Cron, searchYears)
	}
	return nil
}

func (s Schedule) location() (*time.Location, error) {
	if s.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(s.Timezone)
}

// Next returns the first run time strictly after t, and false for a manual
// or invalid schedule. Cron expressions are read in the schedule's time
// zone, so "0 9 * * *" in Europe/Paris follows daylight saving time, with
// cron(8)'s rules for the changes (see nextCron). This is the one place
// run times are computed: the store uses it for a new connection's first
// run and the scheduler for every later one.
func (s Schedule) Next(t time.Time) (time.Time, bool) {
	switch s.Type {
	case ScheduleInterval:
		if s.IntervalSeconds <= 0 {
			return time.Time{}, false
		}
		return t.Add(time.Duration(s.IntervalSeconds) * time.Second).UTC(), true
	case ScheduleCron:
		sched, err := parseCron(s.Cron)
		if err != nil {
			return time.Time{}, false
		}
		loc, err := s.location()
		if err != nil {
			return time.Time{}, false
		}
		return nextCron(sched, t.In(loc))
	}
	return time.Time{}, false
}

// nextCron is the run time of sched after now, read in now's zone with
// cron(8)'s rules for daylight saving changes. The parser's own Next
// follows the wall clock blindly: a daily "30 2 * * *" would be skipped on
// the day the clocks jump over 02:30, and a daily "30 1 * * *" would run
// twice on the day they pass 01:30 twice. So, for schedules at fixed hours
// (the hour field is not *): a run whose wall time is skipped happens when
// the clocks jump, and a wall time that repeats runs only the first time.
// Schedules at every hour keep to the real hours.
func nextCron(sched cronSchedule, now time.Time) (time.Time, bool) {
	t := sched.Next(now)
	fixed := fixedHours(sched)
	// A repeated hour is at most a few hours long; the bound only guards
	// against a zone database that never ends one.
	for i := 0; fixed && !t.IsZero() && repeatedWallTime(t) && i < 16; i++ {
		t = sched.Next(t)
	}
	if t.IsZero() { // an expression that never matches, e.g. 30 Feb
		return time.Time{}, false
	}
	if fixed {
		if g, ok := gapRun(sched, now, t); ok {
			t = g
		}
	}
	return t.UTC(), true
}

// fixedHours reports whether the schedule runs at fixed hours, not at
// every hour.
func fixedHours(sched cronSchedule) bool {
	const starBit = 1 << 63 // the parser's mark of a * field
	switch s := sched.(type) {
	case *cron.SpecSchedule:
		return s.Hour&starBit == 0
	case *quartzSchedule:
		return !s.hourStar
	}
	return false
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
func gapRun(sched cronSchedule, now, t time.Time) (time.Time, bool) {
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
	m := sched.Next(from.Add(-time.Second))
	if m.IsZero() || !m.Before(from.Add(gap)) {
		return time.Time{}, false
	}
	return end, true
}

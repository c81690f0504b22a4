package store

import (
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
	// IntervalSeconds is the period of an interval schedule.
	IntervalSeconds int64
	// Cron is a 5-field cron expression (minute hour day-of-month month
	// day-of-week), or a descriptor such as "@daily".
	Cron string
	// Timezone is an IANA zone name for cron schedules; empty means UTC.
	Timezone string
	// MissedRuns defaults to skip.
	MissedRuns MissedRuns
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

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

// Validate checks the schedule. It returns a *ValidationError.
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
		if s.IntervalSeconds <= 0 {
			return invalid("schedule.intervalSeconds", "must be positive")
		}
		if s.Cron != "" {
			return invalid("schedule.cronExpression", "is only for cron schedules")
		}
	case ScheduleCron:
		if s.IntervalSeconds != 0 {
			return invalid("schedule.intervalSeconds", "is only for interval schedules")
		}
		if _, err := cronParser.Parse(s.Cron); err != nil {
			return invalid("schedule.cronExpression", "%v", err)
		}
	default:
		return invalid("schedule.scheduleType", "must be manual, interval or cron")
	}
	if _, err := s.location(); err != nil {
		return invalid("schedule.timezone", "unknown time zone %q", s.Timezone)
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
// zone, so "0 9 * * *" in Europe/Paris follows daylight saving time.
func (s Schedule) Next(t time.Time) (time.Time, bool) {
	switch s.Type {
	case ScheduleInterval:
		if s.IntervalSeconds <= 0 {
			return time.Time{}, false
		}
		return t.Add(time.Duration(s.IntervalSeconds) * time.Second).UTC(), true
	case ScheduleCron:
		sched, err := cronParser.Parse(s.Cron)
		if err != nil {
			return time.Time{}, false
		}
		loc, err := s.location()
		if err != nil {
			return time.Time{}, false
		}
		next := sched.Next(t.In(loc))
		if next.IsZero() {
			return time.Time{}, false
		}
		return next.UTC(), true
	}
	return time.Time{}, false
}

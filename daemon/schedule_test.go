package daemon

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustCompile(t *testing.T, s store.Schedule) *compiled {
	t.Helper()
	c, err := compileSchedule(s)
	if err != nil {
		t.Fatalf("compile %+v: %v", s, err)
	}
	return c
}

// TestCronTimeZone checks that a cron expression is read in its zone,
// across a daylight saving change (Paris moved to UTC+2 on 2025-03-30).
func TestCronTimeZone(t *testing.T) {
	c := mustCompile(t, store.Schedule{Type: store.ScheduleCron, Cron: "0 9 * * *", Timezone: "Europe/Paris"})
	for _, tc := range []struct{ now, want string }{
		{"2025-03-28T12:00:00Z", "2025-03-29T08:00:00Z"}, // 09:00 CET
		{"2025-03-29T12:00:00Z", "2025-03-30T07:00:00Z"}, // 09:00 CEST
	} {
		got, ok := c.next(nil, mustTime(t, tc.now))
		if !ok || !got.Equal(mustTime(t, tc.want)) {
			t.Errorf("next after %s = %s (%v), want %s", tc.now, got, ok, tc.want)
		}
	}
}

// TestIntervalKeepsPhase checks that interval runs stay on their grid when
// the scheduler is late.
func TestIntervalKeepsPhase(t *testing.T) {
	c := mustCompile(t, store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 3600})
	prev := mustTime(t, "2025-01-01T10:00:00Z")
	for _, tc := range []struct{ now, want string }{
		{"2025-01-01T10:00:07Z", "2025-01-01T11:00:00Z"},
		{"2025-01-01T13:30:00Z", "2025-01-01T14:00:00Z"},
		{"2025-01-01T14:00:00Z", "2025-01-01T15:00:00Z"},
	} {
		got, _ := c.next(&prev, mustTime(t, tc.now))
		if !got.Equal(mustTime(t, tc.want)) {
			t.Errorf("next(prev 10:00, now %s) = %s, want %s", tc.now, got, tc.want)
		}
	}
}

// TestPlan walks the scheduler's decision through its cases.
func TestPlan(t *testing.T) {
	hourly := store.Schedule{Type: store.ScheduleCron, Cron: "0 * * * *"}
	hourlyOnce := hourly
	hourlyOnce.MissedRuns = store.MissedRunOnce
	due := mustTime(t, "2025-01-01T10:00:00Z")
	ptr := func(s string) *time.Time { v := mustTime(t, s); return &v }
	for _, tc := range []struct {
		name    string
		s       store.Schedule
		stored  *time.Time
		now     string
		busy    bool
		fire    bool
		skipped bool
		next    *time.Time
	}{
		{"not due yet", hourly, &due, "2025-01-01T09:59:59Z", false, false, false, &due},
		{"due on time", hourly, &due, "2025-01-01T10:00:03Z", false, true, false, ptr("2025-01-01T11:00:00Z")},
		{"first plan of a cron schedule", hourly, nil, "2025-01-01T10:20:00Z", false, false, false, ptr("2025-01-01T11:00:00Z")},
		{"first plan of an interval schedule fires", store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 3600}, nil, "2025-01-01T10:20:00Z", false, true, false, ptr("2025-01-01T11:20:00Z")},
		{"busy and on time waits", hourly, &due, "2025-01-01T10:00:30Z", true, false, false, &due},
		{"busy and late is skipped", hourly, &due, "2025-01-01T10:05:00Z", true, false, true, ptr("2025-01-01T11:00:00Z")},
		{"busy and late under run_once stays due", hourlyOnce, &due, "2025-01-01T10:05:00Z", true, false, false, &due},
		{"down for hours, skip", hourly, &due, "2025-01-01T13:30:00Z", false, false, true, ptr("2025-01-01T14:00:00Z")},
		{"down for hours, run once", hourlyOnce, &due, "2025-01-01T13:30:00Z", false, true, false, ptr("2025-01-01T14:00:00Z")},
		{"manual clears a stored time", store.Schedule{Type: store.ScheduleManual}, &due, "2025-01-01T13:30:00Z", false, false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, tc.s)
			p := c.plan(tc.stored, mustTime(t, tc.now), time.Minute, tc.busy)
			if p.Fire != tc.fire || p.Skipped != tc.skipped {
				t.Errorf("plan: fire %v skipped %v, want fire %v skipped %v", p.Fire, p.Skipped, tc.fire, tc.skipped)
			}
			switch {
			case (p.Next == nil) != (tc.next == nil):
				t.Errorf("plan: next %v, want %v", p.Next, tc.next)
			case p.Next != nil && !p.Next.Equal(*tc.next):
				t.Errorf("plan: next %s, want %s", p.Next, tc.next)
			}
		})
	}
}

// TestCronDaylightSavingChanges walks fixed-time and hourly cron schedules
// through both daylight saving changes of New York in 2024 (clocks went
// from 02:00 EST to 03:00 EDT on March 10, and from 02:00 EDT back to
// 01:00 EST on November 3). As in cron(8), a run at a fixed time happens
// once a day: a time the spring change skips runs when the clocks jump,
// and a time the autumn change repeats runs only the first time. Runs at
// every hour keep to the real hours.
func TestCronDaylightSavingChanges(t *testing.T) {
	for _, tc := range []struct {
		cron, from string
		want       []string
	}{
		// 02:30 does not exist on March 10: it runs at 03:00 EDT.
		{"30 2 * * *", "2024-03-09T12:00:00Z", []string{
			"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"}},
		// 01:30 happens twice on November 3: it runs at 01:30 EDT only.
		{"30 1 * * *", "2024-11-02T12:00:00Z", []string{
			"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z", "2024-11-05T06:30:00Z"}},
		// Hourly runs follow the clock's real hours: none in the gap,
		// both 01:00s in the repeat.
		{"0 * * * *", "2024-03-10T05:30:00Z", []string{"2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"}},
		{"0 * * * *", "2024-11-03T04:30:00Z", []string{"2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"}},
	} {
		c := mustCompile(t, store.Schedule{Type: store.ScheduleCron, Cron: tc.cron, Timezone: "America/New_York"})
		now := mustTime(t, tc.from)
		var got []string
		for range tc.want {
			n, ok := c.next(&now, now)
			if !ok {
				t.Fatalf("%s: no next run after %s", tc.cron, now)
			}
			got = append(got, n.UTC().Format(time.RFC3339))
			now = n
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s from %s: runs %v, want %v", tc.cron, tc.from, got, tc.want)
		}
	}
}

// TestCompileRefusesOverflowAndNever checks issue 18's two schedules: an
// interval of 2^63-1 seconds (which overflowed into a run at every tick)
// and a cron expression that never fires are refused, naming the field.
func TestCompileRefusesOverflowAndNever(t *testing.T) {
	for _, tc := range []struct {
		s     store.Schedule
		field string
	}{
		{store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 9223372036854775807}, "schedule.intervalSeconds"},
		{store.Schedule{Type: store.ScheduleCron, Cron: "* * 31 2 *"}, "schedule.cronExpression"},
		{store.Schedule{Type: store.ScheduleCron, Cron: "0 0 12 31 2 ?"}, "schedule.cronExpression"},
	} {
		_, err := compileSchedule(tc.s)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%+v: got %v, want a validation error on %s", tc.s, err, tc.field)
		}
	}
}

// TestPlanQuartz checks that the scheduler plans a Quartz schedule in its
// zone: Airbyte's "0 0 12 * * ?" at noon in New York.
func TestPlanQuartz(t *testing.T) {
	c := mustCompile(t, store.Schedule{Type: store.ScheduleCron, Cron: "0 0 12 * * ?", Timezone: "America/New_York"})
	p := c.plan(nil, mustTime(t, "2025-01-01T18:00:00Z"), time.Minute, false)
	if p.Fire || p.Next == nil || !p.Next.Equal(mustTime(t, "2025-01-02T17:00:00Z")) {
		t.Fatalf("first plan: got %+v, want no run now and the next at 17:00Z", p)
	}
	p = c.plan(p.Next, mustTime(t, "2025-01-02T17:00:04Z"), time.Minute, false)
	if !p.Fire || p.Next == nil || !p.Next.Equal(mustTime(t, "2025-01-03T17:00:00Z")) {
		t.Fatalf("due: got %+v, want a run now and the next a day later", p)
	}
}

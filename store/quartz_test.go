package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestQuartzNext checks Quartz run times in UTC against fire times worked
// out by hand from a calendar (the comments say why each is right).
func TestQuartzNext(t *testing.T) {
	for _, tc := range []struct {
		expr, after, want string
	}{
		{"0 0 12 * * ?", "2025-01-01T10:00:00Z", "2025-01-01T12:00:00Z"},
		{"0 0 12 * * ?", "2025-01-01T12:00:00Z", "2025-01-02T12:00:00Z"}, // strictly after
		{"*/20 * * * * ?", "2025-01-01T10:00:05Z", "2025-01-01T10:00:20Z"},
		{"5/20 * * * * ?", "2025-01-01T10:00:45Z", "2025-01-01T10:01:05Z"}, // 5, 25, 45, then the next minute
		{"0 0/15 9-17 * * ?", "2025-01-01T17:50:00Z", "2025-01-02T09:00:00Z"},
		{"0 0 22-2 * * ?", "2025-01-01T02:30:00Z", "2025-01-01T22:00:00Z"},      // a range that wraps past midnight
		{"0 15 10 ? * MON-FRI", "2025-01-03T11:00:00Z", "2025-01-06T10:15:00Z"}, // Fri Jan 3 -> Mon Jan 6
		{"0 0 12 ? * FRI-MON", "2025-01-07T00:00:00Z", "2025-01-10T12:00:00Z"},  // Tue -> Fri
		{"0 0 12 ? * 1", "2025-01-01T00:00:00Z", "2025-01-05T12:00:00Z"},        // 1 is Sunday in Quartz
		{"0 0 12 ? * 7", "2025-01-01T00:00:00Z", "2025-01-04T12:00:00Z"},        // 7 is Saturday
		{"0 0 12 ? * L", "2025-01-01T00:00:00Z", "2025-01-04T12:00:00Z"},        // L alone: the last day of the week
		{"0 0 12 ? * sun,wed", "2025-01-02T00:00:00Z", "2025-01-05T12:00:00Z"},  // names in any case
		{"0 0 0 L * ?", "2024-02-10T00:00:00Z", "2024-02-29T00:00:00Z"},         // leap year
		{"0 0 0 L * ?", "2023-02-10T00:00:00Z", "2023-02-28T00:00:00Z"},
		{"0 0 0 L-2 * ?", "2024-03-01T00:00:00Z", "2024-03-29T00:00:00Z"},
		{"0 0 0 LW * ?", "2025-08-01T00:00:00Z", "2025-08-29T00:00:00Z"},     // Aug 31 is a Sunday
		{"0 0 0 LW * ?", "2025-05-01T00:00:00Z", "2025-05-30T00:00:00Z"},     // May 31 is a Saturday
		{"0 0 0 LW * ?", "2025-04-01T00:00:00Z", "2025-04-30T00:00:00Z"},     // Apr 30 is a Wednesday
		{"0 0 0 15W * ?", "2025-02-01T00:00:00Z", "2025-02-14T00:00:00Z"},    // Sat 15th -> Fri 14th
		{"0 0 0 15W * ?", "2025-06-01T00:00:00Z", "2025-06-16T00:00:00Z"},    // Sun 15th -> Mon 16th
		{"0 0 0 15W * ?", "2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z"},    // a Wednesday stays
		{"0 0 0 1W * ?", "2025-01-31T00:00:00Z", "2025-02-03T00:00:00Z"},     // Sat 1st -> Mon 3rd, not into January
		{"0 0 0 31W * ?", "2025-04-01T00:00:00Z", "2025-05-30T00:00:00Z"},    // no 31 April; Sat May 31 -> Fri 30th
		{"0 0 10 ? * 6#3", "2025-01-01T00:00:00Z", "2025-01-17T10:00:00Z"},   // third Friday: 3, 10, 17
		{"0 0 10 ? * 6#3", "2025-01-17T10:00:00Z", "2025-02-21T10:00:00Z"},   // 7, 14, 21
		{"0 0 10 ? * FRI#5", "2025-02-01T00:00:00Z", "2025-05-30T10:00:00Z"}, // no fifth Friday in Feb-Apr 2025
		{"0 0 10 ? * 6L", "2025-01-01T00:00:00Z", "2025-01-31T10:00:00Z"},    // last Friday
		{"0 0 10 ? * 6L", "2025-01-31T10:00:00Z", "2025-02-28T10:00:00Z"},
		{"0 0 12 29 2 ?", "2025-03-01T00:00:00Z", "2028-02-29T12:00:00Z"},
		{"0 0 12 29 2 ?", "1997-01-01T00:00:00Z", "2000-02-29T12:00:00Z"}, // 2000 is a leap year
		{"0 0 0 1 1 ? 2030", "2025-06-01T00:00:00Z", "2030-01-01T00:00:00Z"},
		{"0 0 0 1 1 ? 2026-2028/2", "2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z"},
		{"0 0 0 31 * ?", "2025-04-01T00:00:00Z", "2025-05-31T00:00:00Z"},
		{"0 0 12 1 JAN,jul ?", "2025-02-01T00:00:00Z", "2025-07-01T12:00:00Z"},
		{"0 0 12 1 NOV-FEB ?", "2025-03-01T00:00:00Z", "2025-11-01T12:00:00Z"},
	} {
		q, err := parseQuartz(tc.expr)
		if err != nil {
			t.Errorf("parse %q: %v", tc.expr, err)
			continue
		}
		got := q.Next(mustParseTime(t, tc.after))
		if want := mustParseTime(t, tc.want); !got.Equal(want) {
			t.Errorf("%q after %s: got %s, want %s", tc.expr, tc.after, got.UTC().Format(time.RFC3339), tc.want)
		}
	}
}

// TestQuartzNever checks that expressions with no run time say so (a
// zero time) instead of looping or inventing one.
func TestQuartzNever(t *testing.T) {
	after := mustParseTime(t, "2025-01-01T00:00:00Z")
	for _, expr := range []string{"0 0 0 31 2 ?", "0 0 0 30 2 ?", "0 0 0 1 1 ? 2000", "0 0 0 31 4,6,9,11 ?"} {
		q, err := parseQuartz(expr)
		if err != nil {
			t.Fatalf("parse %q: %v", expr, err)
		}
		if got := q.Next(after); !got.IsZero() {
			t.Errorf("%q: got %s, want no run time", expr, got)
		}
	}
}

// TestQuartzParseErrors checks that each malformed expression is refused
// with a message naming the field at fault.
func TestQuartzParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"0 0 12 * *", "6 or 7 fields"},
		{"0 0 12 * * *", "exactly one of them must be ?"},
		{"0 0 12 ? * ?", "exactly one of them must be ?"},
		{"60 0 12 * * ?", "seconds: 60 is out of range 0-59"},
		{"0 60 12 * * ?", "minutes: 60 is out of range"},
		{"0 0 24 * * ?", "hours: 24 is out of range"},
		{"0 0 12 32 * ?", "day-of-month: 32 is out of range 1-31"},
		{"0 0 12 0 * ?", "day-of-month: 0 is out of range"},
		{"0 0 12 * 13 ?", "month: 13 is out of range 1-12"},
		{"0 0 12 ? * 0", "day-of-week: 0 is out of range 1-7 (1 = SUN to 7 = SAT"},
		{"0 0 12 ? * 8", "day-of-week: 8 is out of range"},
		{"0 0 12 ? * XYZ", `day-of-week: "XYZ" is not a number`},
		{"0 0 12 * * ? 1969", "year: 1969 is out of range 1970-2099"},
		{"0 0 12 * * ? 2100", "year: 2100 is out of range"},
		{"0 0 12 ? * 6#6", "the k of n#k must be 1 to 5"},
		{"0 0 12 ? * 6#0", "the k of n#k must be 1 to 5"},
		{"0 0 12 ? * 9L", "day-of-week: 9 is out of range"},
		{"0 0 12 L-31 * ?", "must be 0 to 30"},
		{"0 0 12 32W * ?", "W takes one day"},
		{"0 0 12 1,15W * ?", "W takes one day"},
		{"0 0 12 1,L * ?", "L and W stand alone"},
		{"*/0 0 12 * * ?", "seconds: \"*/0\": the step after / must be 1 to 60"},
		{"0 0 12/x * * ?", "hours: \"12/x\": the step"},
		{"0 ? 12 * * ?", "minutes: ? is only for day-of-month or day-of-week"},
		{"0 0 1- * * ?", "hours: a value is missing"},
	} {
		_, err := parseQuartz(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one containing %q", tc.expr, err, tc.want)
		}
	}
}

// TestScheduleQuartzDST checks Quartz schedules across New York's
// daylight saving changes of 2025 (Mar 9, 02:00 -> 03:00; Nov 2, 02:00 ->
// 01:00), with the same policy as 5-field ones: a fixed-hour run whose
// wall time is skipped happens when the clocks jump, one whose wall time
// repeats runs once, and a schedule at every hour keeps to real hours.
func TestScheduleQuartzDST(t *testing.T) {
	type dstCase struct{ expr, after, want, zone string }
	var cases []dstCase
	for _, tc := range []struct{ expr, after, want string }{
		{"0 30 2 * * ?", "2025-03-08T17:00:00Z", "2025-03-09T07:00:00Z"},      // 02:30 is skipped: run at the jump (03:00 EDT)
		{"0 30 2 * * ?", "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"},      // then 02:30 EDT
		{"0 30 1 * * ?", "2025-11-01T12:00:00Z", "2025-11-02T05:30:00Z"},      // 01:30 EDT, the first pass
		{"0 30 1 * * ?", "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"},      // not 01:30 EST again
		{"0 0/30 * * * ?", "2025-11-02T05:30:00Z", "2025-11-02T06:00:00Z"},    // every half hour: 01:00 EST comes next
		{"0 0/30 * * * ?", "2025-03-09T06:30:00Z", "2025-03-09T07:00:00Z"},    // 01:30 EST -> 03:00 EDT
		{"0 0 9 ? * MON-FRI", "2025-03-07T15:00:00Z", "2025-03-10T13:00:00Z"}, // Fri 09:00 EST was 14:00Z; Mon 09:00 EDT
	} {
		cases = append(cases, dstCase{tc.expr, tc.after, tc.want, "America/New_York"})
	}
	// Lord Howe Island moves its clocks by half an hour (Oct 5, 02:00 ->
	// 02:30, from UTC+10:30 to +11). robfig's parser gets a daily 01:30
	// wrong there (it gives 02:00, a time of the jump); Quartz must not.
	cases = append(cases,
		dstCase{"0 30 1 * * ?", "2025-10-04T12:00:00Z", "2025-10-04T15:00:00Z", "Australia/Lord_Howe"}, // 01:30 LHST
		dstCase{"0 15 2 * * ?", "2025-10-04T12:00:00Z", "2025-10-04T15:30:00Z", "Australia/Lord_Howe"}, // 02:15 is skipped: at the jump
		dstCase{"0 45 2 * * ?", "2025-10-04T12:00:00Z", "2025-10-04T15:45:00Z", "Australia/Lord_Howe"}, // 02:45 LHDT exists
	)
	for _, tc := range cases {
		s := Schedule{Type: ScheduleCron, Cron: tc.expr, Timezone: tc.zone}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		got, ok := s.Next(mustParseTime(t, tc.after))
		if want := mustParseTime(t, tc.want); !ok || !got.Equal(want) {
			t.Errorf("%q after %s: got %s (%v), want %s", tc.expr, tc.after, got.Format(time.RFC3339), ok, tc.want)
		}
	}
}

// TestQuartzMatchesUnix runs equivalent Quartz and Unix expressions side
// by side through a year in zones with daylight saving and checks that they give the same run times.
func TestQuartzMatchesUnix(t *testing.T) {
	pairs := []struct{ quartz, unix string }{
		{"0 30 2 * * ?", "30 2 * * *"},
		{"0 30 1 * * ?", "30 1 * * *"},
		{"0 */15 * * * ?", "*/15 * * * *"},
		{"0 0 9 ? * MON-FRI", "0 9 * * 1-5"},
		{"0 0 0 1 * ?", "0 0 1 * *"},
		{"0 45 23 ? * SUN", "45 23 * * 0"},
	}
	for _, zone := range []string{"America/New_York", "Europe/Paris", "Australia/Sydney"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		// Start half a day before each of the zone's 2025 changes, so that
		// even the quarter-hourly pair walks through both.
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, loc)
		for change := 0; change < 2; change++ {
			_, end := at.ZoneBounds()
			start := end.Add(-12 * time.Hour)
			for _, p := range pairs {
				compareRuns(t, zone, p.quartz, p.unix, start, 150)
			}
			at = end.Add(time.Hour)
		}
	}
}

// compareRuns checks that two expressions give the same n run times from
// start in zone.
func compareRuns(t *testing.T, zone, quartz, unix string, start time.Time, n int) {
	t.Helper()
	q := Schedule{Type: ScheduleCron, Cron: quartz, Timezone: zone}
	u := Schedule{Type: ScheduleCron, Cron: unix, Timezone: zone}
	tq, tu := start, start
	for i := 0; i < n; i++ {
		var okq, oku bool
		tq, okq = q.Next(tq)
		tu, oku = u.Next(tu)
		if !okq || !oku || !tq.Equal(tu) {
			t.Fatalf("%s from %s: run %d: Quartz %q gives %s, Unix %q gives %s", zone, start, i, quartz, tq, unix, tu)
		}
	}
}

// TestScheduleValidateRefusesNeverAndOverflow checks the two schedules
// issue 18 found accepted: a cron expression that never fires and an
// interval that overflowed into running at every tick.
func TestScheduleValidateRefusesNeverAndOverflow(t *testing.T) {
	// A year field makes validity depend on today: pin it.
	validationNow = func() time.Time { return mustParseTime(t, "2092-06-01T00:00:00Z") }
	t.Cleanup(func() { validationNow = time.Now })
	for _, tc := range []struct {
		s         Schedule
		field     string
		wantInMsg string
	}{
		{Schedule{Type: ScheduleCron, Cron: "* * 31 2 *"}, "schedule.cronExpression", "never fires"},
		{Schedule{Type: ScheduleCron, Cron: "0 0 0 30 2 ?"}, "schedule.cronExpression", "never fires"},
		{Schedule{Type: ScheduleCron, Cron: "0 0 0 1 1 ? 2001"}, "schedule.cronExpression", "never fires"},
		{Schedule{Type: ScheduleCron, Cron: "0 0 12 * * *"}, "schedule.cronExpression", "exactly one of them must be ?"},
		{Schedule{Type: ScheduleCron, Cron: "0 0 12 * * ? 2030 extra"}, "schedule.cronExpression", "got 8 fields"},
		{Schedule{Type: ScheduleCron, Cron: "61 * * * *"}, "schedule.cronExpression", "61"},
		{Schedule{Type: ScheduleInterval, IntervalSeconds: 9223372036854775807}, "schedule.intervalSeconds", "want 1 to 315360000"},
		{Schedule{Type: ScheduleInterval, IntervalSeconds: MaxIntervalSeconds + 1}, "schedule.intervalSeconds", "ten years"},
		{Schedule{Type: ScheduleInterval, IntervalSeconds: -5}, "schedule.intervalSeconds", "want 1 to"},
	} {
		err := tc.s.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Message, tc.wantInMsg) {
			t.Errorf("%+v: got %v, want a validation error on %s containing %q", tc.s, err, tc.field, tc.wantInMsg)
		}
	}
	for _, ok := range []Schedule{
		{Type: ScheduleInterval, IntervalSeconds: MaxIntervalSeconds},
		{Type: ScheduleCron, Cron: "0 0 12 29 2 ?"},
		{Type: ScheduleCron, Cron: "0 0 29 2 *"},
		{Type: ScheduleCron, Cron: "0 0 12 ? * 6#3 2099", Timezone: "Europe/Paris"},
		{Type: ScheduleCron, Cron: "@daily"},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v, want it accepted", ok, err)
		}
	}
}

package daemon

import (
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestSkippedRunsAreCounted is what the soak (scenario 12) found: a
// 1-minute cron whose connection is busy past MissedAfter skips the run
// due, and the run due a minute later too (the next run is planned after
// now), but the log said "skipped" once, so one tick in two vanished
// without a recorded reason. The plan now counts every run it drops.
func TestSkippedRunsAreCounted(t *testing.T) {
	minutely := mustCompile(t, store.Schedule{Type: store.ScheduleCron, Cron: "* * * * *"})
	hourly := mustCompile(t, store.Schedule{Type: store.ScheduleCron, Cron: "0 * * * *"})
	every10 := mustCompile(t, store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: 600})
	due := mustTime(t, "2025-01-01T10:00:00Z")
	for _, tc := range []struct {
		name string
		c    *compiled
		now  string
		busy bool
		runs int
	}{
		{"minutely, busy just past MissedAfter", minutely, "2025-01-01T10:01:05Z", true, 2},
		{"minutely, down for an hour", minutely, "2025-01-01T11:00:30Z", false, 61},
		{"hourly, busy and late", hourly, "2025-01-01T10:05:00Z", true, 1},
		{"hourly, down for hours", hourly, "2025-01-01T13:30:00Z", false, 4},
		{"interval, down for 25 minutes", every10, "2025-01-01T10:25:00Z", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.c.plan(&due, mustTime(t, tc.now), time.Minute, tc.busy)
			if !p.Skipped || p.SkippedRuns != tc.runs {
				t.Errorf("skipped %v, %d runs (next %v); want %d", p.Skipped, p.SkippedRuns, p.Next, tc.runs)
			}
		})
	}
}

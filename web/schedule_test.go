package web

import (
	"strings"
	"testing"
)

// TestConnectionScheduleValidation checks, over HTTP, issue 18's two
// schedules (refused with the field named) and that a Quartz expression
// is accepted and returned exactly as sent.
func TestConnectionScheduleValidation(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	for _, tc := range []struct {
		schedule map[string]any
		field    string
		inMsg    string
	}{
		{map[string]any{"scheduleType": "interval", "intervalSeconds": int64(9223372036854775807)}, "schedule.intervalSeconds", "ten years"},
		{map[string]any{"scheduleType": "cron", "cronExpression": "* * 31 2 *"}, "schedule.cronExpression", "never fires"},
		{map[string]any{"scheduleType": "cron", "cronExpression": "0 0 12 * * *"}, "schedule.cronExpression", "exactly one of them must be ?"},
	} {
		ae := e.fail(t, "PATCH", "/api/v1/connections/"+f.conn, map[string]any{"schedule": tc.schedule}, 400)
		if ae.Field != tc.field || !strings.Contains(ae.Message, tc.inMsg) {
			t.Errorf("%v: got %+v, want field %s and %q", tc.schedule, ae, tc.field, tc.inMsg)
		}
	}
	const quartz = "0 0 12 ? * MON-FRI"
	var c connectionJSON
	e.do(t, "PATCH", "/api/v1/connections/"+f.conn, map[string]any{"schedule": map[string]any{
		"scheduleType": "cron", "cronExpression": quartz, "timezone": "Europe/Paris"}}, 200, &c)
	if c.Schedule.CronExpression != quartz || c.NextRunAt == nil {
		t.Errorf("got schedule %+v, next run %v; want the expression as sent and a next run", c.Schedule, c.NextRunAt)
	}
}

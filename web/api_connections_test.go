package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/store"
)

// TestConnectionDefaults verifies a connection created with only its two
// ends syncs every discovered stream in its default mode, and shows its
// settings with their defaults and the webhook secret masked.
func TestConnectionDefaults(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var c connectionJSON
	e.do(t, "GET", "/api/v1/connections/"+f.conn, nil, 200, &c)
	want := connectionJSON{
		ConnectionID: f.conn, Name: "src → dst", SourceID: f.src, DestinationID: f.dst, WorkspaceID: e.workspace(),
		NonBreakingChanges: "ignore", DataResidency: "auto", Tags: []store.Tag{},
		Configurations: configurationsJSON{Streams: []streamConfigJSON{
			{Name: "users", SyncMode: "incremental_append", CursorField: []string{"updated_at"}, PrimaryKey: [][]string{{"id"}}},
			{Name: "products", SyncMode: "full_refresh_overwrite"},
		}},
		Schedule:            scheduleJSON{ScheduleType: "manual", MissedRuns: "skip"},
		NamespaceDefinition: "destination", Status: "active",
		WebhookURL: "https://hooks.example/x", WebhookSecret: store.Mask,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("connection (-want +got):\n%s", diff)
	}
}

// TestConnectionCRUD verifies explicit stream configurations, schedules,
// timeouts, PATCH and PUT semantics, and delete.
func TestConnectionCRUD(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	body := map[string]any{
		"name": "nightly", "sourceId": f.src, "destinationId": f.dst,
		"configurations": map[string]any{"streams": []map[string]any{
			{"name": "users", "syncMode": "incremental_deduped_history", "selectedFields": []map[string]any{
				{"fieldPath": []string{"id"}}, {"fieldPath": []string{"email"}}}},
		}},
		"schedule":   map[string]any{"scheduleType": "cron", "cronExpression": "0 3 * * *", "timezone": "Europe/Berlin"},
		"timeouts":   map[string]any{"noProgress": "10m", "destinationWrite": "4m30s"},
		"prefix":     "raw_",
		"status":     "inactive",
		"forceStdio": true, "socketCount": 4, "networkMode": "none", "bridge": "relay",
	}
	var c connectionJSON
	e.do(t, "POST", "/api/v1/connections", body, 201, &c)
	ten, destWrite := "10m0s", "4m30s"
	four, relay := 4, "relay"
	want := connectionJSON{
		ConnectionID: c.ConnectionID, Name: "nightly", SourceID: f.src, DestinationID: f.dst, WorkspaceID: e.workspace(),
		NonBreakingChanges: "ignore", DataResidency: "auto", Tags: []store.Tag{},
		Configurations: configurationsJSON{Streams: []streamConfigJSON{
			{Name: "users", SyncMode: "incremental_deduped_history", CursorField: []string{"updated_at"}, PrimaryKey: [][]string{{"id"}},
				SelectedFields: []selectedFieldJSON{{[]string{"id"}}, {[]string{"email"}}}},
		}},
		Schedule:            scheduleJSON{ScheduleType: "cron", CronExpression: "0 3 * * *", Timezone: "Europe/Berlin", MissedRuns: "skip"},
		NamespaceDefinition: "destination", Prefix: "raw_", Status: "inactive",
		Timeouts:   timeoutsJSON{NoProgress: &ten, DestinationWrite: &destWrite},
		ForceStdio: true, SocketCount: &four, NetworkMode: "none", Bridge: &relay,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("created (-want +got):\n%s", diff)
	}

	// PATCH: only the schedule and status change; it becomes scheduled.
	e.do(t, "PATCH", "/api/v1/connections/"+c.ConnectionID, map[string]any{
		"schedule": map[string]any{"scheduleType": "interval", "intervalSeconds": 3600}, "status": "active"}, 200, &c)
	if c.Schedule.ScheduleType != "interval" || c.NextRunAt == nil || c.Prefix != "raw_" || len(c.Configurations.Streams) != 1 {
		t.Errorf("after PATCH got %+v, want an interval schedule with a next run, the rest kept", c)
	}
	var list listResponse[connectionJSON]
	e.do(t, "GET", "/api/v1/connections?sourceId="+f.src+"&status=active", nil, 200, &list)
	if len(list.Data) != 2 {
		t.Errorf("got %d active connections of the source, want 2", len(list.Data))
	}

	// PUT: what is not sent takes its default, streams included.
	e.do(t, "PUT", "/api/v1/connections/"+c.ConnectionID, map[string]any{"name": "plain"}, 200, &c)
	if c.Name != "plain" || c.Prefix != "" || c.Schedule.ScheduleType != "manual" || len(c.Configurations.Streams) != 2 || c.ForceStdio || c.Bridge != nil {
		t.Errorf("after PUT got %+v, want defaults and every stream", c)
	}
	e.fail(t, "PATCH", "/api/v1/connections/"+c.ConnectionID, map[string]any{"sourceId": f.dst}, 400)

	e.do(t, "DELETE", "/api/v1/connections/"+c.ConnectionID, nil, 204, nil)
	e.fail(t, "GET", "/api/v1/connections/"+c.ConnectionID, nil, 404)
}

// TestConnectionBadInput verifies each invalid setting is a 400 naming its
// field.
func TestConnectionBadInput(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	stream := func(s map[string]any) map[string]any {
		return map[string]any{"streams": []map[string]any{s}}
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no source", map[string]any{"destinationId": f.dst}, "sourceId"},
		{"unknown source", map[string]any{"sourceId": "nope", "destinationId": f.dst}, "sourceId"},
		{"destination as source", map[string]any{"sourceId": f.dst, "destinationId": f.dst}, "sourceId"},
		{"unknown destination", map[string]any{"sourceId": f.src, "destinationId": "nope"}, "destinationId"},
		{"unknown stream", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"configurations": stream(map[string]any{"name": "orders"})}, "configurations.streams[0].name"},
		{"unknown sync mode", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"configurations": stream(map[string]any{"name": "users", "syncMode": "sometimes"})}, "configurations.streams[0].syncMode"},
		{"unsupported sync mode", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"configurations": stream(map[string]any{"name": "products", "syncMode": "incremental_append"})}, "configurations.streams[0].syncMode"},
		{"nested field selection", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"configurations": stream(map[string]any{"name": "users", "selectedFields": []map[string]any{{"fieldPath": []string{"a", "b"}}}})},
			"configurations.streams[0].selectedFields[0].fieldPath"},
		{"bad cron", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"schedule": map[string]any{"scheduleType": "cron", "cronExpression": "every day"}}, "schedule.cronExpression"},
		{"bad timeout", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"timeouts": map[string]any{"endOfInput": "soon"}}, "timeouts.endOfInput"},
		{"bad status", map[string]any{"sourceId": f.src, "destinationId": f.dst, "status": "paused"}, "status"},
		{"bad bridge", map[string]any{"sourceId": f.src, "destinationId": f.dst, "bridge": "pigeon"}, "bridge"},
		{"bad webhook", map[string]any{"sourceId": f.src, "destinationId": f.dst, "webhookUrl": "ftp://x"}, "webhookUrl"},
		{"bad schema change behaviour", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"nonBreakingSchemaUpdatesBehavior": "sometimes"}, "nonBreakingSchemaUpdatesBehavior"},
		{"unknown schedule type", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"schedule": map[string]any{"scheduleType": "hourly"}}, "schedule.scheduleType"},
		{"bad basic timing", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"schedule": map[string]any{"scheduleType": "basic", "basicTiming": "often"}}, "schedule.basicTiming"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ae := e.fail(t, "POST", "/api/v1/connections", c.body, 400)
			if ae.Field != c.field {
				t.Errorf("got field %q, want %q (message %q)", ae.Field, c.field, ae.Message)
			}
		})
	}
}

package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// TestConnectionDefaults verifies the defaults and the generated name of a
// connection created with only its ends and catalog.
func TestConnectionDefaults(t *testing.T) {
	f := newFixture(t)
	c, err := f.db.Connection(context.Background(), f.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "source one → destination one" || c.Schedule.Type != ScheduleManual ||
		c.Schedule.MissedRuns != MissedSkip || c.NamespaceDefinition != protocol.NamespaceDestination ||
		c.Status != ConnectionActive || c.NextRunAt != nil || c.WebhookSecret != "" {
		t.Errorf("defaults: %+v", c)
	}
	if mustJSON(t, c.Catalog) != mustJSON(t, testCatalog(t)) {
		t.Errorf("catalog round trip:\n got %s\nwant %s", mustJSON(t, c.Catalog), mustJSON(t, testCatalog(t)))
	}
}

// TestConnectionRoundTrip verifies that every setting comes back as set.
func TestConnectionRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	noProgress, eoi, maxDur, destWrite := 10*time.Minute, time.Hour, 6*time.Hour, 4*time.Minute
	sockets := 4
	c := f.newConnection(t, func(c *Connection) {
		c.Name = "full"
		c.SelectedFields = []SelectedFields{{Stream: protocol.StreamDescriptor{Name: "users", Namespace: "public"}, Fields: []string{"id", "email"}}}
		c.Schedule = Schedule{Type: ScheduleCron, Cron: "0 9 * * 1-5", Timezone: "Europe/Paris", MissedRuns: MissedRunOnce}
		c.NamespaceDefinition, c.NamespaceFormat, c.Prefix = protocol.NamespaceCustomFormat, "${SOURCE_NAMESPACE}_raw", "ferry_"
		c.Timeouts = Timeouts{&noProgress, &eoi, &maxDur, &destWrite}
		c.ForceStdio, c.SocketCount, c.NetworkMode = true, &sockets, "none"
		c.Bridge = BridgeRelay
		c.WebhookURL, c.WebhookSecret = "https://hooks.example.com/ferry", "SECRET-webhook-aa11"
	})
	got, err := f.db.Connection(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookSecret != Mask || got.WebhookSecret != Mask {
		t.Errorf("webhook secret not masked: %q / %q", c.WebhookSecret, got.WebhookSecret)
	}
	if got.Bridge != BridgeRelay {
		t.Errorf("bridge = %q, want relay", got.Bridge)
	}
	if mustJSON(t, got) != mustJSON(t, c) {
		t.Errorf("round trip:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, c))
	}
	// 2025-03-01 is a Saturday: the next weekday 09:00 in Paris (UTC+1) is
	// Monday 08:00 UTC.
	if want := time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC); got.NextRunAt == nil || !got.NextRunAt.Equal(want) {
		t.Errorf("next run = %v, want %v", got.NextRunAt, want)
	}
	url, secret, err := f.db.ConnectionWebhook(ctx, c.ID)
	if err != nil || url != c.WebhookURL || secret != "SECRET-webhook-aa11" {
		t.Errorf("webhook = %q, %q, %v", url, secret, err)
	}
	// The mask keeps the secret; an empty value removes it.
	got.Name = "renamed"
	if err := f.db.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, secret, _ = f.db.ConnectionWebhook(ctx, c.ID); secret != "SECRET-webhook-aa11" {
		t.Errorf("secret after a masked update = %q", secret)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(f.db.Path() + suffix)
		if bytes.Contains(b, []byte("SECRET-webhook-aa11")) {
			t.Errorf("database file%s holds the webhook secret", suffix)
		}
	}
	got.WebhookSecret = ""
	if err := f.db.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, secret, _ = f.db.ConnectionWebhook(ctx, c.ID); secret != "" {
		t.Errorf("secret after clearing = %q", secret)
	}
}

// TestConnectionValidation verifies each validation rule names its field.
func TestConnectionValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	zero := time.Duration(0)
	bad := 0
	for _, tc := range []struct {
		field string
		mod   func(*Connection)
	}{
		{"sourceId", func(c *Connection) { c.SourceID = f.dst.ID }},
		{"destinationId", func(c *Connection) { c.DestinationID = "" }},
		{"configurations.streams", func(c *Connection) { c.Catalog.Streams[0].SyncMode = "sometimes" }},
		{"selectedFields", func(c *Connection) {
			c.SelectedFields = []SelectedFields{{Stream: protocol.StreamDescriptor{Name: "nope"}}}
		}},
		{"schedule.intervalSeconds", func(c *Connection) { c.Schedule = Schedule{Type: ScheduleInterval} }},
		{"schedule.cronExpression", func(c *Connection) { c.Schedule = Schedule{Type: ScheduleCron, Cron: "61 * * * *"} }},
		{"schedule.timezone", func(c *Connection) {
			c.Schedule = Schedule{Type: ScheduleCron, Cron: "0 * * * *", Timezone: "Mars/Olympus"}
		}},
		{"schedule.missedRuns", func(c *Connection) { c.Schedule.MissedRuns = "maybe" }},
		{"namespaceFormat", func(c *Connection) { c.NamespaceDefinition = protocol.NamespaceCustomFormat }},
		{"status", func(c *Connection) { c.Status = "paused" }},
		{"timeouts.noProgress", func(c *Connection) { c.Timeouts.NoProgress = &zero }},
		{"socketCount", func(c *Connection) { c.SocketCount = &bad }},
		{"networkMode", func(c *Connection) { c.NetworkMode = "host; rm -rf" }},
		{"bridge", func(c *Connection) { c.Bridge = "carrier-pigeon" }},
		{"webhookUrl", func(c *Connection) { c.WebhookURL = "ftp://x" }},
	} {
		c := &Connection{SourceID: f.src.ID, DestinationID: f.dst.ID, Catalog: testCatalog(t)}
		tc.mod(c)
		wantValidation(t, f.db.CreateConnection(ctx, c), tc.field)
	}
	c := *f.conn
	c.SourceID = f.dst.ID
	wantValidation(t, f.db.UpdateConnection(ctx, &c), "sourceId")
}

// TestDueConnections verifies next-run bookkeeping: set from the schedule
// on create, recomputed when the schedule changes, cleared when inactive,
// and listed when due.
func TestDueConnections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.newConnection(t, func(c *Connection) { c.Schedule = Schedule{Type: ScheduleInterval, IntervalSeconds: 3600} })
	want := f.clock.Now().Add(time.Hour)
	if c.NextRunAt == nil || !c.NextRunAt.Equal(want) {
		t.Fatalf("next run = %v, want %v", c.NextRunAt, want)
	}
	due, err := f.db.DueConnections(ctx, f.clock.Now())
	if err != nil || len(due) != 0 {
		t.Fatalf("due now: %v, %v", due, err)
	}
	due, _ = f.db.DueConnections(ctx, want)
	if len(due) != 1 || due[0].ID != c.ID {
		t.Fatalf("due at next run: %v", due)
	}
	next := want.Add(time.Hour)
	if err := f.db.SetNextRunAt(ctx, c.ID, &next); err != nil {
		t.Fatal(err)
	}
	if due, _ = f.db.DueConnections(ctx, want); len(due) != 0 {
		t.Errorf("due after SetNextRunAt: %v", due)
	}
	wantErr(t, f.db.SetNextRunAt(ctx, "00000000-0000-4000-8000-000000000000", &next), ErrNotFound)

	// An unrelated update keeps the scheduler's next run.
	got, _ := f.db.Connection(ctx, c.ID)
	got.Prefix = "p_"
	if err := f.db.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if !got.NextRunAt.Equal(next) {
		t.Errorf("next run after unrelated update = %v, want %v", got.NextRunAt, next)
	}
	got.Status = ConnectionInactive
	if err := f.db.UpdateConnection(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got.NextRunAt != nil {
		t.Errorf("inactive connection has next run %v", got.NextRunAt)
	}
	if due, _ = f.db.DueConnections(ctx, next.Add(time.Hour)); len(due) != 0 {
		t.Errorf("inactive connection is due: %v", due)
	}
}

// TestGenerations verifies that generations start at 1 on the first bump
// and increase per stream.
func TestGenerations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	users := protocol.StreamDescriptor{Name: "users", Namespace: "public"}
	if g, err := f.db.Generations(ctx, f.conn.ID); err != nil || len(g) != 0 {
		t.Fatalf("initial generations: %v, %v", g, err)
	}
	if _, err := f.db.BumpGenerations(ctx, f.conn.ID, nil); err != nil {
		t.Fatal(err)
	}
	g, err := f.db.BumpGenerations(ctx, f.conn.ID, []protocol.StreamDescriptor{users})
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamGeneration{{protocol.StreamDescriptor{Name: "events"}, 1}, {users, 2}}
	if mustJSON(t, g) != mustJSON(t, want) {
		t.Errorf("generations = %s, want %s", mustJSON(t, g), mustJSON(t, want))
	}
	_, err = f.db.Generations(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, ErrNotFound)
}

// TestListConnections verifies filters, order and the total count.
func TestListConnections(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		f.clock.Advance(time.Second)
		f.newConnection(t, func(c *Connection) { c.Status = ConnectionInactive })
	}
	list, total, err := f.db.Connections(ctx, ConnectionFilter{Status: ConnectionInactive, Page: Page{Limit: 2, Offset: 1}})
	if err != nil || total != 3 || len(list) != 2 {
		t.Fatalf("list: %d of %d, %v", len(list), total, err)
	}
	if !list[0].CreatedAt.Before(list[1].CreatedAt) {
		t.Error("not oldest first")
	}
	if _, total, _ = f.db.Connections(ctx, ConnectionFilter{SourceID: f.src.ID}); total != 4 {
		t.Errorf("by source: total %d, want 4", total)
	}
}

// TestDeleteConnectionKeepsJobs verifies that deleting a connection
// removes its state, history and generations but keeps its jobs and
// attempts readable, cancels its waiting jobs, and is refused while an
// attempt runs.
func TestDeleteConnectionKeepsJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, parseStates(t, readTestdata(t, "state_global.json")), Stats{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.BumpGenerations(ctx, f.conn.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, f.db.DeleteConnection(ctx, f.conn.ID), ErrConflict)
	if _, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	waiting, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteConnection(ctx, f.conn.ID); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"jobs": 2, "attempts": 1, "states": 0, "state_history": 0, "stream_generations": 0} {
		var n int
		if err := f.db.queryRowRaw(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows left, %v; want %d", table, n, err, want)
		}
	}
	j, err := f.db.Job(ctx, c.Job.ID)
	if err != nil || j.ConnectionID != f.conn.ID || len(j.Attempts) != 1 || j.Status != JobSucceeded {
		t.Errorf("job of the deleted connection: %+v, %v", j, err)
	}
	if j, err := f.db.Job(ctx, waiting.ID); err != nil || j.Status != JobCancelled {
		t.Errorf("waiting job of the deleted connection: %+v, %v; want cancelled", j, err)
	}
	if claim, err := f.db.ClaimJob(ctx, testOwner); err != nil || claim != nil {
		t.Errorf("claim after the delete: %+v, %v; want nothing to run", claim, err)
	}
	jobs, total, err := f.db.Jobs(ctx, JobFilter{ConnectionID: f.conn.ID})
	if err != nil || total != 2 || len(jobs) != 2 {
		t.Errorf("jobs of the deleted connection: %d of %d, %v", len(jobs), total, err)
	}
	wantErr(t, f.db.DeleteConnection(ctx, f.conn.ID), ErrNotFound)
}

// TestScheduleNext verifies interval and cron next-run times, including a
// daylight saving change in the schedule's time zone.
func TestScheduleNext(t *testing.T) {
	at := time.Date(2025, 3, 29, 12, 0, 0, 0, time.UTC) // the day before Paris moves to UTC+2
	for _, tc := range []struct {
		s    Schedule
		want time.Time
		ok   bool
	}{
		{Schedule{Type: ScheduleManual}, time.Time{}, false},
		{Schedule{Type: ScheduleInterval, IntervalSeconds: 90}, at.Add(90 * time.Second), true},
		{Schedule{Type: ScheduleCron, Cron: "30 9 * * *", Timezone: "Europe/Paris"}, time.Date(2025, 3, 30, 7, 30, 0, 0, time.UTC), true},
		{Schedule{Type: ScheduleCron, Cron: "@daily"}, time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC), true},
		{Schedule{Type: ScheduleCron, Cron: "bogus"}, time.Time{}, false},
	} {
		got, ok := tc.s.Next(at)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%+v: Next = %v, %v; want %v, %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScheduleNextDaylightSaving verifies that the store's first run of a
// cron schedule follows cron(8) across daylight saving changes, as the
// scheduler does: a skipped wall time runs when the clocks jump, and a
// repeated one runs once.
func TestScheduleNextDaylightSaving(t *testing.T) {
	ny := func(cron string) Schedule {
		return Schedule{Type: ScheduleCron, Cron: cron, Timezone: "America/New_York"}
	}
	for _, tc := range []struct {
		s          Schedule
		from, want string
	}{
		// 02:30 does not exist on 2024-03-10: it runs at 03:00 EDT.
		{ny("30 2 * * *"), "2024-03-09T12:00:00Z", "2024-03-10T07:00:00Z"},
		// 01:30 happens twice on 2024-11-03: only the first one runs.
		{ny("30 1 * * *"), "2024-11-02T12:00:00Z", "2024-11-03T05:30:00Z"},
		{ny("30 1 * * *"), "2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"},
		// Hourly schedules keep to the real hours.
		{ny("0 * * * *"), "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"},
	} {
		got, ok := tc.s.Next(mustParseTime(t, tc.from))
		if want := mustParseTime(t, tc.want); !ok || !got.Equal(want) {
			t.Errorf("%s after %s: got %s (%v), want %s", tc.s.Cron, tc.from, got.Format(time.RFC3339), ok, tc.want)
		}
	}
}

func mustParseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

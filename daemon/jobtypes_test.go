package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// setSourceConfig replaces a connection's source config with scenario s.
func setSourceConfig(t *testing.T, d *Daemon, conn *store.Connection, s scenario) {
	t.Helper()
	if err := d.db.UpdateActorConfig(context.Background(), store.KindSource, conn.SourceID, s.json(t)); err != nil {
		t.Fatal(err)
	}
}

// attemptLog returns the log of a job's attempt n.
func attemptLog(t *testing.T, d *Daemon, j *store.Job, n int) string {
	t.Helper()
	b, err := os.ReadFile(store.LogPath(d.cfg.DataDir, j.ID, n))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClearSomeStreams clears one of two streams: the destination runs
// alone over stdio and gets no record, the stream's state is cleared and
// its generation moves on, the other stream keeps both, and the next sync
// reads the cleared stream from scratch.
func TestClearSomeStreams(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	src := scenario{Streams: []string{"a", "b"}, Source: map[string]any{"records": 4, "state_every": 2}}
	conn := scriptedConnection(t, d, src, scenario{})
	serve(t, d)
	if j := runJob(t, d, conn.ID, store.JobSync); j.Status != store.JobSucceeded {
		t.Fatalf("sync %s, want succeeded", j.Status)
	}
	j, err := d.TriggerStreams(context.Background(), conn.ID, store.JobClear, []protocol.StreamDescriptor{{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobSucceeded || len(JobWarnings(j)) != 0 {
		t.Fatalf("clear %s, warnings %q; want a plain success", j.Status, JobWarnings(j))
	}
	if a := j.Attempts[0]; a.Mode != protocol.ModeStdio || a.Stats.RecordsEmitted != 0 {
		t.Errorf("clear attempt: mode %s, %d records; want stdio and none", a.Mode, a.Stats.RecordsEmitted)
	}
	if log := attemptLog(t, d, j, 1); !strings.Contains(log, "clear: emptying 1 stream(s) in the destination (a)") || !strings.Contains(log, "sync succeeded") {
		t.Errorf("clear log lacks its intro or end:\n%s", log)
	}
	if got := cursors(t, d, conn.ID); got["a"] != "" || got["b"] != `{"cursor":4}` {
		t.Errorf("state after clearing a: %v, want only b at 4", got)
	}
	gens, err := d.db.Generations(context.Background(), conn.ID)
	if err != nil || len(gens) != 1 || gens[0].Stream.Name != "a" || gens[0].GenerationID != 1 {
		t.Errorf("generations %+v (%v), want a at 1 only", gens, err)
	}
	if got := receivedIDs(t, d); len(got["a"]) != 4 || len(got["b"]) != 4 {
		t.Errorf("the destination received %v after the clear, want the first sync's 4 + 4 only", got)
	}
	if j := runJob(t, d, conn.ID, store.JobSync); j.Status != store.JobSucceeded {
		t.Fatalf("second sync %s, want succeeded", j.Status)
	}
	if got := receivedIDs(t, d); len(got["a"]) != 8 || len(got["b"]) != 4 {
		t.Errorf("after the second sync the destination has %v; want a read again from 1 (8 in all), b unchanged (4)", got)
	}
}

// waitLogLine follows a running job until its attempt log has a line
// containing text.
func waitLogLine(t *testing.T, d *Daemon, jobID int64, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := false
	_ = d.Subscribe(ctx, jobID, func(*store.Job) {}, func(_ int, line string) {
		if strings.Contains(line, text) {
			seen = true
			cancel()
		}
	})
	if !seen {
		t.Fatalf("job %d never logged %q", jobID, text)
	}
}

// TestCancelClear cancels a clear whose destination hangs after the end
// of its input: the destination is stopped and the job and its only
// attempt end cancelled.
func TestCancelClear(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{Destination: map[string]any{"hang_after_eof": true}})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobClear)
	if err != nil {
		t.Fatal(err)
	}
	waitLogLine(t, d, j.ID, "input ended; hanging")
	if _, err := d.Cancel(context.Background(), j.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobCancelled || j.AttemptCount != 1 || j.Attempts[0].Status != store.AttemptCancelled {
		t.Fatalf("job %s with %d attempts, want cancelled with one cancelled attempt", j.Status, j.AttemptCount)
	}
}

// TestRefreshReplacesStateOnlyOnSuccess: a refresh reads from scratch; one
// whose source fails keeps the connection's state (its own acknowledged
// states resume its retry, and are dropped when it fails), and one that
// succeeds replaces it.
func TestRefreshReplacesStateOnlyOnSuccess(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	cfg.Retry.MaxSuccessiveNoProgress, cfg.Retry.MaxTotalNoProgress, cfg.Retry.MaxTotalWithProgress = 1, 1, 2
	d := openDaemon(t, cfg, Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 10, "state_every": 2}}, scenario{})
	serve(t, d)
	if j := runJob(t, d, conn.ID, store.JobSync); j.Status != store.JobSucceeded {
		t.Fatalf("sync %s, want succeeded", j.Status)
	}

	setSourceConfig(t, d, conn, scenario{Source: map[string]any{"records": 6, "state_every": 2,
		"exit_after_record": 5, "exit_code": 1}})
	j := runJob(t, d, conn.ID, store.JobRefresh)
	if j.Status != store.JobFailed || j.AttemptCount != 2 {
		t.Fatalf("failing refresh: %s after %d attempts, want failed after 2", j.Status, j.AttemptCount)
	}
	if got := cursors(t, d, conn.ID)["items"]; got != `{"cursor":10}` {
		t.Errorf("state after the failed refresh %s, want the sync's cursor 10", got)
	}
	// Attempt 1 read 1..5 from scratch; attempt 2 resumed after the
	// refresh's own acknowledged cursor 4.
	if got := receivedIDs(t, d)["items"]; len(got) != 10+5+1 || got[10] != 1 || got[15] != 5 {
		t.Errorf("the destination received %v, want 1..10, then 1..5, then 5", got)
	}

	setSourceConfig(t, d, conn, scenario{Source: map[string]any{"records": 6, "state_every": 2}})
	j = runJob(t, d, conn.ID, store.JobRefresh)
	if j.Status != store.JobSucceeded {
		t.Fatalf("refresh %s, want succeeded", j.Status)
	}
	if got := cursors(t, d, conn.ID)["items"]; got != `{"cursor":6}` {
		t.Errorf("state after the refresh %s, want the refresh's cursor 6", got)
	}
	gens, err := d.db.Generations(context.Background(), conn.ID)
	if err != nil || len(gens) != 1 || gens[0].GenerationID != 2 {
		t.Errorf("generations %+v (%v), want items at 2 (one per refresh)", gens, err)
	}
}

// TestClearSomeStreamsOfLegacyState: a LEGACY state is one blob for every
// stream, so clearing some streams of it fails at once as a config error,
// before the destination runs, and keeps the state; clearing them all
// works.
func TestClearSomeStreamsOfLegacyState(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	src := scenario{Streams: []string{"a", "b"}, Source: map[string]any{"records": 2, "state_type": "LEGACY"}}
	conn := scriptedConnection(t, d, src, scenario{})
	serve(t, d)
	if j := runJob(t, d, conn.ID, store.JobSync); j.Status != store.JobSucceeded {
		t.Fatalf("sync %s, want succeeded", j.Status)
	}
	j, err := d.TriggerStreams(context.Background(), conn.ID, store.JobReset, []protocol.StreamDescriptor{{Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, d, j.ID)
	if j.Status != store.JobFailed || j.AttemptCount != 1 || !hasConfigError(j.Attempts[0].FailureReasons) {
		t.Fatalf("clear of a LEGACY state's stream: %s after %d attempts (%s), want failed at once with a config error",
			j.Status, j.AttemptCount, summary(j.Attempts[0].FailureReasons))
	}
	if states, err := d.db.State(context.Background(), conn.ID); err != nil || len(states) != 1 {
		t.Errorf("state after the refused clear: %d states (%v), want the LEGACY one kept", len(states), err)
	}
	both := []protocol.StreamDescriptor{{Name: "a"}, {Name: "b"}}
	if j, err = d.TriggerStreams(context.Background(), conn.ID, store.JobReset, both); err != nil {
		t.Fatal(err)
	}
	if j = waitJob(t, d, j.ID); j.Status != store.JobSucceeded {
		t.Fatalf("clear of every stream: %s, want succeeded", j.Status)
	}
	if states, err := d.db.State(context.Background(), conn.ID); err != nil || len(states) != 0 {
		t.Errorf("state after clearing every stream: %d states (%v), want none", len(states), err)
	}
}

package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// TestClaimJob verifies that a claim takes the oldest ready job, starts
// attempt 1 with its owner, and carries the connection, decrypted configs
// and committed state.
func TestClaimJob(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if c, err := f.db.ClaimJob(ctx, testOwner); c != nil || err != nil {
		t.Fatalf("claim with no jobs: %v, %v", c, err)
	}
	other := f.newConnection(t)
	j1, _ := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual)
	j2, _ := f.db.CreateJob(ctx, other.ID, JobSync, TriggerManual)

	c, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil {
		t.Fatal(err)
	}
	if c.Job.ID != j1.ID || c.Job.Status != JobRunning || c.Job.StartedAt == nil {
		t.Errorf("claimed job: %+v", c.Job)
	}
	a := c.Attempt
	if a.Number != 1 || a.Status != AttemptRunning || a.Owner != testOwner || a.ConnectionID != f.conn.ID {
		t.Errorf("attempt: %+v", a)
	}
	if c.ConfigErr != nil || c.SourceConfig == nil || len(c.SourceConfig.Secrets) != 9 {
		t.Fatalf("source config: %v, %v", c.SourceConfig, c.ConfigErr)
	}
	if string(c.DestinationConfig.Config) != `{"host":"warehouse","api_key":"SECRET-dest-key-77aa"}` {
		t.Errorf("destination config: %s", c.DestinationConfig.Config)
	}
	if secretRE.Match(c.Source.Config) || secretRE.Match(c.Destination.Config) {
		t.Error("claim's actors are not masked")
	}
	if c.SourceDefinition.ID != f.srcDef.ID || c.DestinationDefinition.ID != f.dstDef.ID || c.State != nil {
		t.Errorf("claim: %+v", c)
	}

	c2, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c2 == nil || c2.Job.ID != j2.ID {
		t.Fatalf("second claim: %v, %v", c2, err)
	}
	if c3, err := f.db.ClaimJob(ctx, testOwner); c3 != nil || err != nil {
		t.Fatalf("third claim: %v, %v", c3, err)
	}
	if err := f.db.SetAttemptRun(ctx, a.ID, AttemptRun{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf,
		SocketCount: 4, LogPath: LogPath("/data", c.Job.ID, 1)}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.Attempt(ctx, a.ID)
	if got.Mode != protocol.ModeSocket || got.Format != protocol.FormatProtobuf || got.SocketCount != 4 || got.LogPath != "/data/logs/1/attempt-1.log" {
		t.Errorf("attempt run: %+v", got)
	}
	wantValidation(t, f.db.SetAttemptRun(ctx, a.ID, AttemptRun{Mode: "pigeon", Format: "JSONL"}), "mode")
	// A bridged attempt records its path; the path belongs to bridged mode
	// alone.
	wantValidation(t, f.db.SetAttemptRun(ctx, a.ID, AttemptRun{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL}), "bridge")
	wantValidation(t, f.db.SetAttemptRun(ctx, a.ID, AttemptRun{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL, Bridge: BridgeRelay}), "bridge")
	if err := f.db.SetAttemptRun(ctx, a.ID, AttemptRun{Mode: protocol.ModeBridged, Format: protocol.FormatProtobuf,
		SocketCount: 2, Bridge: BridgeRelay}); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.db.Attempt(ctx, a.ID); got.Mode != protocol.ModeBridged || got.Bridge != BridgeRelay {
		t.Errorf("bridged attempt run: mode %q, bridge %q", got.Mode, got.Bridge)
	}
}

// TestRetryAndRecovery walks a job through a crash: recovery fails the
// leftover attempt, the job waits for its retry time, and the next claim
// starts attempt 2 from the state attempt 1 committed.
func TestRetryAndRecovery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	states := parseStates(t, readTestdata(t, "state_stream.json"))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, states[:1], Stats{RecordsCommitted: 12}); err != nil {
		t.Fatal(err)
	}

	// Restart: the new process finds the attempt and fails it.
	running, err := f.db.RunningAttempts(ctx)
	if err != nil || len(running) != 1 || running[0].Owner != testOwner {
		t.Fatalf("running attempts: %v, %v", running, err)
	}
	retryAt := f.clock.Now().Add(10 * time.Second)
	j, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: running[0].ID, Status: AttemptFailed,
		FailureReasons: []FailureReason{{FailureOrigin: protocol.OriginPlatform, FailureType: protocol.FailureSystem,
			ExternalMessage: "daemon restarted", Timestamp: f.clock.Now().UnixMilli()}},
		JobStatus: JobIncomplete, RetryAt: &retryAt})
	if err != nil || j.Status != JobIncomplete || j.EndedAt != nil || j.RecordsSynced != 12 {
		t.Fatalf("fail attempt: %+v, %v", j, err)
	}
	a1 := j.Attempts[0]
	if a1.Status != AttemptFailed || a1.EndedAt == nil || !a1.CommittedState || a1.Stats.RecordsCommitted != 12 ||
		len(a1.FailureReasons) != 1 || a1.FailureReasons[0].ExternalMessage != "daemon restarted" {
		t.Errorf("failed attempt: %+v", a1)
	}
	// The old process wakes up and tries to write: refused.
	wantErr(t, f.db.CommitCheckpoint(ctx, a1.ID, states, Stats{}), ErrConflict)
	_, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: a1.ID, Status: AttemptSucceeded, JobStatus: JobSucceeded})
	wantErr(t, err, ErrConflict)

	if c, _ := f.db.ClaimJob(ctx, testOwner); c != nil {
		t.Fatal("claimed before the retry time")
	}
	f.clock.Advance(10 * time.Second)
	c2, err := f.db.ClaimJob(ctx, Owner{InstanceID: "test-instance", PID: 7, BootID: "boot-2"})
	if err != nil || c2 == nil {
		t.Fatalf("claim retry: %v, %v", c2, err)
	}
	if c2.Attempt.Number != 2 || c2.Job.ID != j.ID || len(c2.State) != 1 {
		t.Fatalf("retry claim: attempt %d, job %d, %d states", c2.Attempt.Number, c2.Job.ID, len(c2.State))
	}
	if got := mustJSON(t, c2.State[0]); got != mustJSON(t, states[0].Clean()) {
		t.Errorf("retry starts from %s, want %s", got, mustJSON(t, states[0].Clean()))
	}

	final := Stats{RecordsEmitted: 20, BytesEmitted: 2000, RecordsCommitted: 20, BytesCommitted: 2000,
		Streams: []StreamStats{{Stream: protocol.StreamDescriptor{Name: "events"}, RecordsCommitted: 20, Status: "COMPLETE"}}}
	j, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c2.Attempt.ID, Status: AttemptSucceeded,
		Stats: &final, FinalStates: states[1:], JobStatus: JobSucceeded})
	if err != nil || j.Status != JobSucceeded || j.EndedAt == nil || j.RecordsSynced != 32 || j.BytesSynced != 2000 {
		t.Fatalf("succeed: %+v, %v", j, err)
	}
	if got := mustJSON(t, j.Attempts[1].Stats); got != mustJSON(t, final) {
		t.Errorf("final stats %s, want %s", got, mustJSON(t, final))
	}
	st, _ := f.db.State(ctx, f.conn.ID)
	if len(st) != 2 {
		t.Errorf("state after success: %d rows, want 2", len(st))
	}
	// The connection is free for a new job.
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerSchedule); err != nil {
		t.Fatal(err)
	}
}

// TestClaimSkipsBusyConnection verifies G7 across jobs: a running attempt
// keeps other jobs of its connection from being claimed, enforced by the
// attempts' partial unique index too.
func TestClaimSkipsBusyConnection(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	// Forge a second ready job on the same connection, as a bug or a
	// manual edit could.
	if _, err := f.db.execRaw(ctx, `UPDATE jobs SET status = 'failed' WHERE id = ?`, c.Job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatal(err)
	}
	if c2, err := f.db.ClaimJob(ctx, testOwner); c2 != nil || err != nil {
		t.Fatalf("claimed a job of a busy connection: %v, %v", c2, err)
	}
	_, err := f.db.execRaw(ctx, `INSERT INTO attempts (job_id, connection_id, number, status,
		started_at, updated_at, owner_instance, owner_pid) VALUES (?, ?, 2, 'running', 'x', 'x', 'i', 1)`,
		c.Job.ID, f.conn.ID)
	wantErr(t, wrapErr("insert", err), ErrConflict)
}

// TestClaimWithUndecryptableConfig verifies that a config that cannot be
// decrypted does not stall the queue: the claim is taken and reports it.
func TestClaimWithUndecryptableConfig(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.db.key, _ = NewKey([]byte("ffffffffffffffffffffffffffffffff"))
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.ClaimJob(ctx, testOwner)
	if err != nil || c == nil || c.ConfigErr == nil || c.SourceConfig != nil || c.DestinationConfig != nil {
		t.Fatalf("claim: %+v, %v", c, err)
	}
	j, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptFailed,
		FailureReasons: []FailureReason{{FailureOrigin: protocol.OriginPlatform, FailureType: protocol.FailureConfig,
			InternalMessage: c.ConfigErr.Error()}}, JobStatus: JobFailed})
	if err != nil || j.Status != JobFailed {
		t.Fatalf("finish: %+v, %v", j, err)
	}
}

// TestFinishAttemptValidation verifies the rules on results.
func TestFinishAttemptValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	retry := f.clock.Now()
	for _, tc := range []struct {
		field string
		r     AttemptResult
	}{
		{"status", AttemptResult{Status: AttemptRunning, JobStatus: JobFailed}},
		{"jobStatus", AttemptResult{Status: AttemptFailed, JobStatus: JobPending}},
		{"jobStatus", AttemptResult{Status: AttemptFailed, JobStatus: JobSucceeded}},
		{"retryAt", AttemptResult{Status: AttemptFailed, JobStatus: JobFailed, RetryAt: &retry}},
		{"failureReasons.failureOrigin", AttemptResult{Status: AttemptFailed, JobStatus: JobFailed,
			FailureReasons: []FailureReason{{FailureOrigin: "martians"}}}},
	} {
		tc.r.AttemptID = c.Attempt.ID
		_, err := f.db.FinishAttempt(ctx, tc.r)
		wantValidation(t, err, tc.field)
	}
	_, err := f.db.FinishAttempt(ctx, AttemptResult{AttemptID: 999, Status: AttemptFailed, JobStatus: JobFailed})
	wantErr(t, err, ErrNotFound)
	// A bad final state fails the whole finish: the attempt stays running.
	bad := []*protocol.State{{Type: protocol.StateStream}}
	_, err = f.db.FinishAttempt(ctx, AttemptResult{AttemptID: c.Attempt.ID, Status: AttemptSucceeded,
		JobStatus: JobSucceeded, FinalStates: bad})
	wantValidation(t, err, "state")
	if a, _ := f.db.Attempt(ctx, c.Attempt.ID); a.Status != AttemptRunning {
		t.Errorf("attempt status after a failed finish: %s", a.Status)
	}
	var fr FailureReason
	if err := json.Unmarshal([]byte(`{"failureOrigin":"source","failureType":"config_error","retryable":false,"timestamp":1,"streamDescriptor":{"name":"users"},"metadata":{"attemptNumber":1}}`), &fr); err != nil || fr.Validate() != nil {
		t.Errorf("Airbyte-shaped failure reason: %v, %v", err, fr.Validate())
	}
}

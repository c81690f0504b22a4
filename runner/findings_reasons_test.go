package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

func statusLine(stream, status string) string {
	return fmt.Sprintf(`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":%q},"status":%q}}}`, stream, status)
}

func logLine(level, msg string) string {
	return fmt.Sprintf(`{"type":"LOG","log":{"level":%q,"message":%q}}`, level, msg)
}

// genericTrace is what a Python CDK sends for an unexpected exception: a
// generic message, the cause in internal_message.
func genericTrace(internal string) string {
	return fmt.Sprintf(`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"Something went wrong in the connector. See the logs for more details.","internal_message":%q,"failure_type":"system_error"}}}`, internal)
}

// TestSyncCancelShowsOnlyTheCancel: a user's cancel is the attempt's only
// failure; the transient_error trace a connector sends as it is stopped
// (Ferry's kit: "connector stopped by signal") is not a second card, and
// the stream the source left RUNNING ends INCOMPLETE.
func TestSyncCancelShowsOnlyTheCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	acked := make(chan struct{})
	src := func(c context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, statusLine("users", protocol.StreamRunning), recordLine("users", 1), streamStateLine("users", 1))
		<-acked
		cancel()
		<-c.Done()
		writeLines(stdio.Out, `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"connector stopped by signal: context canceled","failure_type":"transient_error"}}}`)
		return ExitStatus{Code: 143}, nil
	}
	dst := &destRecorder{ack: func(n int, line string) string { close(acked); return line }}
	cp := &memCheckpointer{}
	res, _ := Sync(ctx, &FakeRuntime{Source: src, Destination: dst.run}, baseConfig(cp, nil, "users"))
	if res.Status != StatusCancelled {
		t.Fatalf("got %s, want cancelled", res.Status)
	}
	if len(res.Failures) != 1 || res.Failures[0].Type != protocol.FailureManualCancellation {
		t.Fatalf("failures: got %+v, want only the manual cancellation", res.Failures)
	}
	if got := streamStatus(res.Stats, "users"); got != protocol.StreamIncomplete {
		t.Fatalf("stream status after the cancel: got %q, want INCOMPLETE", got)
	}
}

// TestSyncFailedStreamsNotRunning: a failed attempt's streams that the
// source left STARTED or RUNNING are INCOMPLETE in the result and in the
// final commit, while a COMPLETE stream stays COMPLETE.
func TestSyncFailedStreamsNotRunning(t *testing.T) {
	src := scriptedSource(1, statusLine("users", protocol.StreamStarted), statusLine("orders", protocol.StreamRunning),
		statusLine("items", protocol.StreamComplete), recordLine("users", 1))
	cp := &memCheckpointer{}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, baseConfig(cp, nil, "users", "orders", "items"))
	if err == nil || res.Status != StatusFailed {
		t.Fatalf("got %s (%v), want failed", res.Status, err)
	}
	for stream, want := range map[string]string{"users": protocol.StreamIncomplete, "orders": protocol.StreamIncomplete, "items": protocol.StreamComplete} {
		if got := streamStatus(res.Stats, stream); got != want {
			t.Errorf("stream %s: got %q, want %q", stream, got, want)
		}
	}
	cp.mu.Lock()
	final := cp.commits[len(cp.commits)-1]
	cp.mu.Unlock()
	if !final.Final {
		t.Fatal("the last commit is not the final one")
	}
	if got := streamStatus(final.Stats, "orders"); got != protocol.StreamIncomplete {
		t.Errorf("the final commit's stream orders: got %q, want INCOMPLETE", got)
	}
}

// TestSyncFailureSaysWhy: a generic ERROR trace keeps its internal message
// and carries the connector's last error log lines (secrets masked, at
// most maxErrorLogs of them, INFO lines left out), on the first failure of
// that connector only.
func TestSyncFailureSaysWhy(t *testing.T) {
	lines := []string{logLine("INFO", "starting")}
	for i := range maxErrorLogs + 2 {
		lines = append(lines, logLine("ERROR", fmt.Sprintf("attempt %d: token s3cr3t-token rejected", i)))
	}
	lines = append(lines, logLine("FATAL", "KeyError: 'api_key'"), genericTrace("KeyError: 'api_key' (token s3cr3t-token)"))
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Secrets = []string{"s3cr3t-token"}
	res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(1, lines...), Destination: (&destRecorder{}).run}, cfg)
	if len(res.Failures) == 0 {
		t.Fatal("no failure")
	}
	f := res.Failures[0]
	if f.Origin != protocol.OriginSource || !strings.Contains(f.InternalMessage, "KeyError: 'api_key'") {
		t.Fatalf("first failure: got %+v, want the source's trace with its internal message", f)
	}
	if len(f.LastErrorLogs) != maxErrorLogs || f.LastErrorLogs[maxErrorLogs-1] != "KeyError: 'api_key'" {
		t.Fatalf("last error logs: got %q, want the last %d ERROR/FATAL lines ending with the FATAL one", f.LastErrorLogs, maxErrorLogs)
	}
	all := fmt.Sprint(res.Failures)
	if strings.Contains(all, "s3cr3t-token") || strings.Contains(all, "starting") {
		t.Fatalf("failures show a secret or an INFO line: %s", all)
	}
	for _, g := range res.Failures[1:] {
		if g.Origin == protocol.OriginSource && len(g.LastErrorLogs) > 0 {
			t.Errorf("a second source failure repeats the logs: %+v", g)
		}
	}
}

// TestLogLevelOldCDKComplaint: an older CDK destination's "ignoring input
// which can't be deserialized" lines (about the STREAM_STATUS Ferry sends
// at the end of input) are kept at debug level; the same words from the
// source, and other destination lines, keep their level.
func TestLogLevelOldCDKComplaint(t *testing.T) {
	complaint := `ignoring input which can't be deserialized as Airbyte Message: {"type":"TRACE","trace":{"type":"STREAM_STATUS"}}`
	for _, tc := range []struct {
		role       Role
		level, msg string
		want       string
	}{
		{RoleDestination, protocol.LevelInfo, complaint, protocol.LevelDebug},
		{RoleDestination, protocol.LevelWarn, complaint, protocol.LevelDebug},
		{RoleDestination, protocol.LevelWarn, "disk almost full", protocol.LevelWarn},
		{RoleSource, protocol.LevelWarn, complaint, protocol.LevelWarn},
	} {
		if got := logLevel(tc.role, tc.level, tc.msg); got != tc.want {
			t.Errorf("%s %s %.30q: got %s, want %s", tc.role, tc.level, tc.msg, got, tc.want)
		}
	}
	// End to end: the destination's complaint lands in the attempt log at DEBUG.
	log := &syncBuffer{}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		(&destRecorder{}).run(ctx, spec, stdio)
		writeLines(stdio.Out, logLine("INFO", complaint))
		return ExitStatus{}, nil
	}
	Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1)), Destination: dst}, baseConfig(&memCheckpointer{}, log, "users"))
	i := strings.Index(log.String(), "ignoring input")
	if i < 0 || !strings.Contains(log.String()[max(0, i-40):i], "DEBUG destination") {
		t.Fatalf("the complaint is not at DEBUG in the attempt log:\n%s", log.String())
	}
}

func streamStatus(st Stats, name string) string {
	i := slices.IndexFunc(st.Streams, func(s StreamStats) bool { return s.Stream.Name == name })
	if i < 0 {
		return "(none)"
	}
	return st.Streams[i].Status
}

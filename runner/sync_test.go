package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// TestSyncForwardsAndCommits checks the happy path: records pass byte for
// byte, states get Ferry's ids and counts, COMPLETE statuses follow the
// source's clean exit, and the acknowledged states are committed.
func TestSyncForwardsAndCommits(t *testing.T) {
	var lines []string
	for i := 1; i <= 4; i++ {
		lines = append(lines, recordLine("users", i))
		if i%2 == 0 {
			lines = append(lines, streamStateLine("users", i))
		}
	}
	// A record with unusual spacing and unknown members must arrive as is.
	odd := `{"type": "RECORD", "record": {"stream": "orders", "data": {"id": 1, "big": 12345678901234567890}, "emitted_at": 1, "x-unknown": [1,2]}, "extra": true}`
	lines = append(lines, odd, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"cursor":1}},"sourceStats":{"recordCount":1.0}}}`)

	dst := &destRecorder{}
	cp := &memCheckpointer{}
	rt := &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}
	res, err := Sync(context.Background(), rt, baseConfig(cp, nil, "users", "orders"))
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("status: got %s, want succeeded", res.Status)
	}
	recs := dst.inputOf(protocol.TypeRecord)
	if len(recs) != 5 || recs[4] != odd {
		t.Fatalf("records: got %d, last %q; want 5 with the odd one untouched", len(recs), recs[len(recs)-1])
	}
	states := dst.inputOf(protocol.TypeState)
	want := []string{
		`{"type":"STATE","state":{"id":1,"sourceStats":{"recordCount":2.0},"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":2}}}}`,
		`{"type":"STATE","state":{"id":2,"sourceStats":{"recordCount":2.0},"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":4}}}}`,
		`{"type":"STATE","state":{"id":3,"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"cursor":1}},"sourceStats":{"recordCount":1.0}}}`,
	}
	if strings.Join(states, "\n") != strings.Join(want, "\n") {
		t.Fatalf("forwarded states:\n got %s\nwant %s", strings.Join(states, "\n"), strings.Join(want, "\n"))
	}
	traces := dst.inputOf(protocol.TypeTrace)
	if len(traces) != 2 || !strings.Contains(traces[0], `"COMPLETE"`) {
		t.Fatalf("COMPLETE statuses: got %v, want one per stream", traces)
	}
	got := stateJSON(t, cp.last())
	wantState := `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"cursor":1}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":4}}}]`
	if got != wantState {
		t.Fatalf("committed state:\n got %s\nwant %s", got, wantState)
	}
	if res.Stats.RecordsEmitted != 5 || res.Stats.RecordsCommitted != 5 || res.Stats.StatesCommitted != 3 {
		t.Fatalf("stats: got %+v", res.Stats)
	}
	if !res.CommittedAnyState {
		t.Fatal("CommittedAnyState is false")
	}
}

// TestSyncDestinationCrashCommitsLastAck is G3: the destination acks state
// 4 of 10 and crashes; exactly state 4 is committed and the attempt fails
// with the destination as origin.
func TestSyncDestinationCrashCommitsLastAck(t *testing.T) {
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, recordLine("users", i))
		if i%10 == 0 {
			lines = append(lines, streamStateLine("users", i))
		}
	}
	dst := &destRecorder{crashAfterState: 4}
	cp := &memCheckpointer{}
	rt := &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}
	res, err := Sync(context.Background(), rt, baseConfig(cp, nil, "users"))
	if err == nil || res.Status != StatusFailed {
		t.Fatalf("got status %s err %v, want failed", res.Status, err)
	}
	if got := stateJSON(t, cp.last()); !strings.Contains(got, `"cursor":40}`) {
		t.Fatalf("committed state: got %s, want cursor 40", got)
	}
	if !hasFailure(res, protocol.OriginDestination, "", "") {
		t.Fatalf("failures %+v: want a destination failure", res.Failures)
	}
	if res.Stats.RecordsCommitted != 40 {
		t.Fatalf("records committed: got %d, want 40", res.Stats.RecordsCommitted)
	}
}

// TestSyncRefusesBadAcks is G2: forged, unknown, regressing and
// foreign-stream acknowledgements are never committed and fail a strict
// attempt; the honest acknowledgements still commit.
func TestSyncRefusesBadAcks(t *testing.T) {
	cases := []struct {
		name      string
		ack       func(n int, line string) string
		wantState string // substring of the committed state
		wantErr   string
	}{
		{
			name: "unknown id",
			ack: func(n int, line string) string {
				if n == 3 {
					return strings.Replace(line, `"id":3`, `"id":99`, 1)
				}
				return line
			},
			wantState: `"cursor":2}`, wantErr: "never sent",
		},
		{
			name: "forged blob",
			ack: func(n int, line string) string {
				if n == 3 {
					return strings.Replace(line, `"cursor":3`, `"cursor":1000`, 1)
				}
				return line
			},
			wantState: `"cursor":2}`, wantErr: "different state",
		},
		{
			name: "foreign stream",
			ack: func(n int, line string) string {
				if n == 3 {
					return strings.Replace(line, `"name":"users"`, `"name":"orders"`, 1)
				}
				return line
			},
			wantState: `"cursor":2}`, wantErr: "Ferry sent it for stream users",
		},
		{
			name: "regressing id is ignored",
			ack: func(n int, line string) string {
				if n == 3 {
					return strings.Replace(line, `"id":3`, `"id":1`, 1)
				}
				return line
			},
			wantState: `"cursor":2}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := []string{
				recordLine("users", 1), streamStateLine("users", 1),
				recordLine("users", 2), streamStateLine("users", 2),
				recordLine("users", 3), streamStateLine("users", 3),
			}
			dst := &destRecorder{ack: tc.ack}
			cp := &memCheckpointer{}
			rt := &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}
			res, err := Sync(context.Background(), rt, baseConfig(cp, nil, "users", "orders"))
			got := stateJSON(t, cp.last())
			if !strings.Contains(got, tc.wantState) {
				t.Fatalf("committed: got %s, want %s", got, tc.wantState)
			}
			if strings.Contains(got, "1000") {
				t.Fatalf("a forged state was committed: %s", got)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				return
			}
			if err == nil || len(res.ProtocolErrors) == 0 || !strings.Contains(res.ProtocolErrors[0], tc.wantErr) {
				t.Fatalf("got err %v, protocol errors %v; want a failure naming %q", err, res.ProtocolErrors, tc.wantErr)
			}
		})
	}
}

// TestSyncSourceFailureSendsNoComplete is G5: a source that exits 1 after
// emitting everything gets no COMPLETE, and acks still commit.
func TestSyncSourceFailureSendsNoComplete(t *testing.T) {
	lines := []string{recordLine("users", 1), streamStateLine("users", 1),
		`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1795287976937.5989,"error":{"message":"boom","failure_type":"config_error"}}}`}
	dst := &destRecorder{}
	cp := &memCheckpointer{}
	rt := &FakeRuntime{Source: scriptedSource(1, lines...), Destination: dst.run}
	res, err := Sync(context.Background(), rt, baseConfig(cp, nil, "users"))
	if err == nil {
		t.Fatal("got success, want failure")
	}
	if traces := dst.inputOf(protocol.TypeTrace); len(traces) != 0 {
		t.Fatalf("destination got %v, want no COMPLETE", traces)
	}
	if !strings.Contains(stateJSON(t, cp.last()), `"cursor":1}`) {
		t.Fatalf("the acked state was not committed: %s", stateJSON(t, cp.last()))
	}
	if res.Failures[0].Type != protocol.FailureConfig || res.Failures[0].ExternalMessage != "boom" || !IsConfigError(err) {
		t.Fatalf("failures: got %+v, want the config_error trace first", res.Failures)
	}
}

// TestSyncCancel checks that a cancel ends the attempt as cancelled and
// still commits what was acknowledged.
func TestSyncCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	acked := make(chan struct{})
	src := func(c context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("users", 1), streamStateLine("users", 1))
		<-acked // the destination acknowledged state 1
		cancel()
		<-c.Done()
		return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
	}
	dst := &destRecorder{ack: func(n int, line string) string {
		close(acked)
		return line
	}}
	cp := &memCheckpointer{}
	res, err := Sync(ctx, &FakeRuntime{Source: src, Destination: dst.run}, baseConfig(cp, nil, "users"))
	if res.Status != StatusCancelled || err == nil {
		t.Fatalf("got %s (%v), want cancelled", res.Status, err)
	}
	if !strings.Contains(stateJSON(t, cp.last()), `"cursor":1}`) {
		t.Fatalf("acked state lost on cancel: %s", stateJSON(t, cp.last()))
	}
}

// TestSyncBadSourceOutput: garbage is logged and dropped, a record-like
// garbage line fails a strict attempt, an unknown stream is fatal, and a
// line over the limit fails cleanly naming the limit.
func TestSyncBadSourceOutput(t *testing.T) {
	t.Run("garbage", func(t *testing.T) {
		log := &syncBuffer{}
		lines := []string{"hello from print()", recordLine("users", 1), `{"type":"RECORD","record":{"stream":"users"`, streamStateLine("users", 1)}
		res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, log, "users"))
		if err == nil || !hasFailure(res, protocol.OriginSource, "", "record-like") {
			t.Fatalf("got %v %+v, want a record-like failure", err, res.Failures)
		}
		if !strings.Contains(log.String(), "hello from print()") {
			t.Fatalf("log lacks the garbage line:\n%s", log.String())
		}
	})
	t.Run("unknown stream", func(t *testing.T) {
		res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("nope", 1)), Destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
		if !hasFailure(res, protocol.OriginSource, "", "not in the configured catalog") {
			t.Fatalf("failures %+v", res.Failures)
		}
	})
	t.Run("line too long", func(t *testing.T) {
		big := fmt.Sprintf(`{"type":"RECORD","record":{"stream":"users","data":{"blob":%q},"emitted_at":1}}`, strings.Repeat("x", 5000))
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		cfg.MaxLineBytes = 1024
		res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, big), Destination: (&destRecorder{}).run}, cfg)
		if !hasFailure(res, protocol.OriginSource, "", "over the 1024-byte limit") || !hasFailure(res, protocol.OriginSource, "", "stream users") {
			t.Fatalf("failures %+v", res.Failures)
		}
	})
}

// TestSyncLegacyAndGlobalAliases covers real-connector quirks: LEGACY state
// without a type, and GLOBAL echoes under "global_" with ", " spacing.
func TestSyncLegacyAndGlobalAliases(t *testing.T) {
	t.Run("legacy", func(t *testing.T) {
		lines := []string{recordLine("users", 1), `{"type":"STATE","state":{"data":{"users":{"cursor":1}}}}`}
		cp := &memCheckpointer{}
		_, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: (&destRecorder{}).run}, baseConfig(cp, nil, "users"))
		if err != nil {
			t.Fatal(err)
		}
		file, _ := protocol.StateFile(cp.last())
		if string(file) != `{"users":{"cursor":1}}` {
			t.Fatalf("legacy state file: got %s, want the bare blob", file)
		}
	})
	t.Run("global_", func(t *testing.T) {
		lines := []string{recordLine("users", 1),
			`{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":123456789012345678901},"stream_states":[{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}}]}}}`}
		dst := &destRecorder{ack: func(n int, line string) string {
			m, _ := protocol.Decode([]byte(line))
			return fmt.Sprintf(`{"type": "STATE", "state": {"type": "GLOBAL", "id": %d, "global_": {"stream_states": [{"stream_descriptor": {"name": "users"}, "stream_state": {"c": 1}}], "shared_state": {"lsn": 123456789012345678901}}}}`, *m.State.ID)
		}}
		cp := &memCheckpointer{}
		_, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, baseConfig(cp, nil, "users"))
		if err != nil {
			t.Fatal(err)
		}
		got := stateJSON(t, cp.last())
		if !strings.Contains(got, `"global":{"shared_state":{"lsn":123456789012345678901}`) || strings.Contains(got, "global_") {
			t.Fatalf("committed: got %s", got)
		}
	})
	t.Run("echo without id", func(t *testing.T) {
		lines := []string{recordLine("users", 1), streamStateLine("users", 1), recordLine("users", 2), streamStateLine("users", 2)}
		dst := &destRecorder{ack: func(n int, line string) string {
			m, _ := protocol.Decode([]byte(line))
			m.State.ID = nil
			b, _ := json.Marshal(m)
			return string(b)
		}}
		cp := &memCheckpointer{}
		_, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, baseConfig(cp, nil, "users"))
		if err != nil || !strings.Contains(stateJSON(t, cp.last()), `"cursor":2}`) {
			t.Fatalf("err %v, committed %s", err, stateJSON(t, cp.last()))
		}
	})
}

// TestSyncMixedStateKinds: STREAM and GLOBAL in one sync are fatal.
func TestSyncMixedStateKinds(t *testing.T) {
	lines := []string{streamStateLine("users", 1), `{"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":[]}}}`}
	res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if !hasFailure(res, protocol.OriginSource, "", "mixed STREAM and GLOBAL") {
		t.Fatalf("failures %+v", res.Failures)
	}
}

// TestSyncCommitFailureKeepsState: a failing commit (a full disk) fails the
// attempt with origin persistence.
func TestSyncCommitFailureKeepsState(t *testing.T) {
	cp := &memCheckpointer{fail: errors.New("database or disk is full")}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: (&destRecorder{}).run}, baseConfig(cp, nil, "users"))
	if err == nil || !hasFailure(res, protocol.OriginPersistence, "", "disk is full") {
		t.Fatalf("got %v %+v, want a persistence failure", err, res.Failures)
	}
}

// TestSyncRedactsSecrets: secret values never reach the log or failures.
func TestSyncRedactsSecrets(t *testing.T) {
	log := &syncBuffer{}
	lines := []string{`{"type":"LOG","log":{"level":"INFO","message":"connecting with hunter2-password"}}`,
		`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"bad password hunter2-password"}}}`}
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		io.WriteString(stdio.Err, "stderr: hunter2-password\n")
		return scriptedSource(1, lines...)(ctx, spec, stdio)
	}
	cfg := baseConfig(&memCheckpointer{}, log, "users")
	cfg.Secrets = []string{"hunter2-password"}
	res, _ := Sync(context.Background(), &FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, cfg)
	if strings.Contains(log.String(), "hunter2") {
		t.Fatalf("secret in log:\n%s", log.String())
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("secret in result: %s", b)
	}
	if !strings.Contains(log.String(), secret.Mask) {
		t.Fatalf("log does not show the mask:\n%s", log.String())
	}
}

// TestSyncFieldSelectionAndMapping: deselected fields are dropped and names
// mapped for that stream only; acks map back to source names.
func TestSyncFieldSelectionAndMapping(t *testing.T) {
	lines := []string{recordLine("users", 1), streamStateLine("users", 1)}
	dst := &destRecorder{}
	cp := &memCheckpointer{}
	cfg := baseConfig(cp, nil, "users")
	cfg.Mapping = NamespaceMapping{Prefix: "raw_"}
	cfg.SelectedFields = map[protocol.StreamDescriptor][]string{{Name: "users"}: {"id"}}
	_, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := dst.inputOf(protocol.TypeRecord)
	if len(recs) != 1 || !strings.Contains(recs[0], `"stream":"raw_users"`) || strings.Contains(recs[0], `"name"`) {
		t.Fatalf("record: got %v", recs)
	}
	if got := stateJSON(t, cp.last()); !strings.Contains(got, `{"name":"users"}`) {
		t.Fatalf("committed state uses the destination name: %s", got)
	}
}

// TestSyncIncompleteStreamGetsNoComplete: a stream the source reported
// INCOMPLETE gets no COMPLETE status even when the source exits 0; the
// other streams do.
func TestSyncIncompleteStreamGetsNoComplete(t *testing.T) {
	lines := []string{recordLine("users", 1), streamStateLine("users", 1), recordLine("orders", 1),
		`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"orders"},"status":"INCOMPLETE"}}}`}
	dst := &destRecorder{}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	traces := dst.inputOf(protocol.TypeTrace)
	if len(traces) != 1 || !strings.Contains(traces[0], `"name":"users"`) {
		t.Fatalf("COMPLETE statuses: got %v, want one for users only", traces)
	}
	if len(res.Warnings) == 0 {
		t.Fatal("no warning about the incomplete stream")
	}
}

// TestSyncControlSecretsAreMasked: a CONTROL config update with a new
// secret (a refreshed token) is masked in every later log line.
func TestSyncControlSecretsAreMasked(t *testing.T) {
	log := &syncBuffer{}
	lines := []string{
		`{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1,"connectorConfig":{"config":{"token":"fresh-token-4711"}}}}`,
		`{"type":"LOG","log":{"level":"INFO","message":"now using fresh-token-4711"}}`,
	}
	cfg := baseConfig(&memCheckpointer{}, log, "users")
	cfg.Source.Spec = json.RawMessage(`{"connectionSpecification":{"type":"object","properties":{"token":{"type":"string","airbyte_secret":true}}}}`)
	var persisted string
	cfg.OnControl = func(role Role, c json.RawMessage) error { persisted = string(c); return nil }
	if _, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: (&destRecorder{}).run}, cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(persisted, "fresh-token-4711") {
		t.Fatalf("the config update was not handed on: %q", persisted)
	}
	if strings.Contains(log.String(), "fresh-token-4711") {
		t.Fatalf("the refreshed token is in the log:\n%s", log.String())
	}
}

// TestNoCompleteStatusAfterASourceFailure: a source that exits 0 after a dropped record-like line or an
// ERROR trace has failed, so the destination gets no COMPLETE (G5).
func TestNoCompleteStatusAfterASourceFailure(t *testing.T) {
	for name, bad := range map[string]string{
		"dropped record": `{"type":"RECORD","record":{"stream":"users","data":{"id":2`,
		"error trace":    `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"stream users failed","failure_type":"system_error","stream_descriptor":{"name":"users"}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dst := &destRecorder{}
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), bad, streamStateLine("users", 1)), Destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users"))
			if err == nil {
				t.Fatal("got success, want a failed attempt")
			}
			if traces := dst.inputOf(protocol.TypeTrace); len(traces) != 0 {
				t.Fatalf("the attempt failed (%s) but the destination got COMPLETE: %v", res.Failures[0].ExternalMessage, traces)
			}
		})
	}
}

// sourceStopDelay is a runtime whose cancelled source takes its SIGTERM
// grace to exit, during which the attempt's clock moves on a day.
type sourceStopDelay struct {
	*FakeRuntime
	clk *clock.Fake
}

func (r sourceStopDelay) Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	st, err := r.FakeRuntime.Run(ctx, spec, stdio)
	if spec.Role == RoleSource && ctx.Err() != nil {
		r.clk.Advance(24 * time.Hour)
	}
	return st, err
}

// TestNoSourceExitFailureForASourceFerryStopped: after the pump stops on a
// fatal finding (a record of an unknown stream) Ferry stops the source and
// waits for it as long as its stop takes; SourceExit applies only to a
// source that closed its output on its own.
func TestNoSourceExitFailureForASourceFerryStopped(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("nope", 1))
		<-ctx.Done()
		return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.SourceExit = time.Minute
	ft := withFakeTime(&cfg, time.Hour)
	rt := sourceStopDelay{&FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, ft.clk}
	res, _ := Sync(context.Background(), rt, cfg)
	if hasFailure(res, protocol.OriginSource, "", "did not exit within") {
		t.Fatalf("a spurious failure for a source Ferry itself stopped: %+v", res.Failures)
	}
	if !hasFailure(res, protocol.OriginSource, "", "not in the configured catalog") {
		t.Fatalf("failures %+v: want the unknown stream", res.Failures)
	}
}

// TestSyncStorageFullFailureComesFirst is issue 18's full disk: the state
// commit fails for want of space, the attempt stops, and the destination,
// stopped, reports "context canceled" in an ERROR trace. The failure
// listed first must be the cause, worded for the user, not the
// destination's complaint about being stopped.
func TestSyncStorageFullFailureComesFirst(t *testing.T) {
	cp := &memCheckpointer{fail: StorageFull(errors.New("store: commit checkpoint: storage full: database or disk is full"))}
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		io.WriteString(stdio.Out, recordLine("users", 1)+"\n"+streamStateLine("users", 1)+"\n")
		<-ctx.Done() // the source has more to say, until it is stopped
		return ExitStatus{Signalled: true}, ErrCancelled
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		lines := make(chan string)
		go func() {
			r := protocol.NewReader(stdio.In, 0)
			for {
				line, err := r.ReadLine()
				if err != nil {
					close(lines)
					return
				}
				lines <- string(line)
			}
		}()
		for {
			select {
			case line, ok := <-lines:
				if ok && strings.Contains(line, `"STATE"`) {
					io.WriteString(stdio.Out, line+"\n") // the acknowledgement
				}
			case <-ctx.Done():
				io.WriteString(stdio.Out, `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"context canceled","failure_type":"system_error"}}}`+"\n")
				return ExitStatus{Code: 1}, nil
			}
		}
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst}, baseConfig(cp, nil, "users"))
	if err == nil || res.Status != StatusFailed || len(res.Failures) == 0 {
		t.Fatalf("got %v, %s, %+v; want a failed attempt", err, res.Status, res.Failures)
	}
	first := res.Failures[0]
	if first.Origin != protocol.OriginPersistence || !strings.HasPrefix(first.ExternalMessage, "Ferry's data directory is full: ") {
		t.Errorf("first failure %s %q, want persistence, \"Ferry's data directory is full: ...\"; all: %+v", first.Origin, first.ExternalMessage, res.Failures)
	}
}

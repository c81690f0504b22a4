package runner

// Review tests for the sync engine. Each test names the defect it shows; a
// failing test here is a finding, not flakiness. Tests marked "pins" check
// subtle behaviour that is correct today and must stay so.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// ---------------------------------------------------------------------------
// 1. Committed state: an acknowledged STREAM state must replace a GLOBAL or
// LEGACY input state (or an earlier LEGACY ack), not be hidden behind it.

// TestReviewStreamAckHiddenByLegacyInputState: the previous run committed
// a LEGACY state (an older connector version); this run's source emits
// STREAM states and the destination acknowledges them. committedStates()
// returns only the globalKey entry when one exists, so every commit still
// carries the old LEGACY blob: the acknowledged STREAM state is never
// persisted and every run restarts from the same old state.
func TestReviewStreamAckHiddenByLegacyInputState(t *testing.T) {
	for _, mode := range []string{ModeStdio, ModeSocket} {
		t.Run(mode, func(t *testing.T) {
			cp := &memCheckpointer{}
			cfg := baseConfig(cp, nil, "users")
			cfg.State = []*protocol.State{{Data: json.RawMessage(`{"users":{"cursor":0}}`)}}
			rt := &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), destination: (&destRecorder{}).run}
			if mode == ModeSocket {
				cfg.Mode = Mode{Mode: ModeSocket, Format: FormatJSONL, Sockets: 2}
				rt.source = scriptedSource(0, socketStateLine("users", 1, "p1", 10, 10))
				rt.destination = socketDest(0, 1)
			}
			res, err := Sync(context.Background(), rt, cfg)
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			got := stateJSON(t, cp.last())
			if !strings.Contains(got, `"stream_descriptor":{"name":"users"}`) {
				t.Fatalf("the acknowledged STREAM state was not committed (CommittedAnyState=%v, StatesCommitted=%d); committed: %s",
					res.CommittedAnyState, res.Stats.StatesCommitted, got)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 2. Pending-state coalescing drops the wrong entry.

// TestReviewCoalesceDropsJustPushedState: when the pending limit is hit,
// push() drops the oldest state of the *new state's* queue. When that queue
// holds only the state just pushed, the new state itself is forgotten
// (while older states of other streams stay), and the destination's
// acknowledgement of it is silently ignored: an ack that arrived is lost.
func TestReviewCoalesceDropsJustPushedState(t *testing.T) {
	idx, err := newCatalogIndex(testCatalog("users", "orders"), &nameMapper{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := newStateTracker(idx, nil)
	tr.maxPending = 2
	warn := func(string, ...any) {}
	var out []byte
	for _, l := range []string{streamStateLine("users", 1), streamStateLine("users", 2), streamStateLine("orders", 3)} {
		m, err := protocol.Decode([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if out, err = tr.sourceState([]byte(l), m, &nameMapper{}, warn); err != nil {
			t.Fatal(err)
		}
	}
	echo, err := protocol.Decode(out) // the destination echoes orders' state, id 3
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.destState(echo.State, &nameMapper{})
	if err != nil || res == nil || res.committed == nil {
		t.Fatalf("ack of the newest state (id 3, orders) was not committed: res=%+v err=%v; pending users=%d orders=%d",
			res, err, len(tr.pending[protocol.StreamDescriptor{Name: "users"}]), len(tr.pending[protocol.StreamDescriptor{Name: "orders"}]))
	}
}

// ---------------------------------------------------------------------------
// 3. An acknowledgement followed by other output in the same read is not
// committed until the next STATE line or EOF.

// TestReviewAckCommittedWhileDestinationRuns: the destination writes an ack
// and a LOG line in one write, then keeps running (a long load). The
// reader defers the commit because more bytes are buffered after the STATE
// line, and only a later STATE line or EOF triggers it: for the whole
// remaining run the ack is not durable (a kill -9 of Ferry loses it).
func TestReviewAckCommittedWhileDestinationRuns(t *testing.T) {
	cp := &memCheckpointer{}
	var sawCommit atomic.Bool
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		r := protocol.NewReader(stdio.In, 0)
		for {
			line, err := r.ReadLine()
			if err != nil {
				break
			}
			if env, _ := protocol.ScanEnvelope(line); env.Type != protocol.TypeState {
				continue
			}
			io.WriteString(stdio.Out, string(line)+"\n"+`{"type":"LOG","log":{"level":"INFO","message":"flushed"}}`+"\n")
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if cp.last() != nil {
					sawCommit.Store(true)
					break
				}
			}
		}
		return ExitStatus{}, nil
	}
	_, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), destination: dst}, baseConfig(cp, nil, "users"))
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !sawCommit.Load() {
		t.Fatal("the acknowledgement was not committed within 1 s while the destination kept running; it became durable only at EOF")
	}
}

// ---------------------------------------------------------------------------
// 4. The no-progress watchdog blames the source when Ferry is not waiting
// on it.

// TestReviewNoProgressAfterSourceExit: the source exited 0; the destination
// takes longer than NoProgress to finish after end of input (a warehouse
// finalising). The watchdog still counts only source lines and fails the
// attempt with heartbeat_timeout, origin source.
func TestReviewNoProgressAfterSourceExit(t *testing.T) {
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		st, err := (&destRecorder{}).run(ctx, spec, stdio)
		time.Sleep(400 * time.Millisecond) // finalising after end of input
		return st, err
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.NoProgress = 100 * time.Millisecond
	res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), destination: dst}, cfg)
	if err != nil {
		t.Fatalf("got %v (failures %+v); the source had exited 0, a slow destination finish is not source silence", err, res.Failures)
	}
}

// TestReviewNoProgressWhileDestinationBlocks: the destination stops reading
// for a while (a synchronous flush). The pump is blocked writing to it, so
// the source cannot make progress; the watchdog blames the source
// (heartbeat_timeout, origin source) long before DestinationWrite applies.
func TestReviewNoProgressWhileDestinationBlocks(t *testing.T) {
	var lines []string
	for i := 0; i < 60000; i++ { // ~6 MB: more than the pipes and buffers hold
		lines = append(lines, recordLine("users", i))
	}
	lines = append(lines, streamStateLine("users", 1))
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		buf := make([]byte, 100)
		stdio.In.Read(buf)
		time.Sleep(500 * time.Millisecond) // flushing, not reading
		return (&destRecorder{}).run(ctx, spec, stdio)
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.NoProgress = 150 * time.Millisecond
	res, _ := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, lines...), destination: dst}, cfg)
	if hasFailure(res, OriginSource, FailureHeartbeatTimeout, "") {
		t.Fatalf("the source was blamed for destination backpressure: %+v", res.Failures)
	}
}

// ---------------------------------------------------------------------------
// 5. Bridged mode: the bridge keeps dialling for SocketConnect after the
// source has already exited.

// TestReviewBridgedDialStopsWhenSourceExits: the source fails at startup
// (exit 1, never listens). The bridge polls its sockets until SocketConnect
// (15 min by default) although the source is gone; the attempt hangs that
// long.
func TestReviewBridgedDialStopsWhenSourceExits(t *testing.T) {
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: ModeBridged, Format: FormatJSONL, Sockets: 2}
	cfg.Timeouts.SocketConnect = 3 * time.Second
	src := scriptedSource(1, `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"bad config","failure_type":"config_error"}}}`)
	start := time.Now()
	res, err := Sync(context.Background(), &fakeRuntime{source: src, destination: (&destRecorder{}).run}, cfg)
	if err == nil {
		t.Fatal("got success, want failure")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("the attempt took %s after the source exited at once; the bridge waited out SocketConnect (failures %+v)", d.Round(time.Millisecond), res.Failures)
	}
}

// ---------------------------------------------------------------------------
// 6. G5: COMPLETE is sent although the attempt fails for a source-side
// reason.

// TestReviewNoCompleteWhenSourceFailed: the source exits 0 but (a) a
// record-like line was dropped (strict mode: data loss, the attempt fails),
// or (b) it emitted an ERROR trace (the attempt fails). Ferry still sends
// COMPLETE for every stream, so the destination finalises an overwrite
// with incomplete data.
func TestReviewNoCompleteWhenSourceFailed(t *testing.T) {
	for name, bad := range map[string]string{
		"dropped record": `{"type":"RECORD","record":{"stream":"users","data":{"id":2`,
		"error trace":    `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"stream users failed","failure_type":"system_error","stream_descriptor":{"name":"users"}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dst := &destRecorder{}
			res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), bad, streamStateLine("users", 1)), destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users"))
			if err == nil {
				t.Fatal("got success, want a failed attempt")
			}
			if traces := dst.inputOf(protocol.TypeTrace); len(traces) != 0 {
				t.Fatalf("the attempt failed (%s) but the destination got COMPLETE: %v", res.Failures[0].ExternalMessage, traces)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 7. G10: ERROR traces are kept without a cap.

// TestReviewTraceFailuresBounded: each ERROR trace becomes a Failure of up
// to 150 KB (message and stack), appended to traceFailures without a
// limit; a connector that emits one per bad record grows Ferry's memory
// (and the job's failure list) with its output.
func TestReviewTraceFailuresBounded(t *testing.T) {
	var lines []string
	for i := 0; i < 3000; i++ {
		lines = append(lines, fmt.Sprintf(`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":%d,"error":{"message":"bad record %d","failure_type":"system_error"}}}`, i+1, i))
	}
	res, _ := Sync(context.Background(), &fakeRuntime{source: scriptedSource(1, lines...), destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if n := len(res.Failures); n > 1010 {
		t.Fatalf("%d failures kept for 3000 ERROR traces; want a cap (warnings and protocol errors stop at 1000)", n)
	}
}

// ---------------------------------------------------------------------------
// 8. Secrets: truncation before redaction leaks the start of a secret.

// TestReviewRedactionSurvivesTruncation: a log line, a stderr line or a
// trace message is cut (16 KiB, 16 KiB, 50,000 bytes) before the redactor
// runs, so a secret that straddles the cut is no longer matched and its
// first bytes reach the log or the failure.
func TestReviewRedactionSurvivesTruncation(t *testing.T) {
	const secret = "hunter2-0123456789-abcdef"
	leak := secret[:12]
	cases := map[string]func(stdio Stdio){
		"LOG message": func(stdio Stdio) {
			msg := strings.Repeat("x", MaxLogLineBytes-12) + secret
			b, _ := json.Marshal(map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": msg}})
			writeLines(stdio.Out, string(b))
		},
		"stderr line": func(stdio Stdio) {
			io.WriteString(stdio.Err, strings.Repeat("y", MaxLogLineBytes-12)+secret+"\n")
		},
		"trace message": func(stdio Stdio) {
			msg := strings.Repeat("z", maxFailureText-12) + secret
			b, _ := json.Marshal(map[string]any{"type": "TRACE", "trace": map[string]any{"type": "ERROR", "emitted_at": 1,
				"error": map[string]any{"message": msg, "failure_type": "system_error"}}})
			writeLines(stdio.Out, string(b))
		},
	}
	for name, emit := range cases {
		t.Run(name, func(t *testing.T) {
			log := &syncBuffer{}
			src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
				emit(stdio)
				return ExitStatus{Code: 1}, nil
			}
			cfg := baseConfig(&memCheckpointer{}, log, "users")
			cfg.Secrets = []string{secret}
			res, _ := Sync(context.Background(), &fakeRuntime{source: src, destination: (&destRecorder{}).run}, cfg)
			if strings.Contains(log.String(), leak) {
				t.Errorf("the log holds the first %d bytes of the secret", len(leak))
			}
			b, _ := json.Marshal(res)
			if strings.Contains(string(b), leak) {
				t.Errorf("the result holds the first %d bytes of the secret", len(leak))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 9. State enrichment: splicing adds a member the raw state already has.

// TestReviewEnrichDoesNotDuplicateMembers: a source state carrying
// "sourceStats":null, "sourceStats":{} or "id":null decodes with no count
// or id, so enrich takes the splice path and prepends Ferry's member while
// the source's stays in the raw bytes. The destination gets a duplicate
// key; JSON readers (Jackson, Python, encoding/json) keep the last one, the
// source's, so the destination sees no recordCount (bulk destinations
// throw) or a null id.
func TestReviewEnrichDoesNotDuplicateMembers(t *testing.T) {
	for name, member := range map[string]string{
		"sourceStats null":  `"sourceStats":null`,
		"sourceStats empty": `"sourceStats":{}`,
		"id null":           `"id":null`,
	} {
		t.Run(name, func(t *testing.T) {
			state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":1}},` + member + `}}`
			dst := &destRecorder{}
			_, _ = Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), state), destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users"))
			states := dst.inputOf(protocol.TypeState)
			if len(states) != 1 {
				t.Fatalf("forwarded states: %v", states)
			}
			var m struct {
				State map[string]any `json:"state"`
			}
			if err := json.Unmarshal([]byte(states[0]), &m); err != nil {
				t.Fatal(err)
			}
			stats, _ := m.State["sourceStats"].(map[string]any)
			if m.State["id"] != float64(1) || stats == nil || stats["recordCount"] != float64(1) {
				t.Fatalf("the destination reads id=%v sourceStats=%v from %s", m.State["id"], m.State["sourceStats"], states[0])
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 10. G12 in socket mode: an early acknowledgement's destination counts are
// replaced by the source state's.

// TestReviewSocketEarlyAckKeepsDestinationStats: in socket mode the
// destination may ack a state before Ferry reads the source's stdout copy
// (dual emission). When the source copy arrives, pump.socketState books
// the commit with stats.ack(res, <the source's state>), so the ack's
// destinationStats are dropped; DestinationRecordCount then disagrees with
// RecordsCommitted, a false count mismatch (fatal with FailOnCountMismatch).
func TestReviewSocketEarlyAckKeepsDestinationStats(t *testing.T) {
	ack := func(id int) string {
		return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","id":%d,"partition_id":"p1","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":10.0},"destinationStats":{"recordCount":10.0}}}`, id, id*10)
	}
	state1Written := make(chan struct{})
	ack2Written := make(chan struct{})
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		close(state1Written)
		<-ack2Written
		time.Sleep(100 * time.Millisecond) // the destination was faster
		writeLines(stdio.Out, socketStateLine("users", 2, "p1", 20, 10))
		return ExitStatus{}, nil
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		<-state1Written
		time.Sleep(50 * time.Millisecond)
		writeLines(stdio.Out, ack(1))
		writeLines(stdio.Out, ack(2))
		close(ack2Written)
		return ExitStatus{}, nil
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: ModeSocket, Format: FormatJSONL, Sockets: 2}
	cfg.FailOnCountMismatch = true
	res, err := Sync(context.Background(), &fakeRuntime{source: src, destination: dst}, cfg)
	st := res.Stats.Streams[0]
	if err != nil || st.DestinationRecordCount != st.RecordsCommitted {
		t.Fatalf("err %v; destination count %d, committed %d (both acks carried destinationStats 10)", err, st.DestinationRecordCount, st.RecordsCommitted)
	}
}

// ---------------------------------------------------------------------------
// 11. Failures built in finish() bypass addFailure.

// TestReviewFinishFailuresAreComplete: the strict-mode failures made in
// finish() (dropped record-like lines, invalid acks, unmatched socket
// acks, count mismatches) are appended directly, so they have no timestamp
// and Retryable=false although they are system_errors (every other
// system_error is retryable).
func TestReviewFinishFailuresAreComplete(t *testing.T) {
	lines := []string{recordLine("users", 1), `{"type":"RECORD","record":{"stream":"users"`, streamStateLine("users", 1)}
	res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, lines...), destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil {
		t.Fatal("got success, want the record-like failure")
	}
	for _, f := range res.Failures {
		if f.Type == protocol.FailureSystem && (!f.Retryable || f.Timestamp.IsZero()) {
			t.Errorf("failure %q: retryable=%v timestamp=%v; want retryable with a timestamp", f.ExternalMessage, f.Retryable, f.Timestamp)
		}
	}
}

// ---------------------------------------------------------------------------
// 12. After Ferry stops the source, SourceExit still applies.

// slowStopRuntime is the fake runtime with a SIGTERM grace: a cancelled
// source takes stop to return, as a real container does.
type slowStopRuntime struct {
	*fakeRuntime
	stop time.Duration
}

func (r slowStopRuntime) Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	st, err := r.fakeRuntime.Run(ctx, spec, stdio)
	if spec.Role == RoleSource && ctx.Err() != nil {
		time.Sleep(r.stop)
	}
	return st, err
}

// TestReviewNoSpuriousSourceExitFailure: the pump stops on a fatal finding
// (a record of an unknown stream) and cancels the source, which takes its
// SIGTERM grace to exit. runConnectors still waits only SourceExit (10 s
// by default, less than the 30 s grace) and then adds "the source closed
// its output but did not exit", which is false: Ferry stopped it.
func TestReviewNoSpuriousSourceExitFailure(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("nope", 1))
		<-ctx.Done()
		return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Timeouts.SourceExit = 50 * time.Millisecond
	rt := slowStopRuntime{&fakeRuntime{source: src, destination: (&destRecorder{}).run}, 300 * time.Millisecond}
	res, _ := Sync(context.Background(), rt, cfg)
	if hasFailure(res, OriginSource, "", "did not exit within") {
		t.Fatalf("a spurious failure for a source Ferry itself stopped: %+v", res.Failures)
	}
}

// ---------------------------------------------------------------------------
// 13. Timeouts: "a negative value disables that check" is not true for
// SourceExit, EndOfInput and SocketConnect.

// TestReviewNegativeTimeoutDisables: Timeouts documents that a negative
// value disables a check (the daemon passes a connection's EndOfInput
// through), but time.After(negative) fires at once: the destination is
// killed right after end of input, and a source that exits a moment after
// closing its stdout is failed.
func TestReviewNegativeTimeoutDisables(t *testing.T) {
	t.Run("EndOfInput", func(t *testing.T) {
		dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			st, err := (&destRecorder{}).run(ctx, spec, stdio)
			time.Sleep(50 * time.Millisecond)
			return st, err
		}
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		cfg.Timeouts.EndOfInput = -1
		res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1)), destination: dst}, cfg)
		if err != nil {
			t.Fatalf("EndOfInput=-1 should disable the check; got %+v", res.Failures)
		}
	})
	t.Run("SourceExit", func(t *testing.T) {
		src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			writeLines(stdio.Out, recordLine("users", 1))
			if c, ok := stdio.Out.(io.Closer); ok {
				c.Close()
			}
			time.Sleep(50 * time.Millisecond)
			return ExitStatus{}, nil
		}
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		cfg.Timeouts.SourceExit = -1
		res, err := Sync(context.Background(), &fakeRuntime{source: src, destination: (&destRecorder{}).run}, cfg)
		if err != nil {
			t.Fatalf("SourceExit=-1 should disable the check; got %+v", res.Failures)
		}
	})
}

// ---------------------------------------------------------------------------
// 14. The committed state is rebuilt from the echo, whose extra members the
// hash does not cover.

// TestReviewCommitsSourcePayloadNotEchoDecoration: stateHash covers only
// the kind, the descriptor and the blobs. A destination that adds a member
// to the state (or drops one the source set) still matches, and rebuild()
// persists the echo: the destination's member ends up in the source's next
// --state file. PROTOCOL.md 4.3: persist the source payload Ferry sent,
// not the echo.
func TestReviewCommitsSourcePayloadNotEchoDecoration(t *testing.T) {
	dst := &destRecorder{ack: func(n int, line string) string {
		return strings.Replace(line, `"stream_state":`, `"x_injected_by_destination":true,"stream_state":`, 1)
	}}
	cp := &memCheckpointer{}
	_, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), destination: dst.run}, baseConfig(cp, nil, "users"))
	got := stateJSON(t, cp.last())
	if strings.Contains(got, "x_injected_by_destination") {
		t.Fatalf("err %v; the destination's decoration was committed: %s", err, got)
	}
}

// ---------------------------------------------------------------------------
// 15. Bridged mode: per-partition counters are never released (G10).

// TestReviewBridgeForgetsReleasedPartitions: the source kit rotates its
// partition id after every state, so every state adds one entry to
// merge()'s forwarded map, which is never deleted once the state is
// released. A long bridged sync grows Ferry's memory with its number of
// states.
func TestReviewBridgeForgetsReleasedPartitions(t *testing.T) {
	b := &bridge{s: &syncRun{log: NewAttemptLog(nil, nil), redact: secret.NewRedactor(nil)}}
	items := make(chan *bridgeBatch)
	done := make(chan error, 1)
	go func() { done <- b.merge(items, bufio.NewWriter(io.Discard)) }()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			p := fmt.Sprintf("part-%07d", i)
			id := int64(i + 1)
			items <- &bridgeBatch{items: []bridgeItem{
				{line: []byte(`{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1}}`), typ: protocol.TypeRecord, partition: p},
				{line: []byte(`{}`), typ: protocol.TypeState, partition: p,
					state: &protocol.State{Type: protocol.StateStream, ID: &id, Stream: &protocol.StreamState{StreamDescriptor: protocol.StreamDescriptor{Name: "users"}},
						SourceStats: &protocol.StateStats{RecordCount: protocol.NewCount(1)}}},
			}}
		}
	}
	send(0, 1000)
	before := heap()
	send(1000, 101000)
	after := heap()
	close(items)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if grown := int64(after) - int64(before); grown > 2<<20 {
		t.Fatalf("the bridge's memory grew by %d KiB over 100,000 released states", grown>>10)
	}
}

// ---------------------------------------------------------------------------
// 16. A destination that exits 0 without reading its input.

// TestReviewDestinationExitWithoutReadingFails: the destination exits 0
// without reading stdin. With io.Pipe every write failed once it had
// exited; with the kernel pipe the small input fits in the pipe buffer,
// every write succeeds, and the attempt is reported SUCCEEDED although the
// destination never saw a record (no state: nothing warns either).
func TestReviewDestinationExitWithoutReadingFails(t *testing.T) {
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		time.Sleep(100 * time.Millisecond) // busy with something else; never reads
		return ExitStatus{}, nil
	}
	res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), recordLine("users", 2)), destination: dst}, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil {
		t.Fatalf("succeeded although the destination read none of its input (warnings %v)", res.Warnings)
	}
}

// ---------------------------------------------------------------------------
// Pins: subtle behaviour verified correct.

// TestReviewPinAckOfNConfirmsEarlierOnlyOfSameStream (pins G2, stdio): an
// ack of users' id 3 confirms users' id 1 but not orders' id 2, and an
// older ack after it never regresses the committed state.
func TestReviewPinAckOfNConfirmsEarlierOnlyOfSameStream(t *testing.T) {
	lines := []string{
		recordLine("users", 1), streamStateLine("users", 1), // id 1
		recordLine("orders", 1), streamStateLine("orders", 1), // id 2
		recordLine("users", 2), streamStateLine("users", 2), // id 3
	}
	var mu sync.Mutex
	var sent []string
	dst := &destRecorder{ack: func(n int, line string) string {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, line)
		if n == 3 {
			return line + "\n" + sent[0] // id 3, then the older id 1
		}
		return ""
	}}
	cp := &memCheckpointer{}
	res, _ := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, lines...), destination: dst.run}, baseConfig(cp, nil, "users", "orders"))
	got := stateJSON(t, cp.last())
	if got != `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":2}}}]` {
		t.Fatalf("committed %s", got)
	}
	if res.Stats.StatesCommitted != 2 || len(res.ProtocolErrors) != 0 {
		t.Fatalf("states committed %d, protocol errors %v", res.Stats.StatesCommitted, res.ProtocolErrors)
	}
}

// TestReviewPinLateAckAfterSourceFailureCommits (pins G3/G5): the source
// fails; the destination acks only after its stdin closed (a final flush).
// The ack is committed, and no COMPLETE was sent.
func TestReviewPinLateAckAfterSourceFailureCommits(t *testing.T) {
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		var states, traces []string
		r := protocol.NewReader(stdio.In, 0)
		for {
			line, err := r.ReadLine()
			if err != nil {
				break
			}
			switch env, _ := protocol.ScanEnvelope(line); env.Type {
			case protocol.TypeState:
				states = append(states, string(line))
			case protocol.TypeTrace:
				traces = append(traces, string(line))
			}
		}
		if len(traces) > 0 {
			return ExitStatus{Code: 3}, nil
		}
		time.Sleep(50 * time.Millisecond)
		writeLines(stdio.Out, states...)
		return ExitStatus{Code: 1}, nil
	}
	cp := &memCheckpointer{}
	res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(2, recordLine("users", 1), streamStateLine("users", 1)), destination: dst}, baseConfig(cp, nil, "users"))
	if err == nil || res.Destination.Code != 1 {
		t.Fatalf("err %v, destination %+v: want a failure, and no COMPLETE (exit 3)", err, res.Destination)
	}
	if got := stateJSON(t, cp.last()); !strings.Contains(got, `"cursor":1}`) {
		t.Fatalf("late ack lost: %s", got)
	}
}

// ---------------------------------------------------------------------------
// 17. A dead destination is noticed only at the next write.

// TestReviewDestinationCrashStopsIdleSource: the destination crashes while
// the source is idle (a long query before its next row). Nothing watches
// dstDone until end of input, so the pump sits in a read of the source's
// stdout and the attempt lingers until the source writes again (here 3 s;
// in production up to the no-progress timeout, 3 h), with the source still
// loading its database. PROTOCOL.md 4.4: on a dead destination, stop the
// source.
func TestReviewDestinationCrashStopsIdleSource(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, recordLine("users", 1), streamStateLine("users", 1))
		select {
		case <-ctx.Done():
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		case <-time.After(3 * time.Second):
		}
		writeLines(stdio.Out, recordLine("users", 2))
		return ExitStatus{}, nil
	}
	dst := &destRecorder{crashAfterState: 1}
	cp := &memCheckpointer{}
	start := time.Now()
	res, err := Sync(context.Background(), &fakeRuntime{source: src, destination: dst.run}, baseConfig(cp, nil, "users"))
	if err == nil || !hasFailure(res, OriginDestination, "", "") {
		t.Fatalf("got %v %+v, want a destination failure", err, res.Failures)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the attempt took %s: the source ran on after the destination had died", d.Round(time.Millisecond))
	}
}

// ---------------------------------------------------------------------------
// 18. Socket mode: the destination's dummy stats records are not progress.

// TestReviewSocketModeDestinationStatsAreProgress: in socket mode records
// never pass through Ferry; a full refresh may print no state for hours
// while data flows on the sockets. The destination's dummy stats records
// (every 60 s per unfinished stream, PROTOCOL.md section 3) are the only
// sign of that flow, but destinationRecord() only logs them, so the
// watchdog fails a healthy sync with heartbeat_timeout, origin source.
func TestReviewSocketModeDestinationStatsAreProgress(t *testing.T) {
	srcDone := make(chan struct{})
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		defer close(srcDone)
		select { // streaming on the sockets, nothing on stdout
		case <-ctx.Done():
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		case <-time.After(500 * time.Millisecond):
		}
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		return ExitStatus{}, nil
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		for {
			select {
			case <-ctx.Done():
				return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
			case <-srcDone:
				writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
				return ExitStatus{}, nil
			case <-time.After(40 * time.Millisecond):
				writeLines(stdio.Out, `{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1,"isDummyStatsMessage":true,"emittedRecordsCount":5,"emittedBytesCount":500}}`)
			}
		}
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: ModeSocket, Format: FormatJSONL, Sockets: 2}
	cfg.Timeouts.NoProgress = 200 * time.Millisecond
	res, err := Sync(context.Background(), &fakeRuntime{source: src, destination: dst}, cfg)
	if err != nil {
		t.Fatalf("a socket-mode sync with data flowing was failed: %+v", res.Failures)
	}
}

// ---------------------------------------------------------------------------
// 19. State matching compares number spellings, not numbers.

// TestReviewAckMatchesReformattedNumbers: canonicalJSON keeps each
// number's text, so an echo from a destination that parses numbers as
// doubles (Python's json, Jackson's default) and writes 1.50 as 1.5 or 1e2
// as 100.0 no longer matches: the ack is refused as "a different state",
// nothing is committed, and a strict attempt fails.
func TestReviewAckMatchesReformattedNumbers(t *testing.T) {
	for src, echo := range map[string]string{`1.50`: `1.5`, `1e2`: `100.0`} {
		t.Run(src, func(t *testing.T) {
			state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":` + src + `}}}}`
			dst := &destRecorder{ack: func(n int, line string) string {
				return strings.Replace(line, `"cursor":`+src, `"cursor": `+echo, 1)
			}}
			cp := &memCheckpointer{}
			res, err := Sync(context.Background(), &fakeRuntime{source: scriptedSource(0, recordLine("users", 1), state), destination: dst.run}, baseConfig(cp, nil, "users"))
			if err != nil || !res.CommittedAnyState {
				t.Fatalf("err %v, protocol errors %v; committed %s", err, res.ProtocolErrors, stateJSON(t, cp.last()))
			}
		})
	}
}

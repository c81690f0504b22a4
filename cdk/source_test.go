package cdk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// countingStream emits n records {"id":i} after the state's cursor and
// checkpoints every k records, the shape of a typical incremental stream.
func countingStream(name string, n, k int, checkpointAtEnd bool) *testStream {
	return &testStream{name: name, read: func(ctx context.Context, req *ReadRequest, out *Emitter) error {
		start := 0
		if req.State != nil {
			var st struct{ Cursor int }
			if err := json.Unmarshal(req.State, &st); err != nil {
				return err
			}
			start = st.Cursor
		}
		for i := start + 1; i <= n; i++ {
			if err := out.Record([]byte(fmt.Sprintf(`{"id":%d}`, i))); err != nil {
				return err
			}
			if k > 0 && i%k == 0 && (i < n || checkpointAtEnd) {
				if err := out.Checkpoint(json.RawMessage(fmt.Sprintf(`{"cursor":%d}`, i))); err != nil {
					return err
				}
			}
		}
		return nil
	}}
}

// stateSummary renders each STATE as "stream=blob/count".
func stateSummary(r result) []string {
	var out []string
	for _, m := range r.ofType(protocol.TypeState) {
		st := m.State
		n := -1.0
		if st.SourceStats != nil && st.SourceStats.RecordCount != nil {
			n = float64(*st.SourceStats.RecordCount)
		}
		switch st.Kind() {
		case protocol.StateStream:
			out = append(out, fmt.Sprintf("%s=%s/%v", st.Stream.StreamDescriptor.Name, st.Stream.StreamState, n))
		case protocol.StateGlobal:
			var parts []string
			for _, ss := range st.Global.StreamStates {
				parts = append(parts, ss.StreamDescriptor.Name+":"+string(ss.StreamState))
			}
			out = append(out, fmt.Sprintf("global[%s]/%v", strings.Join(parts, ","), n))
		}
	}
	return out
}

// TestReadStreamStates checks records, STREAM states with recordCount,
// statuses, the absence of id/partition_id, and the resume from state.
func TestReadStreamStates(t *testing.T) {
	src := &testSource{streams: []Stream{countingStream("a", 5, 2, true), countingStream("b", 3, 0, false)}}
	cfg := writeFile(t, "c.json", `{"count": 1}`)
	cat := configuredCatalog(t, protocol.SyncIncremental, protocol.DestAppend, "a", "b")
	res := runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat)
	if res.code != ExitOK {
		t.Fatalf("exit code %d, want 0: %s", res.code, res.stdout)
	}
	if got := len(res.ofType(protocol.TypeRecord)); got != 8 {
		t.Errorf("got %d records, want 8", got)
	}
	want := []string{`a={"cursor":2}/2`, `a={"cursor":4}/2`, `a={"cursor":4}/1`, `b={}/3`}
	if diff := cmp.Diff(want, stateSummary(res)); diff != "" {
		t.Errorf("states mismatch (-want +got):\n%s", diff)
	}
	wantStatus := []string{"a:STARTED", "a:RUNNING", "a:COMPLETE", "b:STARTED", "b:RUNNING", "b:COMPLETE"}
	if diff := cmp.Diff(wantStatus, res.statuses()); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	for _, k := range []string{`"id":`, `"partition_id"`} {
		for _, m := range res.ofType(protocol.TypeState) {
			b, _ := json.Marshal(m)
			if strings.Contains(string(b), k) {
				t.Errorf("stdio state carries %s: %s", k, b)
			}
		}
	}
	res.validate(t)

	// Resume stream a from cursor 4: only record 5 comes again.
	state := writeFile(t, "state.json", `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"cursor":4}}}]`)
	res = runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat, "--state", state)
	recs := res.ofType(protocol.TypeRecord)
	if len(recs) != 4 || string(recs[0].Record.Data) != `{"id":5}` {
		t.Errorf("resume: got %d records starting %s, want 4 starting {\"id\":5}", len(recs), recs[0].Record.Data)
	}
}

// TestReadFullRefreshIgnoresState hands no state to a full refresh.
func TestReadFullRefreshIgnoresState(t *testing.T) {
	src := &testSource{streams: []Stream{countingStream("a", 3, 0, false)}}
	cfg := writeFile(t, "c.json", `{"count": 1}`)
	cat := configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestOverwrite, "a")
	state := writeFile(t, "state.json", `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"cursor":2}}}]`)
	res := runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat, "--state", state)
	if got := len(res.ofType(protocol.TypeRecord)); got != 3 {
		t.Errorf("got %d records, want 3", got)
	}
}

// TestReadGlobalState composes one GLOBAL state over all streams, counts
// records since the previous GLOBAL state, and resumes from one.
func TestReadGlobalState(t *testing.T) {
	src := &testSource{global: true, streams: []Stream{countingStream("a", 2, 2, true), countingStream("b", 3, 0, false)}}
	cfg := writeFile(t, "c.json", `{"count": 1}`)
	cat := configuredCatalog(t, protocol.SyncIncremental, protocol.DestAppend, "a", "b")
	res := runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat)
	want := []string{`global[a:{"cursor":2}]/2`, `global[a:{"cursor":2},b:{}]/3`}
	if diff := cmp.Diff(want, stateSummary(res)); diff != "" {
		t.Errorf("states mismatch (-want +got):\n%s", diff)
	}
	res.validate(t)

	state := writeFile(t, "state.json", `[{"type":"GLOBAL","global":{"shared_state":{"lsn":7},"stream_states":[
		{"stream_descriptor":{"name":"a"},"stream_state":{"cursor":1}},
		{"stream_descriptor":{"name":"gone"},"stream_state":{"cursor":9}}]}}]`)
	res = runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat, "--state", state)
	if got := len(res.ofType(protocol.TypeRecord)); got != 4 {
		t.Errorf("resume: got %d records, want 4", got)
	}
	last := res.ofType(protocol.TypeState)
	g := last[len(last)-1].State.Global
	if string(g.SharedState) != `{"lsn":7}` || len(g.StreamStates) != 3 {
		t.Errorf("resume: got shared %s and %d stream states, want {\"lsn\":7} and 3", g.SharedState, len(g.StreamStates))
	}
}

// TestReadStreamError marks the stream INCOMPLETE and fails with a trace
// that names the stream.
func TestReadStreamError(t *testing.T) {
	bad := &testStream{name: "a", read: func(ctx context.Context, req *ReadRequest, out *Emitter) error {
		if err := out.Record([]byte(`{"id":1}`)); err != nil {
			return err
		}
		return TransientError("rate limited")
	}}
	src := &testSource{streams: []Stream{bad, countingStream("b", 1, 0, false)}}
	res := runCmd(t, src, "", "read", "--config", writeFile(t, "c.json", `{"count":1}`),
		"--catalog", configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "a", "b"))
	if res.code != ExitFailure {
		t.Errorf("exit code: got %d, want 1", res.code)
	}
	if diff := cmp.Diff([]string{"a:STARTED", "a:RUNNING", "a:INCOMPLETE"}, res.statuses()); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	traces := res.errorTraces()
	if len(traces) != 1 || traces[0].FailureType != protocol.FailureTransient || traces[0].StreamDescriptor == nil || traces[0].StreamDescriptor.Name != "a" {
		t.Errorf("got traces %s, want one transient_error for stream a", res.stdout)
	}
}

// TestReadUnknownStream is a config error before any record.
func TestReadUnknownStream(t *testing.T) {
	src := &testSource{streams: []Stream{countingStream("a", 1, 0, false)}}
	res := runCmd(t, src, "", "read", "--config", writeFile(t, "c.json", `{"count":1}`),
		"--catalog", configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "a", "nope"))
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || traces[0].FailureType != protocol.FailureConfig {
		t.Errorf("got exit %d, traces %s; want 1 and a config_error", res.code, res.stdout)
	}
	if got := len(res.ofType(protocol.TypeRecord)); got != 0 {
		t.Errorf("got %d records, want none", got)
	}
}

package runner

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestStreamAckReplacesLegacyInputState: a STREAM state acknowledged in this run replaces a LEGACY (or GLOBAL)
// state committed by an earlier run, in stdio and socket mode alike.
func TestStreamAckReplacesLegacyInputState(t *testing.T) {
	for _, mode := range []string{protocol.ModeStdio, protocol.ModeSocket} {
		t.Run(mode, func(t *testing.T) {
			cp := &memCheckpointer{}
			cfg := baseConfig(cp, nil, "users")
			cfg.State = []*protocol.State{{Data: json.RawMessage(`{"users":{"cursor":0}}`)}}
			rt := &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: (&destRecorder{}).run}
			if mode == protocol.ModeSocket {
				cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
				rt.Source = scriptedSource(0, socketStateLine("users", 1, "p1", 10, 10))
				rt.Destination = socketDest(0, 1)
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

// TestCoalescingForgetsTheOldestPendingState: past the pending limit the oldest pending state of all is forgotten,
// never the one just pushed, so its acknowledgement still commits.
func TestCoalescingForgetsTheOldestPendingState(t *testing.T) {
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

// TestStateEnrichmentNeverDuplicatesMembers: a state carrying "sourceStats":null, "sourceStats":{} or "id":null
// reaches the destination with one member of each name, Ferry's.
func TestStateEnrichmentNeverDuplicatesMembers(t *testing.T) {
	for name, member := range map[string]string{
		"sourceStats null":  `"sourceStats":null`,
		"sourceStats empty": `"sourceStats":{}`,
		"id null":           `"id":null`,
	} {
		t.Run(name, func(t *testing.T) {
			state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":1}},` + member + `}}`
			dst := &destRecorder{}
			_, _ = Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), state), Destination: dst.run}, baseConfig(&memCheckpointer{}, nil, "users"))
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

// TestCommittedStateHasNoDestinationDecoration: a member the destination adds to its echo never reaches the
// committed state (docs/protocol.md 4.3).
func TestCommittedStateHasNoDestinationDecoration(t *testing.T) {
	dst := &destRecorder{ack: func(n int, line string) string {
		return strings.Replace(line, `"stream_state":`, `"x_injected_by_destination":true,"stream_state":`, 1)
	}}
	cp := &memCheckpointer{}
	_, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), streamStateLine("users", 1)), Destination: dst.run}, baseConfig(cp, nil, "users"))
	got := stateJSON(t, cp.last())
	if strings.Contains(got, "x_injected_by_destination") {
		t.Fatalf("err %v; the destination's decoration was committed: %s", err, got)
	}
}

// TestAckConfirmsEarlierStatesOfItsStreamOnly: an ack of users' id 3 confirms users' id 1 but not orders' id 2,
// and an older ack after it never regresses the committed state (G2).
func TestAckConfirmsEarlierStatesOfItsStreamOnly(t *testing.T) {
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
	res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, baseConfig(cp, nil, "users", "orders"))
	got := stateJSON(t, cp.last())
	if got != `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":2}}}]` {
		t.Fatalf("committed %s", got)
	}
	if res.Stats.StatesCommitted != 2 || len(res.ProtocolErrors) != 0 {
		t.Fatalf("states committed %d, protocol errors %v", res.Stats.StatesCommitted, res.ProtocolErrors)
	}
}

// TestLateAckAfterSourceFailureIsCommitted: when the source fails and the destination acknowledges only after
// its input ended, the ack is committed (G3) and no COMPLETE was sent (G5).
func TestLateAckAfterSourceFailureIsCommitted(t *testing.T) {
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
		writeLines(stdio.Out, states...)
		return ExitStatus{Code: 1}, nil
	}
	cp := &memCheckpointer{}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(2, recordLine("users", 1), streamStateLine("users", 1)), Destination: dst}, baseConfig(cp, nil, "users"))
	if err == nil || res.Destination.Code != 1 {
		t.Fatalf("err %v, destination %+v: want a failure, and no COMPLETE (exit 3)", err, res.Destination)
	}
	if got := stateJSON(t, cp.last()); !strings.Contains(got, `"cursor":1}`) {
		t.Fatalf("late ack lost: %s", got)
	}
}

// TestAckMatchesReformattedNumbers: an echo whose numbers a destination re-spelled (1.50 as 1.5, 1e2
// as 100.0) still matches the state Ferry sent.
func TestAckMatchesReformattedNumbers(t *testing.T) {
	for src, echo := range map[string]string{`1.50`: `1.5`, `1e2`: `100.0`} {
		t.Run(src, func(t *testing.T) {
			state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":` + src + `}}}}`
			dst := &destRecorder{ack: func(n int, line string) string {
				return strings.Replace(line, `"cursor":`+src, `"cursor": `+echo, 1)
			}}
			cp := &memCheckpointer{}
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1), state), Destination: dst.run}, baseConfig(cp, nil, "users"))
			if err != nil || !res.CommittedAnyState {
				t.Fatalf("err %v, protocol errors %v; committed %s", err, res.ProtocolErrors, stateJSON(t, cp.last()))
			}
		})
	}
}

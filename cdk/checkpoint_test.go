package cdk

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

var (
	streamA = protocol.StreamDescriptor{Name: "a"}
	streamB = protocol.StreamDescriptor{Name: "b", Namespace: "ns"}
)

// streamState builds a STREAM state with an id and, when count >= 0,
// sourceStats.recordCount.
func streamState(d protocol.StreamDescriptor, id int64, count int64) *protocol.State {
	st := &protocol.State{Type: protocol.StateStream, ID: &id,
		Stream: &protocol.StreamState{StreamDescriptor: d, StreamState: json.RawMessage(fmt.Sprintf(`{"n":%d}`, id))}}
	if count >= 0 {
		st.SourceStats = &protocol.StateStats{RecordCount: protocol.NewCount(count)}
	}
	return st
}

func globalState(id int64, count int64, streams ...protocol.StreamDescriptor) *protocol.State {
	g := &protocol.GlobalState{SharedState: json.RawMessage(`{"lsn":1}`)}
	for _, d := range streams {
		g.StreamStates = append(g.StreamStates, protocol.StreamState{StreamDescriptor: d, StreamState: json.RawMessage(`{}`)})
	}
	return &protocol.State{Type: protocol.StateGlobal, ID: &id, Global: g,
		SourceStats: &protocol.StateStats{RecordCount: protocol.NewCount(count)}}
}

// ids lists the ids of released states.
func ids(states []*protocol.State) []int64 {
	out := []int64{}
	for _, s := range states {
		out = append(out, *s.ID)
	}
	return out
}

func mustAdd(t *testing.T, m *CheckpointManager, st *protocol.State, index int64, parts ...string) {
	t.Helper()
	if err := m.AddState(st, index, parts); err != nil {
		t.Fatalf("AddState(index %d): %v", index, err)
	}
}

// TestCheckpointInOrder releases a state only once its records are
// flushed, and decorates it with destinationStats and committed counts.
func TestCheckpointInOrder(t *testing.T) {
	m := NewCheckpointManager()
	m.Received(streamA, "p1", 3, 300)
	mustAdd(t, m, streamState(streamA, 7, 3), 1, "p1")
	if got := m.Release(); len(got) != 0 {
		t.Fatalf("released %v before the flush, want nothing", ids(got))
	}
	m.Flushed(streamA, "p1", 2, 200)
	if got := m.Release(); len(got) != 0 {
		t.Fatalf("released %v after a partial flush, want nothing", ids(got))
	}
	m.Flushed(streamA, "p1", 1, 100)
	got := m.Release()
	if diff := cmp.Diff([]int64{7}, ids(got)); diff != "" {
		t.Fatalf("released ids mismatch (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(got[0])
	for _, want := range []string{`"destinationStats":{"recordCount":3.0}`, `"sourceStats":{"recordCount":3.0}`,
		`"committedRecordsCount":3`, `"committedBytesCount":300`, `"id":7`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("released state %s: want it to contain %s", b, want)
		}
	}
	// The committed counts are cumulative per stream.
	m.Received(streamA, "p2", 2, 50)
	m.Flushed(streamA, "p2", 2, 50)
	mustAdd(t, m, streamState(streamA, 9, 2), 2, "p2")
	b, _ = json.Marshal(m.Release()[0])
	if !strings.Contains(string(b), `"committedRecordsCount":5`) || !strings.Contains(string(b), `"committedBytesCount":350`) {
		t.Errorf("second state %s: want cumulative counts 5 and 350", b)
	}
}

// TestCheckpointOutOfOrder holds a state that arrives before its
// predecessor, then releases both in index order.
func TestCheckpointOutOfOrder(t *testing.T) {
	m := NewCheckpointManager()
	m.Received(streamA, "x", 1, 10)
	m.Received(streamA, "y", 1, 10)
	m.Flushed(streamA, "x", 1, 10)
	m.Flushed(streamA, "y", 1, 10)
	mustAdd(t, m, streamState(streamA, 2, 1), 2, "y")
	if got := m.Release(); len(got) != 0 {
		t.Fatalf("released %v while index 1 is missing, want nothing", ids(got))
	}
	if diff := cmp.Diff([]string{"stream a: waiting for state index 1 (1 later states pending)"}, m.Stalled()); diff != "" {
		t.Errorf("stalled mismatch (-want +got):\n%s", diff)
	}
	mustAdd(t, m, streamState(streamA, 1, 1), 1, "x")
	if diff := cmp.Diff([]int64{1, 2}, ids(m.Release())); diff != "" {
		t.Errorf("released ids mismatch (-want +got):\n%s", diff)
	}
	if m.Pending() != 0 || len(m.Stalled()) != 0 {
		t.Errorf("got %d pending and stalled %v, want none", m.Pending(), m.Stalled())
	}
}

// TestCheckpointGap stalls every state after a missing index, while other
// streams go on.
func TestCheckpointGap(t *testing.T) {
	m := NewCheckpointManager()
	mustAdd(t, m, streamState(streamA, 1, 0), 1)
	mustAdd(t, m, streamState(streamA, 3, 0), 3)
	mustAdd(t, m, streamState(streamA, 4, 0), 4)
	mustAdd(t, m, streamState(streamB, 5, 0), 1)
	if diff := cmp.Diff([]int64{1, 5}, ids(m.Release())); diff != "" {
		t.Errorf("released ids mismatch (-want +got):\n%s", diff)
	}
	if got := m.Stalled(); len(got) != 1 || !strings.Contains(got[0], "waiting for state index 2") {
		t.Errorf("stalled: got %v, want stream a waiting for index 2", got)
	}
}

// TestCheckpointGlobal sums the partitions of every stream, and puts the
// committed counts inside each stream_states entry.
func TestCheckpointGlobal(t *testing.T) {
	m := NewCheckpointManager()
	m.Received(streamA, "a1", 2, 20)
	m.Received(streamB, "b1", 1, 5)
	mustAdd(t, m, globalState(1, 3, streamA, streamB), 1, "a1", "b1")
	m.Flushed(streamA, "a1", 2, 20)
	if got := m.Release(); len(got) != 0 {
		t.Fatalf("released %v with stream b unflushed, want nothing", ids(got))
	}
	m.Flushed(streamB, "b1", 1, 5)
	got := m.Release()
	if len(got) != 1 {
		t.Fatalf("released %d states, want 1", len(got))
	}
	ss := got[0].Global.StreamStates
	for i, want := range []string{"2", "1"} {
		if c := string(ss[i].Extra[keyCommittedRecords]); c != want {
			t.Errorf("stream_states[%d].committedRecordsCount: got %s, want %s", i, c, want)
		}
	}
	if got[0].Extra[keyCommittedRecords] != nil {
		t.Errorf("GLOBAL state has top-level committed counts, want them only per stream")
	}
	if err := m.AddState(streamState(streamA, 2, 0), 1, nil); err == nil {
		t.Errorf("mixing STREAM after GLOBAL: got no error, want one")
	}
}

// TestCheckpointCountMismatch never releases a state whose sourceStats
// disagree with the flushed records, in either direction.
func TestCheckpointCountMismatch(t *testing.T) {
	m := NewCheckpointManager()
	m.Received(streamA, "p1", 3, 30)
	m.Flushed(streamA, "p1", 3, 30)
	mustAdd(t, m, streamState(streamA, 1, 2), 1, "p1")
	if got := m.Release(); len(got) != 0 {
		t.Errorf("released %v with 3 records for a count of 2, want nothing", ids(got))
	}
	if got := m.Stalled(); len(got) != 1 || !strings.Contains(got[0], "counts 2 records but 3 arrived") {
		t.Errorf("stalled: got %v, want a count mismatch", got)
	}

	m = NewCheckpointManager()
	m.Received(streamA, "p1", 1, 10)
	m.Flushed(streamA, "p1", 1, 10)
	mustAdd(t, m, streamState(streamA, 1, 5), 1, "p1")
	mustAdd(t, m, streamState(streamA, 2, 0), 2)
	if got := m.Release(); len(got) != 0 {
		t.Errorf("released %v: state 1 can never be flushed and state 2 waits for it, want nothing", ids(got))
	}
	if got := m.Stalled(); len(got) != 1 || !strings.Contains(got[0], "1 of 5 flushed") {
		t.Errorf("stalled: got %v, want state 1 waiting for 5 records", got)
	}
}

// TestCheckpointWithoutSourceStats expects the records received before
// the state arrived (the kit's leniency for old sources).
func TestCheckpointWithoutSourceStats(t *testing.T) {
	m := NewCheckpointManager()
	m.Received(streamA, "p1", 4, 40)
	mustAdd(t, m, streamState(streamA, 1, -1), 1, "p1")
	m.Flushed(streamA, "p1", 3, 30)
	if got := m.Release(); len(got) != 0 {
		t.Fatalf("released %v with a record unflushed, want nothing", ids(got))
	}
	m.Flushed(streamA, "p1", 1, 10)
	if diff := cmp.Diff([]int64{1}, ids(m.Release())); diff != "" {
		t.Errorf("released ids mismatch (-want +got):\n%s", diff)
	}
}

// TestCheckpointRejectsBadIndexes refuses regressing, duplicate and
// non-positive indexes, and fractional counts.
func TestCheckpointRejectsBadIndexes(t *testing.T) {
	m := NewCheckpointManager()
	mustAdd(t, m, streamState(streamA, 1, 0), 1)
	m.Release()
	mustAdd(t, m, streamState(streamA, 3, 0), 3)
	frac := streamState(streamA, 4, 0)
	frac.SourceStats.RecordCount = new(protocol.Count)
	*frac.SourceStats.RecordCount = 1.5
	for name, tc := range map[string]struct {
		st    *protocol.State
		index int64
	}{
		"released":     {streamState(streamA, 1, 0), 1},
		"duplicate":    {streamState(streamA, 3, 0), 3},
		"non-positive": {streamState(streamA, 0, 0), 0},
		"fraction":     {frac, 4},
	} {
		if err := m.AddState(tc.st, tc.index, nil); err == nil {
			t.Errorf("%s index: got no error, want one", name)
		}
	}
}

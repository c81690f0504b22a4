package store

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestCommitCheckpointStream verifies that STREAM states are upserted per
// stream, cleaned of bookkeeping keys, and written with the stats.
func TestCommitCheckpointStream(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	states := parseStates(t, readTestdata(t, "state_stream.json"))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, states, Stats{RecordsEmitted: 5, RecordsCommitted: 3}); err != nil {
		t.Fatal(err)
	}
	newer := parseStates(t, []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":"2024-02-01"}},"id":9},
		{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":"2024-03-01"}},"id":10}]`))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, newer, Stats{RecordsEmitted: 9, RecordsCommitted: 8}); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.State(ctx, f.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":null,"x_stream_extra":"kept"},"x_state_extra":{"a":1}},` +
		`{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":"2024-03-01"}}}]`
	if s := mustJSON(t, got); s != want {
		t.Errorf("state:\n got %s\nwant %s", s, want)
	}
	a, _ := f.db.Attempt(ctx, c.Attempt.ID)
	if a.Stats.RecordsEmitted != 9 || a.Stats.RecordsCommitted != 8 || !a.CommittedState {
		t.Errorf("stats: %+v", a.Stats)
	}
	hist, total, err := f.db.StateHistory(ctx, f.conn.ID, Page{})
	if err != nil || total != 2 || len(hist[0].States) != 2 || *hist[0].AttemptID != c.Attempt.ID || hist[0].Action != "checkpoint" {
		t.Fatalf("history: %+v of %d, %v", hist, total, err)
	}
	if strings.Contains(mustJSON(t, hist), `"id":`) || strings.Contains(mustJSON(t, hist), "committedRecordsCount") {
		t.Errorf("history holds bookkeeping keys: %s", mustJSON(t, hist))
	}
}

// TestCommitCheckpointGlobalAndKinds verifies that GLOBAL replaces the
// single row (latest of a batch wins), that a batch mixing kinds is
// refused, and that a new kind replaces the stored one.
func TestCommitCheckpointGlobalAndKinds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.mustClaim(t)
	stream := parseStates(t, readTestdata(t, "state_stream.json"))
	global := parseStates(t, readTestdata(t, "state_global.json"))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, stream, Stats{}); err != nil {
		t.Fatal(err)
	}
	mixed := []*protocol.State{global[0], stream[0]}
	wantValidation(t, f.db.CommitCheckpoint(ctx, c.Attempt.ID, mixed, Stats{}), "state")

	older := parseStates(t, []byte(`[{"type":"GLOBAL","global":{"shared_state":{"old":true},"stream_states":[]}}]`))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, append(older, global[0]), Stats{}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.State(ctx, f.conn.ID)
	if len(got) != 1 || mustJSON(t, got[0]) != mustJSON(t, global[0].Clean()) {
		t.Fatalf("global state: %s", mustJSON(t, got))
	}
	if strings.Contains(mustJSON(t, got), "partition_id") {
		t.Error("bookkeeping key kept")
	}
	legacy := parseStates(t, readTestdata(t, "state_legacy.json"))
	if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, legacy, Stats{}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.db.State(ctx, f.conn.ID)
	if len(got) != 1 || got[0].Kind() != protocol.StateLegacy {
		t.Fatalf("legacy state: %s", mustJSON(t, got))
	}
	file, err := protocol.StateFile(got)
	if err != nil || string(file) != `{"users":{"cursor":"2023-12-31"},"events":{"seq":1.0e3}}` {
		t.Errorf("legacy state file: %s, %v", file, err)
	}
}

// TestReplaceAndClearState verifies the API's PUT and DELETE: whole
// replacement, per-stream clears of STREAM and GLOBAL states, and the
// conflict while an attempt runs.
func TestReplaceAndClearState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stream := parseStates(t, readTestdata(t, "state_stream.json"))
	global := parseStates(t, readTestdata(t, "state_global.json"))
	users := protocol.StreamDescriptor{Name: "users", Namespace: "public"}

	if err := f.db.ReplaceState(ctx, f.conn.ID, stream); err != nil {
		t.Fatal(err)
	}
	wantValidation(t, f.db.ReplaceState(ctx, f.conn.ID, []*protocol.State{stream[0], stream[0]}), "state")
	wantValidation(t, f.db.ReplaceState(ctx, f.conn.ID, append(global, global...)), "state")
	if err := f.db.ClearState(ctx, f.conn.ID, []protocol.StreamDescriptor{users}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.db.State(ctx, f.conn.ID)
	if len(got) != 1 || got[0].Stream.StreamDescriptor.Name != "events" {
		t.Fatalf("after clearing users: %s", mustJSON(t, got))
	}

	if err := f.db.ReplaceState(ctx, f.conn.ID, global); err != nil {
		t.Fatal(err)
	}
	if err := f.db.ClearState(ctx, f.conn.ID, []protocol.StreamDescriptor{users}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.db.State(ctx, f.conn.ID)
	want := `[{"type":"GLOBAL","global":{"shared_state":{"cdc_offset":{"file":"binlog.000042","pos":18446744073709551615}},` +
		`"stream_states":[{"stream_descriptor":{"name":"events"},"stream_state":{"seq":99}}]}}]`
	if s := mustJSON(t, got); s != want {
		t.Errorf("after clearing users from GLOBAL:\n got %s\nwant %s", s, want)
	}

	c := f.mustClaim(t)
	wantErr(t, f.db.ReplaceState(ctx, f.conn.ID, stream), ErrConflict)
	wantErr(t, f.db.ClearState(ctx, f.conn.ID, nil), ErrConflict)
	if err := f.db.ClearStateForAttempt(ctx, c.Attempt.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.db.State(ctx, f.conn.ID); got != nil {
		t.Errorf("after a reset: %s", mustJSON(t, got))
	}
	hist, total, _ := f.db.StateHistory(ctx, f.conn.ID, Page{})
	if total != 5 || hist[0].Action != "clear" || hist[0].Streams != nil || *hist[0].AttemptID != c.Attempt.ID ||
		hist[1].Action != "clear" || len(hist[1].Streams) != 1 || hist[2].Action != "replace" {
		t.Errorf("history: %s", mustJSON(t, hist))
	}
	_, err := f.db.State(ctx, "00000000-0000-4000-8000-000000000000")
	wantErr(t, err, ErrNotFound)
}

// TestStateHistoryLimit verifies that history is pruned to the limit,
// keeping the newest entries.
func TestStateHistoryLimit(t *testing.T) {
	f := newFixture(t, WithStateHistoryLimit(3))
	ctx := context.Background()
	c := f.mustClaim(t)
	for i := 0; i < 5; i++ {
		s := parseStates(t, []byte(`[{"type":"LEGACY","data":{"n":`+string(rune('0'+i))+`}}]`))
		if err := f.db.CommitCheckpoint(ctx, c.Attempt.ID, s, Stats{}); err != nil {
			t.Fatal(err)
		}
	}
	hist, total, err := f.db.StateHistory(ctx, f.conn.ID, Page{})
	if err != nil || total != 3 || string(hist[0].States[0].Data) != `{"n":4}` || string(hist[2].States[0].Data) != `{"n":2}` {
		t.Fatalf("history: %s of %d, %v", mustJSON(t, hist), total, err)
	}
}

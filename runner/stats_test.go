package runner

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// streamCounts is the part of StreamStats the per-stream tests compare.
type streamCounts struct {
	RecordsEmitted, BytesEmitted, RecordsCommitted, BytesCommitted int64
	StatesEmitted, StatesCommitted                                 int64
}

func countsOf(res *Result) map[string]streamCounts {
	out := map[string]streamCounts{}
	for _, s := range res.Stats.Streams {
		out[s.Stream.Name] = streamCounts{s.RecordsEmitted, s.BytesEmitted, s.RecordsCommitted, s.BytesCommitted, s.StatesEmitted, s.StatesCommitted}
	}
	return out
}

// TestCombinedStatesPerStreamStats: with GLOBAL and LEGACY states, which
// checkpoint every stream at once, the per-stream committed bytes and
// state counts are filled (they were 0), each state counting for every
// stream, and the per-stream counts add up to the totals.
func TestCombinedStatesPerStreamStats(t *testing.T) {
	for name, state := range map[string]string{
		"legacy": `{"type":"STATE","state":{"data":{"users":{"cursor":%d}}}}`,
		"global": `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"lsn":%d},"stream_states":[{"stream_descriptor":{"name":"users"},"stream_state":{}},{"stream_descriptor":{"name":"orders"},"stream_state":{}}]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			lines := []string{recordLine("users", 1), recordLine("users", 2), recordLine("orders", 1), fmt.Sprintf(state, 1),
				recordLine("users", 3), fmt.Sprintf(state, 2), recordLine("orders", 2), fmt.Sprintf(state, 3)}
			size := func(ls ...string) int64 {
				n := 0
				for _, l := range ls {
					n += len(l)
				}
				return int64(n)
			}
			// The destination acknowledges the first two states only.
			dst := &destRecorder{ack: func(n int, line string) string {
				if n > 2 {
					return ""
				}
				return line
			}}
			cfg := baseConfig(&memCheckpointer{}, nil, "users", "orders")
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst.run}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			users, orders := size(lines[0], lines[1], lines[4]), size(lines[2], lines[6])
			want := map[string]streamCounts{
				"users":  {RecordsEmitted: 3, BytesEmitted: users, RecordsCommitted: 3, BytesCommitted: users, StatesEmitted: 3, StatesCommitted: 2},
				"orders": {RecordsEmitted: 2, BytesEmitted: orders, RecordsCommitted: 1, BytesCommitted: size(lines[2]), StatesEmitted: 3, StatesCommitted: 2},
			}
			if diff := cmp.Diff(want, countsOf(res)); diff != "" {
				t.Errorf("per-stream stats (-want +got):\n%s", diff)
			}
			if st := res.Stats; st.BytesCommitted != users+size(lines[2]) || st.StatesCommitted != 2 || st.StatesEmitted != 3 {
				t.Errorf("totals: %d bytes, %d of %d states committed; want %d bytes, 2 of 3", st.BytesCommitted, st.StatesCommitted, st.StatesEmitted, users+size(lines[2]))
			}
		})
	}
}

// TestSocketModeEmittedBytes: in socket mode a destination that sends no
// stats records (they come once a minute) still reports its committed
// bytes on its acknowledgements; emitted bytes are at least those, never
// 0, for STREAM states and per entry of GLOBAL ones.
func TestSocketModeEmittedBytes(t *testing.T) {
	const (
		stream = `{"type":"STATE","state":{"type":"STREAM","id":1,"partition_id":"p1","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":10}},"sourceStats":{"recordCount":10.0}%s}}`
		global = `{"type":"STATE","state":{"type":"GLOBAL","id":1,"partition_id":"p1","global":{"shared_state":{"lsn":1},"stream_states":[` +
			`{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}%s},{"stream_descriptor":{"name":"orders"},"stream_state":{"c":2}%s}]},"sourceStats":{"recordCount":10.0}}}`
		users  = `,"committedRecordsCount":6,"committedBytesCount":600`
		orders = `,"committedRecordsCount":4,"committedBytesCount":400`
	)
	for _, tc := range []struct {
		name      string
		src, echo string
		want      map[string]streamCounts
	}{
		{"stream", fmt.Sprintf(stream, ""), fmt.Sprintf(stream, `,"committedRecordsCount":10,"committedBytesCount":1000`), map[string]streamCounts{
			"users":  {RecordsEmitted: 10, BytesEmitted: 1000, RecordsCommitted: 10, BytesCommitted: 1000, StatesEmitted: 1, StatesCommitted: 1},
			"orders": {}}},
		{"global", fmt.Sprintf(global, "", ""), fmt.Sprintf(global, users, orders), map[string]streamCounts{
			"users":  {RecordsEmitted: 6, BytesEmitted: 600, RecordsCommitted: 6, BytesCommitted: 600, StatesEmitted: 1, StatesCommitted: 1},
			"orders": {RecordsEmitted: 4, BytesEmitted: 400, RecordsCommitted: 4, BytesCommitted: 400, StatesEmitted: 1, StatesCommitted: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
				go io.Copy(io.Discard, stdio.In)
				return ExitStatus{}, writeLines(stdio.Out, tc.echo)
			}
			cfg := baseConfig(&memCheckpointer{}, nil, "users", "orders")
			cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, tc.src), Destination: dst}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, countsOf(res)); diff != "" {
				t.Errorf("per-stream stats (-want +got):\n%s", diff)
			}
			if st := res.Stats; st.BytesEmitted != 1000 || st.BytesCommitted != 1000 || st.RecordsEmitted != 10 || st.RecordsCommitted != 10 {
				t.Errorf("totals %+v, want 10 records and 1000 bytes emitted and committed", st)
			}
		})
	}
}

package runner

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// socketAckLine is an acknowledgement as a socket-mode destination writes
// it: the source's state with its id and the destination's record count.
func socketAckLine(stream string, id, cursor, count int) string {
	return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","id":%d,"partition_id":"p1","stream":{"stream_descriptor":{"name":%q},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":%d.0},"destinationStats":{"recordCount":%d.0}}}`,
		id, stream, cursor, count, count)
}

// socketAcker acknowledges the given ids in order, with destinationStats.
func socketAcker(ids ...int) func(context.Context, ConnectorSpec, Stdio) (ExitStatus, error) {
	return func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		for _, id := range ids {
			writeLines(stdio.Out, socketAckLine("users", id, id*10, 10))
		}
		return ExitStatus{}, nil
	}
}

// TestSocketAckReporting is the socket-mode ack reporting of scenario 2:
// six states of 10 records each, acknowledged in the order given. What
// is committed is the contiguous prefix; the warnings say what happened,
// with the right counts, and nothing else; with FailOnCountMismatch, the
// out-of-order acks (whose counts agree) do not fail the sync.
func TestSocketAckReporting(t *testing.T) {
	var states []string
	for id := 1; id <= 6; id++ {
		states = append(states, socketStateLine("users", id, "p1", id*10, 10))
	}
	for _, tc := range []struct {
		name      string
		acks      []int
		committed int64
		warnings  []string // each must appear; no other warning may
	}{
		{"regressing acks are reported", []int{1, 2, 1, 3, 2, 4, 3}, 4, []string{
			"2 forwarded states were never acknowledged", "3 acknowledgements older than the committed state were ignored"}},
		{"a repeated ack is reported", []int{1, 2, 2, 3, 4, 5, 6}, 6, []string{"1 acknowledgements older than the committed state were ignored"}},
		{"every second state acknowledged", []int{2, 4, 6}, 0, []string{
			"3 forwarded states were never acknowledged", "3 acknowledged states were not committed", "no acknowledged state"}},
		{"out-of-order acks raise no count mismatch", []int{2, 1, 4, 3, 6, 5}, 6, nil},
		{"acks in order", []int{1, 2, 3, 4, 5, 6}, 6, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := &memCheckpointer{}
			cfg := baseConfig(cp, nil, "users")
			cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
			cfg.FailOnCountMismatch = true
			rt := &FakeRuntime{Source: scriptedSource(0, states...), Destination: socketAcker(tc.acks...)}
			res, err := Sync(context.Background(), rt, cfg)
			if err != nil || res.Status != StatusSucceeded {
				t.Fatalf("Sync: %v, %s %+v", err, res.Status, res.Failures)
			}
			if res.Stats.StatesCommitted != tc.committed || res.Stats.RecordsCommitted != 10*tc.committed {
				t.Errorf("committed %d states, %d records; want %d and %d", res.Stats.StatesCommitted, res.Stats.RecordsCommitted, tc.committed, 10*tc.committed)
			}
			matched := 0
			for _, w := range res.Warnings {
				if !slices.ContainsFunc(tc.warnings, func(want string) bool { return strings.Contains(w, want) }) {
					t.Errorf("unexpected warning %q", w)
					continue
				}
				matched++
			}
			if matched != len(tc.warnings) {
				t.Errorf("warnings %q, want one each of %q", res.Warnings, tc.warnings)
			}
		})
	}
}

// TestSocketCountMismatchStillFatal: the switch still fails a sync whose
// destination counts disagree, out-of-order or not.
func TestSocketCountMismatchStillFatal(t *testing.T) {
	states := []string{socketStateLine("users", 1, "p1", 10, 10), socketStateLine("users", 2, "p1", 20, 10)}
	dest := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		writeLines(stdio.Out, socketAckLine("users", 2, 20, 10), socketAckLine("users", 1, 10, 7))
		return ExitStatus{}, nil
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	cfg.FailOnCountMismatch = true
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, states...), Destination: dest}, cfg)
	if err == nil || res.Status != StatusFailed || len(res.Failures) == 0 || !strings.Contains(res.Failures[0].ExternalMessage, "acknowledged 17 records") {
		t.Errorf("%v: status %s, failures %+v; want failed on 17 acknowledged records against 20", err, res.Status, res.Failures)
	}
}

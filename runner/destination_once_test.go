package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestDestinationExitRecordedOnce: a destination that dies while the
// source still writes is one failure, not one from its exit and another
// from the write that then fails. Several rounds, since which side sees
// the fault first varies; when the whole input fit in the pipe, the one
// failure says how many bytes the destination left unread.
func TestDestinationExitRecordedOnce(t *testing.T) {
	lines := make([]string, 0, 3000)
	for i := range 3000 {
		lines = append(lines, recordLine("users", i+1))
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		if _, err := protocol.NewReader(stdio.In, 0).ReadLine(); err != nil {
			return ExitStatus{}, err
		}
		return ExitStatus{Code: 1}, nil
	}
	for round := range 10 {
		res, err := Sync(t.Context(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: dst}, baseConfig(&memCheckpointer{}, nil, "users"))
		if err == nil {
			t.Fatal("succeeded although the destination died")
		}
		n := 0
		for _, f := range res.Failures {
			// Which message depends on whether the pump had closed the
			// input (everything sat in the pipe) when the destination died.
			if strings.Contains(f.ExternalMessage, "its input") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d failures about the destination's input, want 1: %+v", round, n, res.Failures)
		}
	}
}

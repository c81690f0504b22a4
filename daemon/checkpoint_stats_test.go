package daemon

import (
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// TestStoredStatsKeepPerStreamStateCounts: the per-stream state counts of
// an attempt reach the store (and so the API and the UI's job page).
func TestStoredStatsKeepPerStreamStateCounts(t *testing.T) {
	d := protocol.StreamDescriptor{Name: "users"}
	got := storeStats(runner.Stats{RecordsCommitted: 7, Streams: []runner.StreamStats{
		{Stream: d, RecordsCommitted: 7, BytesCommitted: 70, StatesEmitted: 3, StatesCommitted: 2, Status: "COMPLETE"},
	}})
	if len(got.Streams) != 1 {
		t.Fatalf("streams %+v", got.Streams)
	}
	s := got.Streams[0]
	if s.Stream != d || s.StatesEmitted != 3 || s.StatesCommitted != 2 || s.BytesCommitted != 70 || s.Status != "COMPLETE" {
		t.Fatalf("stored %+v", s)
	}
}

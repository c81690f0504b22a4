package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// legacyResumer is a source with LEGACY state that resumes from it
// whatever the sync mode, as some real 2022 sources do.
func legacyResumer(noCursor bool) scenario {
	return scenario{Streams: []string{"items", "events"}, Source: map[string]any{
		"records": 5, "state_type": "LEGACY", "no_cursor": noCursor, "resume_in_full_refresh": true}}
}

// emptiedWarningsOf returns the job's warnings about streams replaced with
// nothing.
func emptiedWarningsOf(j *store.Job) []string {
	var out []string
	for _, w := range JobWarnings(j) {
		if strings.Contains(w, "the source emitted no records") {
			out = append(out, w)
		}
	}
	return out
}

// TestFullRefreshConnectionGetsNoLegacyState: a connection made without
// stream configurations syncs a cursorless source full refresh overwrite;
// its second sync must not hand the source the LEGACY state of the first,
// so every record comes again and no stream is emptied (issue 12).
func TestFullRefreshConnectionGetsNoLegacyState(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, legacyResumer(true), scenario{})
	for _, s := range conn.Catalog.Streams {
		if s.SyncMode != protocol.SyncFullRefresh || s.DestinationSyncMode != protocol.DestOverwrite {
			t.Fatalf("stream %s configured %s/%s, want full_refresh/overwrite", s.Stream.Name, s.SyncMode, s.DestinationSyncMode)
		}
	}
	serve(t, d)
	for run := 1; run <= 2; run++ {
		j := runJob(t, d, conn.ID, store.JobSync)
		if j.Status != store.JobSucceeded || j.RecordsSynced != 10 {
			t.Fatalf("sync %d: %s with %d records, want succeeded with 10", run, j.Status, j.RecordsSynced)
		}
		if w := emptiedWarningsOf(j); len(w) != 0 {
			t.Errorf("sync %d: warnings %q, want none about emptied streams", run, w)
		}
	}
	for stream, ids := range receivedIDs(t, d) {
		if len(ids) != 10 || len(missing(ids, 5)) != 0 {
			t.Errorf("stream %s: the destination got ids %v, want 1..5 in each sync", stream, ids)
		}
	}
}

// TestEmptiedOverwriteStreamWarns: with one incremental stream the LEGACY
// blob, which cannot be split, still goes to the source, and a source
// that resumes from it in its full refresh stream too emits nothing there.
// The overwrite then replaces the stream's data with nothing: the sync
// succeeds, with a warning naming that stream only.
func TestEmptiedOverwriteStreamWarns(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, legacyResumer(false), scenario{})
	for i := range conn.Catalog.Streams {
		if s := &conn.Catalog.Streams[i]; s.Stream.Name == "items" {
			s.SyncMode, s.DestinationSyncMode, s.CursorField = protocol.SyncFullRefresh, protocol.DestOverwrite, nil
		}
	}
	if err := d.db.UpdateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	serve(t, d)
	first := runJob(t, d, conn.ID, store.JobSync)
	if first.Status != store.JobSucceeded || first.RecordsSynced != 10 || len(emptiedWarningsOf(first)) != 0 {
		t.Fatalf("first sync: %s, %d records, warnings %q; want succeeded with 10 and no warning", first.Status, first.RecordsSynced, JobWarnings(first))
	}
	second := runJob(t, d, conn.ID, store.JobSync)
	w := emptiedWarningsOf(second)
	if second.Status != store.JobSucceeded || second.RecordsSynced != 0 {
		t.Fatalf("second sync: %s with %d records, want succeeded with 0", second.Status, second.RecordsSynced)
	}
	if len(w) != 1 || !strings.HasPrefix(w[0], "stream items:") || !PartialSuccess(second) {
		t.Fatalf("second sync warnings %q, want one about stream items (events is append), a partial success", w)
	}
}

// TestEmptiedStreams: only overwrite streams with no record now and some
// in the previous successful sync are reported, and nothing is when the
// sync's records are not split by stream.
func TestEmptiedStreams(t *testing.T) {
	users, orders := protocol.StreamDescriptor{Name: "users"}, protocol.StreamDescriptor{Name: "orders"}
	cat := &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{
		{Stream: protocol.Stream{Name: "users"}, SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestOverwrite},
		{Stream: protocol.Stream{Name: "orders"}, SyncMode: protocol.SyncIncremental, DestinationSyncMode: protocol.DestAppend},
	}}
	prev := &store.Job{ID: 7, Attempts: []*store.Attempt{
		{Stats: store.Stats{Streams: []store.StreamStats{{Stream: users, RecordsEmitted: 3}, {Stream: orders, RecordsEmitted: 2}}}},
		{Stats: store.Stats{Streams: []store.StreamStats{{Stream: users, RecordsCommitted: 4}}}},
	}}
	for _, tc := range []struct {
		name  string
		stats runner.Stats
		want  int
	}{
		{"both empty", runner.Stats{Streams: []runner.StreamStats{{Stream: users}, {Stream: orders}}}, 1},
		{"users has records", runner.Stats{RecordsEmitted: 1, Streams: []runner.StreamStats{{Stream: users, RecordsEmitted: 1}, {Stream: orders}}}, 0},
		{"records not split by stream", runner.Stats{RecordsEmitted: 9, Streams: []runner.StreamStats{{Stream: users}, {Stream: orders}}}, 0},
	} {
		got := emptiedStreams(cat, tc.stats, prev)
		if len(got) != tc.want {
			t.Errorf("%s: got %q, want %d warnings", tc.name, got, tc.want)
		}
		if len(got) == 1 && !strings.Contains(got[0], "stream users: the source emitted no records, but the last successful sync (job 7) had 7") {
			t.Errorf("%s: warning %q", tc.name, got[0])
		}
	}
}

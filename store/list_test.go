package store

import (
	"context"
	"testing"
)

// TestListTotalPastTheEnd verifies that every list reports the total count
// of matches even when the page's offset is past the last row, where a
// window COUNT(*) OVER () has no row to ride on.
func TestListTotalPastTheEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.newConnection(t)
	if _, err := f.db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatal(err)
	}
	if err := f.db.ReplaceState(ctx, f.conn.ID, nil); err != nil {
		t.Fatal(err)
	}
	past := Page{Limit: 5, Offset: 50}
	for _, tc := range []struct {
		name string
		list func() (int, int, error)
		want int
	}{
		{"jobs", func() (int, int, error) {
			out, n, err := f.db.Jobs(ctx, JobFilter{Page: past})
			return len(out), n, err
		}, 1},
		{"connections", func() (int, int, error) {
			out, n, err := f.db.Connections(ctx, ConnectionFilter{Page: past})
			return len(out), n, err
		}, 2},
		{"sources", func() (int, int, error) {
			out, n, err := f.db.Actors(ctx, ActorFilter{Kind: KindSource, Page: past})
			return len(out), n, err
		}, 1},
		{"definitions", func() (int, int, error) {
			out, n, err := f.db.Definitions(ctx, DefinitionFilter{Page: past})
			return len(out), n, err
		}, 2},
		{"state history", func() (int, int, error) {
			out, n, err := f.db.StateHistory(ctx, f.conn.ID, past)
			return len(out), n, err
		}, 1},
	} {
		rows, total, err := tc.list()
		if err != nil || rows != 0 || total != tc.want {
			t.Errorf("%s past the end: got %d rows of %d (%v), want 0 rows of %d", tc.name, rows, total, err, tc.want)
		}
	}
}

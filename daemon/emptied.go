package daemon

import (
	"context"
	"fmt"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// emptiedWarnings looks for overwrite streams that a succeeded sync
// replaced with nothing: the source emitted no record of the stream,
// although the connection's previous successful sync had records of it.
// A source may really have become empty, so this is a warning (G11), but
// it is also what a source that resumes from state it should not have
// been given looks like, and the destination has already dropped the old
// data. A refresh truncates every stream, so each is checked; a clear
// empties streams on purpose and is never checked.
func (d *Daemon) emptiedWarnings(ctx context.Context, c *store.Claim, cat *protocol.ConfiguredCatalog, res *runner.Result) []string {
	jobs, _, err := d.db.Jobs(ctx, store.JobFilter{ConnectionID: c.Job.ConnectionID, Status: store.JobSucceeded,
		Type: store.JobSync, Page: store.Page{Limit: 1}})
	if err != nil || len(jobs) == 0 {
		return nil // no history (or none readable): nothing to compare with
	}
	prev, err := d.db.Job(ctx, jobs[0].ID)
	if err != nil {
		return nil
	}
	return emptiedStreams(cat, res.Stats, prev)
}

// emptiedStreams compares a sync's per-stream counts with the attempts of
// the previous successful sync job prev.
func emptiedStreams(cat *protocol.ConfiguredCatalog, stats runner.Stats, prev *store.Job) []string {
	before := make(map[protocol.StreamDescriptor]int64)
	for _, a := range prev.Attempts {
		for _, st := range a.Stats.Streams {
			before[st.Stream] += max(st.RecordsEmitted, st.RecordsCommitted)
		}
	}
	now := make(map[protocol.StreamDescriptor]int64, len(stats.Streams))
	var split int64
	for _, st := range stats.Streams {
		now[st.Stream] = max(st.RecordsEmitted, st.RecordsCommitted)
		split += now[st.Stream]
	}
	if split == 0 && stats.RecordsEmitted > 0 {
		// Records came but no stream has a count: a socket-mode GLOBAL
		// state from a destination that reports no per-stream counts.
		// Nothing can be said of one stream.
		return nil
	}
	var out []string
	for _, s := range cat.Streams {
		d := s.Stream.Descriptor()
		if !s.Truncates() || now[d] > 0 || before[d] == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("stream %s: the source emitted no records, but the last successful sync (job %d) had %d; "+
			"this %s replaced the stream's data with nothing", d, prev.ID, before[d], truncation(s)))
	}
	return out
}

// truncation names why a stream's old data was dropped.
func truncation(s protocol.ConfiguredStream) string {
	if isOverwrite(s.DestinationSyncMode) {
		return s.DestinationSyncMode + " sync"
	}
	return "refresh"
}

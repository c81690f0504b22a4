package runner

import (
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// sourceInputState returns the part of the committed state that the source
// may read for this catalog, and a description of what it withheld
// (G13, docs/protocol.md 1.3). Only incremental streams resume: a full refresh
// reads from the start whatever state exists, so a source never sees state
// that a full refresh stream could resume from. A source that resumes
// regardless of the sync mode would otherwise emit nothing, and an
// overwrite destination would replace the stream's data with nothing.
//
//   - STREAM: the states of the incremental streams of the catalog.
//   - GLOBAL: the shared state and the incremental streams' entries, or
//     nothing when no configured stream is incremental.
//   - LEGACY: one opaque blob for every stream, which cannot be split: all
//     of it when at least one configured stream is incremental, else none.
//
// Airbyte resumes a full refresh from its state on the retries of one job
// (resumable full refresh); Ferry does not, so a retry of a full refresh
// reads from the start again: more records, never fewer.
//
// This is the one place that decides it, for the daemon (the connection's
// committed state) and for `ferry sync` (the --state file) alike. The
// attempt's books still start from the whole committed state: what is
// withheld stays committed until the source emits a newer state.
func sourceInputState(cat *protocol.ConfiguredCatalog, states []*protocol.State) (kept []*protocol.State, withheld []string) {
	incremental := make(map[protocol.StreamDescriptor]bool, len(cat.Streams))
	for i := range cat.Streams {
		if cat.Streams[i].SyncMode == protocol.SyncIncremental {
			incremental[cat.Streams[i].Stream.Descriptor()] = true
		}
	}
	for _, s := range states {
		switch s.Kind() {
		case protocol.StateStream:
			d := s.Stream.StreamDescriptor
			if incremental[d] {
				kept = append(kept, s)
			} else {
				withheld = append(withheld, fmt.Sprintf("the state of stream %s (%s)", d, notIncremental(cat, d)))
			}
		case protocol.StateGlobal:
			if len(incremental) == 0 {
				withheld = append(withheld, "the GLOBAL state (no configured stream is incremental)")
				continue
			}
			g := *s.Global
			g.StreamStates = nil
			for _, ss := range s.Global.StreamStates {
				if incremental[ss.StreamDescriptor] {
					g.StreamStates = append(g.StreamStates, ss)
				} else {
					withheld = append(withheld, fmt.Sprintf("the GLOBAL state's entry for stream %s (%s)", ss.StreamDescriptor, notIncremental(cat, ss.StreamDescriptor)))
				}
			}
			c := *s
			c.Global = &g
			kept = append(kept, &c)
		default:
			if len(incremental) == 0 {
				withheld = append(withheld, "the LEGACY state (no configured stream is incremental)")
				continue
			}
			kept = append(kept, s)
		}
	}
	return kept, withheld
}

// notIncremental says why a stream's state is withheld.
func notIncremental(cat *protocol.ConfiguredCatalog, d protocol.StreamDescriptor) string {
	if cs := cat.Find(d); cs != nil {
		return cs.SyncMode
	}
	return "not in the configured catalog"
}

package cdk

import (
	"encoding/json"
	"strconv"

	"github.com/ferrysync/ferry/protocol"
)

// Members a destination adds to the states it acknowledges, cumulative per
// stream (docs/protocol.md 2.3, 6.2).
const (
	keyCommittedRecords = "committedRecordsCount"
	keyCommittedBytes   = "committedBytesCount"
)

// decorate prepares a released state for its acknowledgement: it keeps
// sourceStats and every undeclared member (id included), sets
// destinationStats.recordCount to the records its partitions flushed, and
// adds the cumulative committedRecordsCount and committedBytesCount of each
// stream: at the top level of a STREAM (and LEGACY) state, inside each
// stream_states entry of a GLOBAL one.
func (m *CheckpointManager) decorate(p *pendingState) *protocol.State {
	var flushed int64
	for _, part := range p.partitions {
		for d, c := range m.parts[part] {
			flushed += c.flushed
			t := m.committed[d]
			if t == nil {
				t = &partCount{}
				m.committed[d] = t
			}
			t.flushed += c.flushed
			t.bytes += c.bytes
		}
		delete(m.parts, part)
	}
	st := *p.state
	st.DestinationStats = &protocol.StateStats{RecordCount: protocol.NewCount(flushed)}
	switch st.Kind() {
	case protocol.StateStream:
		st.Extra = withCounts(st.Extra, m.committed[st.Stream.StreamDescriptor])
	case protocol.StateGlobal:
		g := *st.Global
		g.StreamStates = make([]protocol.StreamState, len(st.Global.StreamStates))
		for i, ss := range st.Global.StreamStates {
			ss.Extra = withCounts(ss.Extra, m.committed[ss.StreamDescriptor])
			g.StreamStates[i] = ss
		}
		st.Global = &g
	default:
		all := &partCount{}
		for _, t := range m.committed {
			all.flushed += t.flushed
			all.bytes += t.bytes
		}
		st.Extra = withCounts(st.Extra, all)
	}
	return &st
}

// withCounts returns a copy of extra with the committed counts of t.
func withCounts(extra protocol.Extra, t *partCount) protocol.Extra {
	out := make(protocol.Extra, len(extra)+2)
	for k, v := range extra {
		out[k] = v
	}
	var recs, bytes int64
	if t != nil {
		recs, bytes = t.flushed, t.bytes
	}
	out[keyCommittedRecords] = json.RawMessage(strconv.FormatInt(recs, 10))
	out[keyCommittedBytes] = json.RawMessage(strconv.FormatInt(bytes, 10))
	return out
}

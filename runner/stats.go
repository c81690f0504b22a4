package runner

import (
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// Stats are an attempt's counts. Emitted counts are what Ferry forwarded
// (stdio) or what the connectors reported (socket); committed counts are
// what acknowledged states cover.
type Stats struct {
	RecordsEmitted   int64         `json:"recordsEmitted"`
	BytesEmitted     int64         `json:"bytesEmitted"`
	RecordsCommitted int64         `json:"recordsCommitted"`
	BytesCommitted   int64         `json:"bytesCommitted"`
	StatesEmitted    int64         `json:"statesEmitted"`
	StatesCommitted  int64         `json:"statesCommitted"`
	Streams          []StreamStats `json:"streamStats"`
}

// StreamStats are one stream's counts. The three record counts of G12 are
// RecordsEmitted (Ferry's), SourceRecordCount (the sum of the source's
// sourceStats) and DestinationRecordCount (the sum of the destination's
// destinationStats).
//
// A GLOBAL or LEGACY state checkpoints every stream at once, so each one
// counts in StatesEmitted and StatesCommitted of every configured stream,
// and the records and bytes it covers are split by stream. In socket mode
// records never pass through Ferry: the bytes come from the destination
// (its stats records and the committed counts on its acknowledgements),
// and emitted bytes are never below committed ones.
type StreamStats struct {
	Stream                 protocol.StreamDescriptor `json:"stream"`
	RecordsEmitted         int64                     `json:"recordsEmitted"`
	BytesEmitted           int64                     `json:"bytesEmitted"`
	RecordsCommitted       int64                     `json:"recordsCommitted"`
	BytesCommitted         int64                     `json:"bytesCommitted"`
	SourceRecordCount      int64                     `json:"sourceRecordCount"`
	DestinationRecordCount int64                     `json:"destinationRecordCount"`
	// DestinationCommitted is the destination's cumulative
	// committedRecordsCount, when it reports one.
	DestinationCommitted int64  `json:"destinationCommittedCount,omitempty"`
	StatesEmitted        int64  `json:"statesEmitted"`
	StatesCommitted      int64  `json:"statesCommitted"`
	Status               string `json:"status,omitempty"` // last STREAM_STATUS from the source
	RowEstimate          int64  `json:"rowEstimate,omitempty"`
	ByteEstimate         int64  `json:"byteEstimate,omitempty"`
}

// statsBook accumulates stats. The ledger owns it and updates it under its
// lock.
type statsBook struct {
	total   Stats
	streams map[protocol.StreamDescriptor]*StreamStats
	order   []protocol.StreamDescriptor // the configured streams
	// fromSourceStats counts emitted records from the source's states: in
	// socket mode records never pass through Ferry.
	fromSourceStats bool
}

func newStatsBook(idx *catalogIndex) *statsBook {
	b := &statsBook{streams: make(map[protocol.StreamDescriptor]*StreamStats, len(idx.order)), order: idx.order}
	for _, d := range idx.order {
		b.streams[d] = &StreamStats{Stream: d}
	}
	return b
}

func (b *statsBook) stream(d protocol.StreamDescriptor) *StreamStats {
	s := b.streams[d]
	if s == nil {
		s = &StreamStats{Stream: d}
		b.streams[d] = s
	}
	return s
}

func (b *statsBook) records(d protocol.StreamDescriptor, n, size int64) {
	s := b.stream(d)
	s.RecordsEmitted += n
	s.BytesEmitted += size
	b.total.RecordsEmitted += n
	b.total.BytesEmitted += size
}

func (b *statsBook) sourceState(s *protocol.State) {
	b.total.StatesEmitted++
	var n int64
	if s.SourceStats != nil && s.SourceStats.RecordCount != nil {
		n = int64(*s.SourceStats.RecordCount)
	}
	if b.fromSourceStats {
		b.total.RecordsEmitted += n
	}
	if s.Kind() == protocol.StateStream {
		st := b.stream(s.Stream.StreamDescriptor)
		st.StatesEmitted++
		st.SourceRecordCount += n
		if b.fromSourceStats {
			st.RecordsEmitted += n
		}
		return
	}
	for _, d := range b.order {
		b.streams[d].StatesEmitted++
	}
}

// ack books what an acknowledgement confirmed.
func (b *statsBook) ack(r *ackResult, echo *protocol.State) {
	b.total.RecordsCommitted += r.records
	b.total.BytesCommitted += r.bytes
	b.total.StatesCommitted += int64(r.states)
	if r.key != globalKey {
		st := b.stream(r.key)
		st.RecordsCommitted += r.records
		st.BytesCommitted += r.bytes
		st.StatesCommitted += int64(r.states)
		switch {
		case r.destRecords != nil:
			st.DestinationRecordCount += *r.destRecords
		case echo.DestinationStats != nil && echo.DestinationStats.RecordCount != nil:
			st.DestinationRecordCount += int64(*echo.DestinationStats.RecordCount)
		}
		b.destinationCounts(st, echo.Extra, false)
		return
	}
	for _, d := range b.order {
		b.streams[d].StatesCommitted += int64(r.states)
	}
	for d, c := range r.perStream {
		st := b.stream(d)
		st.RecordsCommitted += c.records
		st.BytesCommitted += c.bytes
	}
	if echo.Global != nil {
		for _, ss := range echo.Global.StreamStates {
			if st := b.streams[ss.StreamDescriptor]; st != nil {
				b.destinationCounts(st, ss.Extra, true)
			}
		}
	}
}

// destinationCounts books the cumulative counts a destination adds for a
// stream to its acknowledgements (docs/protocol.md 2.3, 5.7):
// committedRecordsCount is DestinationCommitted. In socket mode, where
// records never pass through Ferry, committedBytesCount is the stream's
// committed bytes, and emitted bytes are at least that much: the stats
// records that report them come once a minute, so a short sync has none.
// The entries of a GLOBAL state are the only per-stream record counts
// there, so they are the stream's committed records too.
func (b *statsBook) destinationCounts(st *StreamStats, e protocol.Extra, global bool) {
	records, ok := extraInt(e, "committedRecordsCount")
	if ok {
		st.DestinationCommitted = records
	}
	if !b.fromSourceStats {
		return
	}
	if ok && global && records > st.RecordsCommitted {
		st.RecordsCommitted = records // the total counted the sourceStats already
		st.RecordsEmitted = max(st.RecordsEmitted, records)
	}
	if n, ok := extraInt(e, "committedBytesCount"); ok && n > st.BytesCommitted {
		b.total.BytesCommitted += n - st.BytesCommitted
		st.BytesCommitted = n
	}
	b.emittedBytes(st, st.BytesCommitted)
}

// emittedBytes raises a socket-mode stream's emitted bytes to n, a
// cumulative count reported by the destination.
func (b *statsBook) emittedBytes(st *StreamStats, n int64) {
	if n > st.BytesEmitted {
		b.total.BytesEmitted += n - st.BytesEmitted
		st.BytesEmitted = n
	}
}

func (b *statsBook) snapshot() Stats {
	out := b.total
	out.Streams = make([]StreamStats, 0, len(b.streams))
	for _, d := range sortedKeys(b.streams) {
		out.Streams = append(out.Streams, *b.streams[d])
	}
	return out
}

func extraInt(e protocol.Extra, key string) (int64, bool) {
	raw, ok := e[key]
	if !ok {
		return 0, false
	}
	var f float64
	if _, err := fmt.Sscan(string(raw), &f); err != nil {
		return 0, false
	}
	return int64(f), true
}

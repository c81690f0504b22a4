package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ferrysync/ferry/protocol"
)

// DefaultMaxPendingStates bounds the states forwarded but not yet
// acknowledged (G10). Past it the oldest entries are coalesced: their ids
// are remembered only as a watermark, and a later acknowledgement of the
// same stream commits past them.
const DefaultMaxPendingStates = 100000

// globalKey is the pending-queue key of GLOBAL and LEGACY states.
var globalKey = protocol.StreamDescriptor{}

// pendingState is what Ferry remembers of a forwarded state: ids, a hash and
// counts, never a copy of the blob (G10). The committed state is rebuilt
// from the destination's echo once its hash matches.
type pendingState struct {
	id        int64
	key       protocol.StreamDescriptor
	hash      [sha256.Size]byte
	records   int64 // records Ferry forwarded since the previous state
	bytes     int64
	perStream map[protocol.StreamDescriptor]int64 // GLOBAL/LEGACY only
}

// stateTracker numbers the states Ferry forwards in stdio mode and matches
// the destination's acknowledgements to them (PROTOCOL.md 4.2, 4.3; DESIGN
// G1, G2). It is used by the pump (source side) and the destination reader
// under one mutex held by the caller.
type stateTracker struct {
	catalog *catalogIndex
	kind    protocol.StateType // STREAM, GLOBAL or LEGACY once seen
	nextID  int64

	// Records forwarded since the previous state, per stream and in all.
	since      map[protocol.StreamDescriptor]*counter
	sinceAll   counter
	sinceByStr map[protocol.StreamDescriptor]int64 // for GLOBAL per-stream counts

	pending    map[protocol.StreamDescriptor][]pendingState
	byID       map[int64]protocol.StreamDescriptor
	nPending   int
	maxPending int
	coalesced  map[protocol.StreamDescriptor]int64 // highest id dropped unacked
	lastAcked  map[protocol.StreamDescriptor]int64

	// overrideCounts replaces the source's sourceStats with Ferry's count
	// (bridged mode: the source counts per partition).
	overrideCounts bool

	// committed is the whole committed state: input state merged with acks.
	committed map[protocol.StreamDescriptor]*protocol.State
}

type counter struct {
	records, bytes int64
}

func newStateTracker(cat *catalogIndex, input []*protocol.State) *stateTracker {
	t := &stateTracker{
		catalog:    cat,
		nextID:     1,
		since:      make(map[protocol.StreamDescriptor]*counter),
		sinceByStr: make(map[protocol.StreamDescriptor]int64),
		pending:    make(map[protocol.StreamDescriptor][]pendingState),
		byID:       make(map[int64]protocol.StreamDescriptor),
		maxPending: DefaultMaxPendingStates,
		coalesced:  make(map[protocol.StreamDescriptor]int64),
		lastAcked:  make(map[protocol.StreamDescriptor]int64),
		committed:  make(map[protocol.StreamDescriptor]*protocol.State),
	}
	for _, s := range input {
		if s.Kind() == protocol.StateStream {
			t.committed[s.Stream.StreamDescriptor] = s.Clean()
		} else {
			t.committed[globalKey] = s.Clean()
		}
	}
	return t
}

// countRecord notes a forwarded record of stream d.
func (t *stateTracker) countRecord(d protocol.StreamDescriptor, n int) {
	c := t.since[d]
	if c == nil {
		c = &counter{}
		t.since[d] = c
	}
	c.records++
	c.bytes += int64(n)
	t.sinceAll.records++
	t.sinceAll.bytes += int64(n)
	t.sinceByStr[d]++
}

// uncountRecord reverses countRecord for a record Ferry dropped after
// counting it (PROTOCOL.md 4.2: subtract dropped records).
func (t *stateTracker) uncountRecord(d protocol.StreamDescriptor, n int) {
	if c := t.since[d]; c != nil && c.records > 0 {
		c.records--
		c.bytes -= int64(n)
		t.sinceAll.records--
		t.sinceAll.bytes -= int64(n)
		t.sinceByStr[d]--
	}
}

// errSkipState means the state is valid but must not be forwarded.
var errSkipState = errors.New("state not forwarded")

// sourceState prepares a source STATE line for the destination: it checks
// the state, gives it Ferry's id and, when absent, sourceStats.recordCount,
// and remembers it as pending. It returns the line to forward. A returned
// *fatalError fails the attempt; errSkipState drops the line; warnings go to
// warn.
func (t *stateTracker) sourceState(raw []byte, m *protocol.Message, mapping *nameMapper, warn func(string, ...any)) ([]byte, error) {
	s := m.State
	if err := s.Validate(); err != nil {
		return nil, fatalf(OriginSource, "invalid STATE message: %v", err)
	}
	kind := s.Kind()
	if kind == protocol.StateStream || kind == protocol.StateGlobal {
		if t.kind != "" && t.kind != kind && t.kind != protocol.StateLegacy {
			return nil, fatalf(OriginSource, "the source mixed %s and %s states in one sync", t.kind, kind)
		}
	}
	if t.kind == "" || t.kind == protocol.StateLegacy {
		t.kind = kind
	}

	key := globalKey
	if kind == protocol.StateStream {
		key = s.Stream.StreamDescriptor
		if t.catalog.find(key) == nil {
			warn("dropped a STATE for stream %s, which is not in the configured catalog", key)
			return nil, errSkipState
		}
	}

	// Ferry's own count of what this state covers.
	var c counter
	var perStream map[protocol.StreamDescriptor]int64
	if kind == protocol.StateStream {
		if sc := t.since[key]; sc != nil {
			c = *sc
			sc.records, sc.bytes = 0, 0
		}
	} else {
		c = t.sinceAll
		t.sinceAll = counter{}
		perStream = make(map[protocol.StreamDescriptor]int64, len(t.sinceByStr))
		for d, n := range t.sinceByStr {
			if n > 0 {
				perStream[d] = n
			}
			delete(t.sinceByStr, d)
		}
		for _, sc := range t.since {
			sc.records, sc.bytes = 0, 0
		}
	}
	if kind == protocol.StateStream {
		delete(t.sinceByStr, key)
	}

	if t.overrideCounts {
		s.SourceStats = nil
	}
	hadCount := s.SourceStats != nil && s.SourceStats.RecordCount != nil
	if hadCount && int64(*s.SourceStats.RecordCount) != c.records {
		warn("state of %s: the source counted %v records, Ferry forwarded %d", describeKey(key), float64(*s.SourceStats.RecordCount), c.records)
	}

	if t.nextID > math.MaxInt32 {
		return nil, fatalf(OriginReplication, "more than %d states in one attempt", math.MaxInt32)
	}
	id := t.nextID
	t.nextID++

	out, err := t.enrich(raw, m, id, c.records, hadCount, mapping)
	if err != nil {
		return nil, err
	}
	h, err := stateHash(s, mapping, false)
	if err != nil {
		return nil, fatalf(OriginSource, "invalid STATE message: %v", err)
	}
	t.push(pendingState{id: id, key: key, hash: h, records: c.records, bytes: c.bytes, perStream: perStream})
	return out, nil
}

// enrich adds id and, when missing, sourceStats to the state. When the
// state needs nothing else it splices the members into the raw line, so
// every other byte stays as the source wrote it (PROTOCOL.md 2.0).
// Otherwise (a source-supplied id or partition_id to replace, or names to
// map) it re-encodes the message, which preserves unknown members.
func (t *stateTracker) enrich(raw []byte, m *protocol.Message, id, records int64, hadCount bool, mapping *nameMapper) ([]byte, error) {
	s := m.State
	needsMap := mapping.active() && s.Kind() == protocol.StateStream
	if s.ID == nil && s.PartitionID == "" && !needsMap {
		if off := stateObjectOffset(raw); off > 0 {
			var b bytes.Buffer
			b.Grow(len(raw) + 48)
			b.Write(raw[:off+1])
			b.WriteString(`"id":`)
			b.WriteString(strconv.FormatInt(id, 10))
			b.WriteByte(',')
			if !hadCount {
				b.WriteString(`"sourceStats":{"recordCount":`)
				b.WriteString(strconv.FormatInt(records, 10))
				b.WriteString(`.0},`)
			}
			b.Write(raw[off+1:])
			return b.Bytes(), nil
		}
	}
	c := *s
	c.ID = &id
	c.PartitionID = "" // stdio mode never carries partition_id (PROTOCOL.md 4.2)
	if !hadCount {
		c.SourceStats = &protocol.StateStats{RecordCount: protocol.NewCount(records)}
	}
	if needsMap {
		st := *s.Stream
		st.StreamDescriptor = mapping.toDest(st.StreamDescriptor)
		c.Stream = &st
	}
	mm := *m
	mm.State = &c
	return json.Marshal(&mm)
}

// stateObjectOffset returns the offset of the '{' that opens the top-level
// "state" member, or -1.
func stateObjectOffset(raw []byte) int {
	start, _, ok := protocol.MemberSpan(raw, "state")
	if !ok || raw[start] != '{' {
		return -1
	}
	return start
}

func (t *stateTracker) push(p pendingState) {
	t.pending[p.key] = append(t.pending[p.key], p)
	t.byID[p.id] = p.key
	t.nPending++
	if t.nPending <= t.maxPending {
		return
	}
	// Coalesce: forget the oldest pending state of this queue. An ack of a
	// later state of the same stream still commits past it.
	q := t.pending[p.key]
	old := q[0]
	t.pending[p.key] = q[1:]
	delete(t.byID, old.id)
	t.coalesced[p.key] = old.id
	t.nPending--
}

// ackResult is what one destination STATE did.
type ackResult struct {
	committed *protocol.State // the newly committed state, nil when none
	key       protocol.StreamDescriptor
	records   int64 // records covered by the states this ack confirmed
	bytes     int64
	perStream map[protocol.StreamDescriptor]int64
	states    int
}

// ackError is a protocol violation by the destination: never committed,
// recorded, and fatal at the end in strict mode.
type ackError struct{ msg string }

func (e *ackError) Error() string { return e.msg }

func ackErrorf(format string, args ...any) error {
	return &ackError{msg: fmt.Sprintf(format, args...)}
}

// destState matches a destination STATE (an acknowledgement) to the pending
// states (G2). An ack of id N confirms N and the same stream's earlier
// states. A nil result with nil error means the ack was older than what is
// already committed and was ignored.
func (t *stateTracker) destState(s *protocol.State, mapping *nameMapper) (*ackResult, error) {
	if err := s.Validate(); err != nil {
		return nil, ackErrorf("invalid acknowledgement: %v", err)
	}
	kind := s.Kind()
	key := globalKey
	if kind == protocol.StateStream {
		key = mapping.toSource(s.Stream.StreamDescriptor)
	}
	h, err := stateHash(s, mapping, true)
	if err != nil {
		return nil, ackErrorf("invalid acknowledgement: %v", err)
	}

	if s.ID == nil {
		// Older destinations may drop the id: match the oldest pending state
		// with the same content (PROTOCOL.md 4.3).
		for _, p := range t.pending[key] {
			if p.hash == h {
				return t.confirm(key, p.id, s, mapping)
			}
		}
		return nil, ackErrorf("acknowledgement without id matches no pending state of %s", describeKey(key))
	}

	id := *s.ID
	owner, ok := t.byID[id]
	if !ok {
		if last, acked := t.lastAcked[key]; acked && id <= last {
			return nil, nil // older than what is committed: ignored, never regress
		}
		if id < t.nextID && id <= t.coalesced[key] {
			return nil, nil // coalesced away; a later ack commits past it
		}
		if id >= t.nextID || id < 1 {
			return nil, ackErrorf("acknowledgement of state id %d, which Ferry never sent (last sent: %d)", id, t.nextID-1)
		}
		return nil, ackErrorf("acknowledgement of state id %d for %s, which Ferry sent for another stream", id, describeKey(key))
	}
	if owner != key {
		return nil, ackErrorf("acknowledgement of state id %d names %s, but Ferry sent it for %s", id, describeKey(key), describeKey(owner))
	}
	var want [sha256.Size]byte
	for _, p := range t.pending[key] {
		if p.id == id {
			want = p.hash
			break
		}
	}
	if want != h {
		return nil, ackErrorf("acknowledgement of state id %d carries a different state than Ferry sent", id)
	}
	return t.confirm(key, id, s, mapping)
}

// confirm pops every pending state of key up to id and commits the state
// rebuilt from the echo.
func (t *stateTracker) confirm(key protocol.StreamDescriptor, id int64, echo *protocol.State, mapping *nameMapper) (*ackResult, error) {
	res := &ackResult{key: key}
	q := t.pending[key]
	n := 0
	for n < len(q) && q[n].id <= id {
		p := q[n]
		res.records += p.records
		res.bytes += p.bytes
		res.states++
		for d, c := range p.perStream {
			if res.perStream == nil {
				res.perStream = make(map[protocol.StreamDescriptor]int64)
			}
			res.perStream[d] += c
		}
		delete(t.byID, p.id)
		n++
	}
	t.pending[key] = q[n:]
	t.nPending -= n
	t.lastAcked[key] = id

	st := t.rebuild(echo, key, mapping)
	t.committed[key] = st
	if key == globalKey {
		// A GLOBAL or LEGACY state replaces any stream states.
		for k := range t.committed {
			if k != globalKey {
				delete(t.committed, k)
			}
		}
	}
	res.committed = st
	return res, nil
}

// rebuild makes the state to persist from an echo whose content matched
// what Ferry sent: the source-side names, no bookkeeping members, and
// GLOBAL stream states pruned to the catalog (PROTOCOL.md 4.3).
func (t *stateTracker) rebuild(echo *protocol.State, key protocol.StreamDescriptor, mapping *nameMapper) *protocol.State {
	c := echo.Clean()
	switch c.Kind() {
	case protocol.StateStream:
		c.Stream.StreamDescriptor = key
	case protocol.StateGlobal:
		c.Global.StreamStates = pruneGlobal(c.Global.StreamStates, t.catalog)
	}
	_ = mapping // GLOBAL descriptors are not mapped (PROTOCOL.md 4.6)
	return c
}

// committedStates returns the whole committed state, ordered by stream.
func (t *stateTracker) committedStates() []*protocol.State {
	out := make([]*protocol.State, 0, len(t.committed))
	if g, ok := t.committed[globalKey]; ok {
		return append(out, g)
	}
	for _, d := range sortedKeys(t.committed) {
		out = append(out, t.committed[d])
	}
	return out
}

// pendingCount returns how many forwarded states await acknowledgement.
func (t *stateTracker) pendingCount() int { return t.nPending }

// stateHash hashes what a state says, not how it is written: the kind, the
// stream descriptor (source-side names) and the canonical JSON of the
// blobs. Echoes are re-serialized by destinations (spacing, key order,
// "global_"), so bytes cannot be compared (PROTOCOL.md section 3).
func stateHash(s *protocol.State, mapping *nameMapper, fromDest bool) ([sha256.Size]byte, error) {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	canon := func(raw json.RawMessage) error {
		b, err := canonicalJSON(raw)
		if err != nil {
			return err
		}
		h.Write(b)
		h.Write([]byte{0})
		return nil
	}
	kind := s.Kind()
	write(string(kind))
	switch kind {
	case protocol.StateStream:
		d := s.Stream.StreamDescriptor
		if fromDest {
			d = mapping.toSource(d)
		}
		write(d.Namespace, d.Name)
		if err := canon(s.Stream.StreamState); err != nil {
			return [32]byte{}, err
		}
	case protocol.StateGlobal:
		if err := canon(s.Global.SharedState); err != nil {
			return [32]byte{}, err
		}
		for _, ss := range s.Global.StreamStates {
			write(ss.StreamDescriptor.Namespace, ss.StreamDescriptor.Name)
			if err := canon(ss.StreamState); err != nil {
				return [32]byte{}, err
			}
		}
	default:
		if err := canon(s.Data); err != nil {
			return [32]byte{}, err
		}
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// canonicalJSON re-encodes JSON with sorted keys and no spacing. Numbers
// keep their text (json.Number), so cursors beyond 2^53 compare exactly.
func canonicalJSON(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return []byte("null"), nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func describeKey(d protocol.StreamDescriptor) string {
	if d == globalKey {
		return "the global state"
	}
	return "stream " + d.String()
}

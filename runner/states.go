package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
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
	perStream map[protocol.StreamDescriptor]counter // GLOBAL/LEGACY only: records and bytes by stream
}

// stateTracker numbers the states Ferry forwards in stdio mode and matches
// the destination's acknowledgements to them (docs/protocol.md 4.2, 4.3;
// docs/design.md G1, G2). The ledger owns it and calls it under the
// ledger's lock, for the pump (source side) and the destination reader
// alike.
type stateTracker struct {
	catalog *catalogIndex
	kind    protocol.StateType // STREAM, GLOBAL or LEGACY once seen
	nextID  int64

	// Records forwarded since the previous state, per stream and in all.
	since    map[protocol.StreamDescriptor]*counter
	sinceAll counter

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

// countRecords notes n forwarded records (size bytes) of stream d.
func (t *stateTracker) countRecords(d protocol.StreamDescriptor, n, size int64) {
	c := t.since[d]
	if c == nil {
		c = &counter{}
		t.since[d] = c
	}
	c.records += n
	c.bytes += size
	t.sinceAll.records += n
	t.sinceAll.bytes += size
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
		return nil, fatalf(protocol.OriginSource, "invalid STATE message: %v", err)
	}
	kind := s.Kind()
	if t.kind != "" && t.kind != kind {
		// Destinations throw on a mix too, and a mix could not be
		// persisted as one state (docs/protocol.md 4.3).
		return nil, fatalf(protocol.OriginSource, "the source mixed %s and %s states in one sync", t.kind, kind)
	}
	t.kind = kind

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
	var perStream map[protocol.StreamDescriptor]counter
	if kind == protocol.StateStream {
		if sc := t.since[key]; sc != nil {
			c = *sc
			sc.records, sc.bytes = 0, 0
		}
	} else {
		// A GLOBAL or LEGACY state covers every stream's records since the
		// previous one; the split by stream gives the per-stream stats.
		c = t.sinceAll
		t.sinceAll = counter{}
		for d, sc := range t.since {
			if sc.records == 0 && sc.bytes == 0 {
				continue
			}
			if perStream == nil {
				perStream = make(map[protocol.StreamDescriptor]counter)
			}
			perStream[d] = *sc
			sc.records, sc.bytes = 0, 0
		}
	}

	if t.overrideCounts {
		s.SourceStats = nil
	}
	hadCount := s.SourceStats != nil && s.SourceStats.RecordCount != nil
	if hadCount && int64(*s.SourceStats.RecordCount) != c.records {
		warn("%s: the source counted %v records, Ferry forwarded %d", describeState(kind, key), float64(*s.SourceStats.RecordCount), c.records)
	}

	if t.nextID > math.MaxInt32 {
		return nil, fatalf(protocol.OriginReplication, "more than %d states in one attempt", math.MaxInt32)
	}
	id := t.nextID
	t.nextID++

	out, err := t.enrich(raw, m, id, c.records, hadCount, mapping)
	if err != nil {
		return nil, err
	}
	h, err := stateHash(s, mapping, false)
	if err != nil {
		return nil, fatalf(protocol.OriginSource, "invalid STATE message: %v", err)
	}
	t.push(pendingState{id: id, key: key, hash: h, records: c.records, bytes: c.bytes, perStream: perStream})
	return out, nil
}

// enrich adds id and, when missing, sourceStats to the state. When the
// state needs nothing else it splices the members into the raw line, so
// every other byte stays as the source wrote it (docs/protocol.md 2.0).
// Otherwise (a source-supplied id or partition_id to replace, or names to
// map) it re-encodes the message, which preserves unknown members.
func (t *stateTracker) enrich(raw []byte, m *protocol.Message, id, records int64, hadCount bool, mapping *nameMapper) ([]byte, error) {
	s := m.State
	needsMap := mapping.active() && s.Kind() == protocol.StateStream
	if s.ID == nil && s.PartitionID == "" && !needsMap {
		// Splice only when no member of those names is in the bytes, even
		// as null: a second member of a name would shadow or be shadowed.
		off := stateObjectOffset(raw)
		if off > 0 && !hasMember(raw[off:], "id", "partition_id") && (hadCount || !hasMember(raw[off:], "sourceStats")) {
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
	c.PartitionID = "" // stdio mode never carries partition_id (docs/protocol.md 4.2)
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

// hasMember reports whether the JSON object starting obj has any of keys,
// whatever their value: a splice must never add a second member of a name
// ("sourceStats":null decodes as absent but is still in the bytes).
func hasMember(obj []byte, keys ...string) bool {
	for _, k := range keys {
		if _, _, ok := protocol.MemberSpan(obj, k); ok {
			return true
		}
	}
	return false
}

func (t *stateTracker) push(p pendingState) {
	t.pending[p.key] = append(t.pending[p.key], p)
	t.byID[p.id] = p.key
	t.nPending++
	if t.nPending <= t.maxPending {
		return
	}
	// Coalesce: forget the oldest pending state of all. Its ack, if it ever
	// comes, is ignored; an ack of a later state of the same stream (or the
	// global state) still commits past it.
	var oldKey protocol.StreamDescriptor
	oldID := int64(-1)
	for k, q := range t.pending {
		if len(q) > 0 && (oldID < 0 || q[0].id < oldID) {
			oldKey, oldID = k, q[0].id
		}
	}
	t.pending[oldKey] = t.pending[oldKey][1:]
	delete(t.byID, oldID)
	t.coalesced[oldKey] = oldID
	t.nPending--
}

// ackResult is what one destination STATE did.
type ackResult struct {
	committed *protocol.State // the newly committed state, nil when none
	echo      *protocol.State // the acknowledgement that committed it
	key       protocol.StreamDescriptor
	records   int64 // records covered by the states this ack confirmed
	bytes     int64
	perStream map[protocol.StreamDescriptor]counter // GLOBAL/LEGACY in stdio mode
	states    int
	// destRecords sums the destinationStats record counts of every
	// acknowledgement committed at once (socket mode, where one ack may
	// release later ones that arrived first); nil: echo's alone.
	destRecords *int64
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
		// with the same content (docs/protocol.md 4.3).
		for _, p := range t.pending[key] {
			if p.hash == h {
				return t.confirm(key, p.id, s, mapping)
			}
		}
		return nil, ackErrorf("acknowledgement without id matches no pending state of %s", describeKey(kind, key))
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
		return nil, ackErrorf("acknowledgement of state id %d for %s, which Ferry sent for another stream", id, describeKey(kind, key))
	}
	if owner != key {
		return nil, ackErrorf("acknowledgement of state id %d names %s, but Ferry sent it for %s", id, describeKey(kind, key), describeKey(t.kind, owner))
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
	res := &ackResult{key: key, echo: echo}
	q := t.pending[key]
	n := 0
	for n < len(q) && q[n].id <= id {
		p := q[n]
		res.records += p.records
		res.bytes += p.bytes
		res.states++
		for d, c := range p.perStream {
			if res.perStream == nil {
				res.perStream = make(map[protocol.StreamDescriptor]counter)
			}
			sum := res.perStream[d]
			sum.records += c.records
			sum.bytes += c.bytes
			res.perStream[d] = sum
		}
		delete(t.byID, p.id)
		n++
	}
	t.pending[key] = q[n:]
	t.nPending -= n
	t.lastAcked[key] = id

	st := t.rebuild(echo, key)
	t.committed[key] = st
	if key != globalKey {
		// A STREAM state replaces an older GLOBAL or LEGACY one (a source
		// that changed its kind of state between versions).
		delete(t.committed, globalKey)
	} else {
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
// GLOBAL stream states pruned to the catalog (docs/protocol.md 4.3).
func (t *stateTracker) rebuild(echo *protocol.State, key protocol.StreamDescriptor) *protocol.State {
	c := echo.Clean()
	switch c.Kind() {
	case protocol.StateStream:
		c.Stream.StreamDescriptor = key
	case protocol.StateGlobal:
		c.Global.StreamStates = pruneGlobal(c.Global.StreamStates, t.catalog)
	}
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
// "global_"), so bytes cannot be compared (docs/protocol.md section 3).
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
	// extras hashes the undeclared members, without Ferry's and the
	// connectors' bookkeeping keys: the committed state is rebuilt from the
	// echo, so everything it keeps must have matched what was sent.
	extras := func(e protocol.Extra) error {
		b, err := json.Marshal(stripBookkeeping(e))
		if err != nil {
			return err
		}
		return canon(b)
	}
	kind := s.Kind()
	write(string(kind))
	if err := extras(s.Extra); err != nil {
		return [32]byte{}, err
	}
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
		if err := extras(s.Stream.Extra); err != nil {
			return [32]byte{}, err
		}
	case protocol.StateGlobal:
		if err := canon(s.Global.SharedState); err != nil {
			return [32]byte{}, err
		}
		if err := extras(s.Global.Extra); err != nil {
			return [32]byte{}, err
		}
		for _, ss := range s.Global.StreamStates {
			write(ss.StreamDescriptor.Namespace, ss.StreamDescriptor.Name)
			if err := canon(ss.StreamState); err != nil {
				return [32]byte{}, err
			}
			if err := extras(ss.Extra); err != nil {
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

// stripBookkeeping drops the members Ferry and connectors add for
// bookkeeping from an Extra map.
func stripBookkeeping(e protocol.Extra) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(e))
	for k, v := range e {
		out[k] = v
	}
	for _, k := range protocol.BookkeepingKeys {
		delete(out, k)
	}
	return out
}

// canonicalJSON re-encodes JSON with sorted keys, no spacing and numbers in
// one exact form: destinations that parse numbers as doubles echo 1.50 as
// 1.5 or 1e2 as 100.0, which are the same values. Numbers are compared as
// exact rationals, so cursors beyond 2^53 still compare exactly.
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
	return json.Marshal(normalizeNumbers(v))
}

// normalizeNumbers rewrites every json.Number to its exact rational form.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(x)); ok {
			return json.RawMessage(strconv.Quote("n:" + r.RatString()))
		}
		return x
	case map[string]any:
		for k, c := range x {
			x[k] = normalizeNumbers(c)
		}
	case []any:
		for i, c := range x {
			x[i] = normalizeNumbers(c)
		}
	}
	return v
}

// describeKey names the scope of a state in messages: its stream, or the
// one series of GLOBAL or LEGACY states that cover every stream (both are
// kept under globalKey, but a LEGACY state is not a GLOBAL one).
func describeKey(kind protocol.StateType, d protocol.StreamDescriptor) string {
	switch {
	case d != globalKey:
		return "stream " + d.String()
	case kind == protocol.StateLegacy:
		return "the LEGACY states"
	default:
		return "the GLOBAL states"
	}
}

// describeState names one state of the scope: "the state of stream x",
// "the LEGACY state".
func describeState(kind protocol.StateType, d protocol.StreamDescriptor) string {
	switch {
	case d != globalKey:
		return "the state of stream " + d.String()
	case kind == protocol.StateLegacy:
		return "the LEGACY state"
	default:
		return "the GLOBAL state"
	}
}

package runner

import (
	"crypto/sha256"

	"github.com/ferrysync/ferry/protocol"
)

// ackMatcher turns destination acknowledgements into committed state. The
// stdio tracker and the socket-mode bookkeeper implement it.
type ackMatcher interface {
	destState(s *protocol.State, mapping *nameMapper) (*ackResult, error)
	committedStates() []*protocol.State
	pendingCount() int
}

var (
	_ ackMatcher = (*stateTracker)(nil)
	_ ackMatcher = (*socketBook)(nil)
)

// socketBook keeps the books in socket mode (docs/protocol.md 5.7, docs/design.md G2):
// records never pass through Ferry. Source states arrive on the source's
// stdout with the source's own ids; destination states on its stdout are
// acknowledgements. An acknowledgement confirms only its own id, and only
// the contiguous prefix of acknowledged ids of a stream (or of the global
// state) is committed: acks 1, 2, 4 and 5 commit 2, and 4 and 5 wait for 3.
// Like the stdio tracker it keeps hashes and counts, never state copies,
// except for acknowledged states waiting for an earlier one.
type socketBook struct {
	catalog   *catalogIndex
	kind      protocol.StateType
	keys      map[protocol.StreamDescriptor]*keyBook
	committed map[protocol.StreamDescriptor]*protocol.State
	pending   int
	max       int
	// ignored counts acknowledgements of ids already committed (a
	// regressing or repeated ack): never committed, reported at the end.
	ignored int
}

type keyBook struct {
	// next is the id that must be committed next; 0 until the first state.
	next   int64
	staged map[int64]stagedState
	// acked holds verified acknowledgements waiting for the prefix, and
	// early ones (the destination was faster than Ferry's read of the
	// source's stdout) waiting for their source state.
	acked map[int64]*protocol.State
}

type stagedState struct {
	hash    [sha256.Size]byte
	records int64
}

func newSocketBook(cat *catalogIndex, input []*protocol.State) *socketBook {
	b := &socketBook{catalog: cat, keys: make(map[protocol.StreamDescriptor]*keyBook),
		committed: make(map[protocol.StreamDescriptor]*protocol.State), max: DefaultMaxPendingStates}
	for _, s := range input {
		if s.Kind() == protocol.StateStream {
			b.committed[s.Stream.StreamDescriptor] = s.Clean()
		} else {
			b.committed[globalKey] = s.Clean()
		}
	}
	return b
}

func (b *socketBook) key(k protocol.StreamDescriptor) *keyBook {
	kb := b.keys[k]
	if kb == nil {
		kb = &keyBook{staged: make(map[int64]stagedState), acked: make(map[int64]*protocol.State)}
		b.keys[k] = kb
	}
	return kb
}

// sourceState stages a state the source printed on stdout. A state without
// an integer id cannot be matched and fails the attempt, as in Airbyte.
func (b *socketBook) sourceState(s *protocol.State, mapping *nameMapper, warn func(string, ...any)) (*ackResult, error) {
	if err := s.Validate(); err != nil {
		return nil, fatalf(protocol.OriginSource, "invalid STATE message: %v", err)
	}
	kind := s.Kind()
	if kind == protocol.StateLegacy {
		return nil, fatalf(protocol.OriginSource, "a LEGACY state in socket mode; socket mode needs STREAM or GLOBAL states with ids")
	}
	if b.kind != "" && b.kind != kind {
		return nil, fatalf(protocol.OriginSource, "the source mixed %s and %s states in one sync", b.kind, kind)
	}
	b.kind = kind
	if s.ID == nil {
		return nil, fatalf(protocol.OriginSource, "a socket-mode state without an id; states cannot be matched to acknowledgements")
	}
	key := globalKey
	if kind == protocol.StateStream {
		key = s.Stream.StreamDescriptor
		if b.catalog.find(key) == nil {
			warn("ignored a STATE for stream %s, which is not in the configured catalog", key)
			return nil, nil
		}
	}
	h, err := stateHash(s, mapping, false)
	if err != nil {
		return nil, fatalf(protocol.OriginSource, "invalid STATE message: %v", err)
	}
	var records int64
	if s.SourceStats != nil && s.SourceStats.RecordCount != nil {
		records = int64(*s.SourceStats.RecordCount)
	}
	kb := b.key(key)
	id := *s.ID
	if _, dup := kb.staged[id]; dup || (kb.next > 0 && id < kb.next) {
		warn("the source sent state id %d of %s twice; its counts are unreliable", id, describeKey(kind, key))
		return nil, nil
	}
	if kb.next == 0 {
		kb.next = id
	}
	if b.pending >= b.max {
		return nil, fatalf(protocol.OriginReplication, "more than %d states await acknowledgement", b.max)
	}
	kb.staged[id] = stagedState{hash: h, records: records}
	b.pending++
	// An early acknowledgement may be waiting for this state.
	if ack, ok := kb.acked[id]; ok {
		ah, err := stateHash(ack, mapping, true)
		if err != nil || ah != h {
			delete(kb.acked, id)
			delete(kb.staged, id)
			b.pending--
			return nil, ackErrorf("acknowledgement of state id %d of %s carries a different state than the source sent", id, describeKey(kind, key))
		}
		return b.advance(key, kb), nil
	}
	return nil, nil
}

// destState takes one acknowledgement and commits what became contiguous.
func (b *socketBook) destState(s *protocol.State, mapping *nameMapper) (*ackResult, error) {
	if err := s.Validate(); err != nil {
		return nil, ackErrorf("invalid acknowledgement: %v", err)
	}
	if s.ID == nil {
		return nil, ackErrorf("acknowledgement without an id; socket mode matches by id")
	}
	key := globalKey
	if s.Kind() == protocol.StateStream {
		key = mapping.toSource(s.Stream.StreamDescriptor)
	}
	kb := b.key(key)
	id := *s.ID
	if kb.next > 0 && id < kb.next {
		b.ignored++ // already committed: ignored, never regress (G2)
		return nil, nil
	}
	if _, dup := kb.acked[id]; dup {
		b.ignored++
		return nil, nil
	}
	st, ok := kb.staged[id]
	if !ok {
		// The destination may ack before Ferry has read the source's copy of
		// the state (dual emission): keep it, bounded, until it arrives.
		if len(kb.acked) >= b.max {
			return nil, ackErrorf("acknowledgement of state id %d of %s, which the source never sent", id, describeKey(s.Kind(), key))
		}
		kb.acked[id] = s
		return nil, nil
	}
	h, err := stateHash(s, mapping, true)
	if err != nil {
		return nil, ackErrorf("invalid acknowledgement: %v", err)
	}
	if h != st.hash {
		return nil, ackErrorf("acknowledgement of state id %d of %s carries a different state than the source sent", id, describeKey(s.Kind(), key))
	}
	kb.acked[id] = s
	return b.advance(key, kb), nil
}

// advance commits the contiguous prefix of verified acknowledgements.
func (b *socketBook) advance(key protocol.StreamDescriptor, kb *keyBook) *ackResult {
	var res *ackResult
	for {
		ack, ok := kb.acked[kb.next]
		st, staged := kb.staged[kb.next]
		if !ok || !staged {
			return res
		}
		if res == nil {
			res = &ackResult{key: key}
		}
		res.records += st.records
		res.states++
		if ds := ack.DestinationStats; ds != nil && ds.RecordCount != nil {
			if res.destRecords == nil {
				res.destRecords = new(int64)
			}
			*res.destRecords += int64(*ds.RecordCount)
		}
		c := ack.Clean()
		if c.Kind() == protocol.StateStream {
			c.Stream.StreamDescriptor = key
			delete(b.committed, globalKey) // it replaces an older GLOBAL or LEGACY state
		} else {
			c.Global.StreamStates = pruneGlobal(c.Global.StreamStates, b.catalog)
			for k := range b.committed {
				if k != globalKey {
					delete(b.committed, k)
				}
			}
		}
		b.committed[key] = c
		res.committed = c
		res.echo = ack
		delete(kb.acked, kb.next)
		delete(kb.staged, kb.next)
		b.pending--
		kb.next++
	}
}

func pruneGlobal(states []protocol.StreamState, cat *catalogIndex) []protocol.StreamState {
	kept := states[:0:0]
	for _, ss := range states {
		if cat.find(ss.StreamDescriptor) != nil {
			kept = append(kept, ss)
		}
	}
	return kept
}

func (b *socketBook) committedStates() []*protocol.State {
	if g, ok := b.committed[globalKey]; ok {
		return []*protocol.State{g}
	}
	out := make([]*protocol.State, 0, len(b.committed))
	for _, d := range sortedKeys(b.committed) {
		out = append(out, b.committed[d])
	}
	return out
}

func (b *socketBook) pendingCount() int { return b.pending }

// waiting counts the staged states that were acknowledged but cannot be
// committed, because an earlier id of their stream never was.
func (b *socketBook) waiting() int {
	n := 0
	for _, kb := range b.keys {
		for id := range kb.acked {
			if _, ok := kb.staged[id]; ok {
				n++
			}
		}
	}
	return n
}

// unmatched lists acknowledgements that never met their source state.
func (b *socketBook) unmatched() int {
	n := 0
	for _, kb := range b.keys {
		for id := range kb.acked {
			if _, ok := kb.staged[id]; !ok {
				n++
			}
		}
	}
	return n
}

package cdk

import (
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// CheckpointManager decides when a destination may acknowledge a state,
// following the load CDK's rules (docs/protocol.md 6.2):
//
//   - states are queued per scope (a stream for STREAM states, one global
//     scope for GLOBAL and LEGACY) and ordered by index;
//   - the head of a scope is released only when its index is exactly the
//     previous released index + 1, so state N waits for 1..N-1;
//   - and only when the records of its partitions were all durably flushed:
//     the flushed count summed over its partitions equals its expected
//     count (sourceStats.recordCount, or, leniently, the count received
//     when the state arrived, for a state without sourceStats).
//
// A partition is a group of records one state covers: a partition_id in
// socket mode, or the inferred "<stream>-<ordinal>" key in stdio mode
// (docs/protocol.md 6.3, see inferredKeys). The manager is channel-agnostic: it
// sees counts, not bytes on a wire. It is not safe for concurrent use.
type CheckpointManager struct {
	kind   protocol.StateType
	scopes map[scope]*scopeQueue
	order  []scope // scopes in first-seen order, for stable output
	seq    int64   // arrival counter, to release in arrival order

	// parts counts records per partition and stream.
	parts map[string]map[protocol.StreamDescriptor]*partCount
	// committed is the cumulative count per stream of records covered by
	// released states.
	committed map[protocol.StreamDescriptor]*partCount
}

// scope is the ordering domain of a state: one stream, or global.
type scope struct {
	global bool
	stream protocol.StreamDescriptor
}

func (s scope) String() string {
	if s.global {
		return "global state"
	}
	return "stream " + s.stream.String()
}

type scopeQueue struct {
	last    int64 // index of the last released state
	pending map[int64]*pendingState
}

// partCount is a record and byte tally.
type partCount struct {
	received, flushed int64
	recvBytes, bytes  int64
}

type pendingState struct {
	index      int64
	seq        int64
	partitions []string
	expected   int64
	state      *protocol.State
}

// NewCheckpointManager returns an empty manager.
func NewCheckpointManager() *CheckpointManager {
	return &CheckpointManager{
		scopes:    make(map[scope]*scopeQueue),
		parts:     make(map[string]map[protocol.StreamDescriptor]*partCount),
		committed: make(map[protocol.StreamDescriptor]*partCount),
	}
}

func (m *CheckpointManager) count(partition string, d protocol.StreamDescriptor) *partCount {
	byStream := m.parts[partition]
	if byStream == nil {
		byStream = make(map[protocol.StreamDescriptor]*partCount)
		m.parts[partition] = byStream
	}
	c := byStream[d]
	if c == nil {
		c = &partCount{}
		byStream[d] = c
	}
	return c
}

// Received records that n records (of the given total byte size) of
// stream d arrived in partition.
func (m *CheckpointManager) Received(d protocol.StreamDescriptor, partition string, n, bytes int64) {
	c := m.count(partition, d)
	c.received += n
	c.recvBytes += bytes
}

// Flushed records that n records (bytes in total) of stream d in partition
// are now durable.
func (m *CheckpointManager) Flushed(d protocol.StreamDescriptor, partition string, n, bytes int64) {
	c := m.count(partition, d)
	c.flushed += n
	c.bytes += bytes
}

// AddState queues a state. index orders it within its scope (from 1);
// partitions are the record groups it covers. It fails when STREAM and
// GLOBAL states are mixed (the first kind wins), when the index is not
// positive, was already released, or is already pending, and when
// sourceStats.recordCount is not a whole non-negative number.
func (m *CheckpointManager) AddState(st *protocol.State, index int64, partitions []string) error {
	kind := st.Kind()
	if m.kind == "" {
		m.kind = kind
	} else if kind != m.kind {
		return fmt.Errorf("a %s state arrived after %s states: a sync cannot mix state types", kind, m.kind)
	}
	sc := scope{global: kind != protocol.StateStream}
	if !sc.global {
		sc.stream = st.Stream.StreamDescriptor
	}
	q := m.scopes[sc]
	if q == nil {
		q = &scopeQueue{pending: make(map[int64]*pendingState)}
		m.scopes[sc] = q
		m.order = append(m.order, sc)
	}
	if index < 1 {
		return fmt.Errorf("%s: state index %d is not positive", sc, index)
	}
	if index <= q.last {
		return fmt.Errorf("%s: state index %d was already released (last %d)", sc, index, q.last)
	}
	if _, dup := q.pending[index]; dup {
		return fmt.Errorf("%s: state index %d is already pending", sc, index)
	}
	p := &pendingState{index: index, partitions: partitions, state: st}
	m.seq++
	p.seq = m.seq
	if st.SourceStats != nil && st.SourceStats.RecordCount != nil {
		f := float64(*st.SourceStats.RecordCount)
		if f < 0 || f != float64(int64(f)) {
			return fmt.Errorf("%s: sourceStats.recordCount %v is not a whole count", sc, f)
		}
		p.expected = int64(f)
	} else {
		// Leniency for states without sourceStats: expect what has
		// arrived so far, so the state waits for every earlier record.
		p.expected = m.sum(partitions, func(c *partCount) int64 { return c.received })
	}
	q.pending[index] = p
	return nil
}

func (m *CheckpointManager) sum(partitions []string, f func(*partCount) int64) int64 {
	var n int64
	for _, p := range partitions {
		for _, c := range m.parts[p] {
			n += f(c)
		}
	}
	return n
}

// Pending returns the number of queued states.
func (m *CheckpointManager) Pending() int {
	n := 0
	for _, q := range m.scopes {
		n += len(q.pending)
	}
	return n
}

// Release returns every state that may now be acknowledged, decorated
// (see decorate). Each scope's states come in index order; across scopes
// they are merged in arrival order. Released partitions are forgotten.
func (m *CheckpointManager) Release() []*protocol.State {
	var lists [][]*pendingState
	for _, sc := range m.order {
		q := m.scopes[sc]
		var ready []*pendingState
		for {
			p := q.pending[q.last+1]
			if p == nil || m.sum(p.partitions, func(c *partCount) int64 { return c.flushed }) != p.expected {
				break
			}
			delete(q.pending, p.index)
			q.last = p.index
			ready = append(ready, p)
		}
		if len(ready) > 0 {
			lists = append(lists, ready)
		}
	}
	var out []*protocol.State
	for len(lists) > 0 {
		best := 0
		for i := range lists {
			if lists[i][0].seq < lists[best][0].seq {
				best = i
			}
		}
		out = append(out, m.decorate(lists[best][0]))
		if lists[best] = lists[best][1:]; len(lists[best]) == 0 {
			lists = append(lists[:best], lists[best+1:]...)
		}
	}
	return out
}

// Stalled describes every scope whose head cannot be released yet: a gap
// in the indexes, records not flushed yet, or more records flushed than
// the state counts. At the end of a sync a non-empty answer means states
// that will never be acknowledged.
func (m *CheckpointManager) Stalled() []string {
	var out []string
	for _, sc := range m.order {
		q := m.scopes[sc]
		if len(q.pending) == 0 {
			continue
		}
		p := q.pending[q.last+1]
		if p == nil {
			out = append(out, fmt.Sprintf("%s: waiting for state index %d (%d later states pending)", sc, q.last+1, len(q.pending)))
			continue
		}
		flushed := m.sum(p.partitions, func(c *partCount) int64 { return c.flushed })
		switch {
		case flushed > p.expected:
			out = append(out, fmt.Sprintf("%s: state index %d counts %d records but %d arrived for it", sc, p.index, p.expected, flushed))
		default:
			out = append(out, fmt.Sprintf("%s: state index %d waits for records: %d of %d flushed", sc, p.index, flushed, p.expected))
		}
	}
	return out
}

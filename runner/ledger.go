package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
)

// ledger owns an attempt's books: the states staged or forwarded, their
// acknowledgements, the stats, and the commits of acknowledged state
// through the Checkpointer (G1-G4). The source side and the destination
// side both write to it; it has its own lock, and commits are serialized
// by a second one so that a newer snapshot is never overtaken by an older.
type ledger struct {
	cp        Checkpointer
	commitCtx context.Context // outlives a cancel: acknowledged state is committed anyway
	clock     clock.Clock
	mapper    *nameMapper
	catalog   *catalogIndex
	warn      func(format string, args ...any)

	commitMu sync.Mutex

	mu        sync.Mutex
	tracker   *stateTracker // stdio and bridged: Ferry's ids and pending states
	book      *socketBook   // socket: the source's ids and staged states
	acks      ackMatcher    // tracker or book
	stats     *statsBook
	lastState map[protocol.StreamDescriptor]stateMark
	// incRecords counts the forwarded records of incremental streams.
	incRecords   int64
	committedAny bool
	// partitioned: the source writes its streams in partitions over several
	// sockets (bridged mode), each state a low-water mark of its stream's
	// partitions, so a state repeats whenever a later partition finished
	// first: no breach to warn about.
	partitioned bool
	ignoredAcks int // acknowledgements older than the committed state
	// The acknowledgements not yet committed.
	batchN       int
	batchSince   time.Time
	batchChanged []protocol.StreamDescriptor
	commitFailed bool
}

// maxAckBatch bounds how many acknowledgements wait for one commit. Acks
// that arrive back to back are committed together to keep fsyncs few.
const maxAckBatch = 256

// maxAckDelay bounds how long an acknowledgement waits for its commit while
// more keep arriving.
const maxAckDelay = time.Second

// errCommitFailed is the cause an attempt is cancelled with when a commit
// failed.
var errCommitFailed = errors.New("commit failed")

func newLedger(ctx context.Context, cfg *Config, c clock.Clock, mapper *nameMapper, idx *catalogIndex, warn func(string, ...any)) *ledger {
	return &ledger{
		cp: cfg.Checkpointer, commitCtx: context.WithoutCancel(ctx), clock: c,
		mapper: mapper, catalog: idx, warn: warn,
		stats:     newStatsBook(idx),
		lastState: make(map[protocol.StreamDescriptor]stateMark),
	}
}

// useTracker makes Ferry number the states (stdio and bridged mode).
func (l *ledger) useTracker(input []*protocol.State, overrideCounts bool) {
	l.tracker = newStateTracker(l.catalog, input)
	l.tracker.overrideCounts = overrideCounts
	l.acks = l.tracker
}

// useBook makes the source's own ids the keys (socket mode), and its
// sourceStats the emitted counts: records never pass through Ferry.
func (l *ledger) useBook(input []*protocol.State) {
	l.book = newSocketBook(l.catalog, input)
	l.acks = l.book
	l.stats.fromSourceStats = true
}

// forwarded books records Ferry forwarded, counted locally by the pump.
func (l *ledger) forwarded(counts map[*streamPlan]*counter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for plan, c := range counts {
		if c.records > 0 {
			l.tracker.countRecords(plan.desc, c.records, c.bytes)
			l.stats.records(plan.desc, c.records, c.bytes)
			if plan.cfg.SyncMode == protocol.SyncIncremental {
				l.incRecords += c.records
			}
			*c = counter{}
		}
	}
}

// forwardState numbers a source state for the destination (stdio and
// bridged) and returns the line to forward; errSkipState means none.
func (l *ledger) forwardState(line []byte, m *protocol.Message) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out, err := l.tracker.sourceState(line, m, l.mapper, l.warn)
	if err == nil {
		l.stats.sourceState(m.State)
		if !l.partitioned {
			l.noteIdenticalState(m.State)
		}
	}
	return out, err
}

// stageState stages a state the source printed in socket mode; an
// acknowledgement that arrived first may make it committable at once.
func (l *ledger) stageState(st *protocol.State) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	res, err := l.book.sourceState(st, l.mapper, l.warn)
	if err == nil {
		l.stats.sourceState(st)
	}
	if res != nil {
		l.stats.ack(res, res.echo)
		l.batched(res.key)
	}
	return err
}

// stateMark is what noteIdenticalState remembers of the last state of a
// scope: its hash, how many records of the scope had been forwarded, and
// whether the scope was reported already.
type stateMark struct {
	hash     [32]byte
	records  int64
	reported bool
}

// noteIdenticalState warns about a breach real sources commit: the same
// state twice in a row with records in between (docs/protocol.md 2.3 and
// section 3). It means those records moved no cursor, so a sync resuming
// from that state reads them again. Only records that a state could
// resume count: those of the state's stream for a STREAM state, those of
// any stream for a GLOBAL or LEGACY state, which covers them all, and in
// both cases only of incremental streams, since a full refresh never
// resumes from a state (sourceInputState).
//
// So an identical repeat "at the end" is not reported: a source that
// restates its last checkpoint once it is done (legacy sources repeat
// their final combined state), or after a stream that had nothing new or
// was a full refresh, has no incremental record between the two. A source
// that breaches the rule tends to do it at every checkpoint, so each scope
// is reported once. Called with mu held.
func (l *ledger) noteIdenticalState(st *protocol.State) {
	kind, key := st.Kind(), globalKey
	records := l.incRecords
	if kind == protocol.StateStream {
		key = st.Stream.StreamDescriptor
		plan := l.catalog.find(key)
		if plan == nil || plan.cfg.SyncMode != protocol.SyncIncremental {
			return
		}
		records = l.stats.stream(key).RecordsEmitted
	}
	h, err := stateHash(st, l.mapper, false)
	if err != nil {
		return
	}
	prev, seen := l.lastState[key]
	mark := stateMark{hash: h, records: records, reported: prev.reported}
	if seen && prev.hash == h && records > prev.records && !prev.reported {
		mark.reported = true
		if kind == protocol.StateStream {
			l.warn("the source emitted the same state of %s twice in a row, with %d records of it in between", describeKey(kind, key), records-prev.records)
		} else {
			l.warn("the source emitted the same %s state twice in a row, with %d records of incremental streams in between", kind, records-prev.records)
		}
	}
	l.lastState[key] = mark
}

// acknowledge matches one destination STATE. An *ackError is a refused
// acknowledgement; nil means it was booked (or was older than the
// committed state and ignored).
func (l *ledger) acknowledge(st *protocol.State) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	res, err := l.acks.destState(st, l.mapper)
	if err != nil {
		return err
	}
	if res == nil {
		if l.book == nil {
			l.ignoredAcks++ // older than the committed state: never regress (G2)
		}
		return nil
	}
	l.stats.ack(res, res.echo)
	l.batched(res.key)
	return nil
}

// batched notes an acknowledgement that awaits its commit. Called with mu
// held.
func (l *ledger) batched(key protocol.StreamDescriptor) {
	if l.batchN == 0 {
		l.batchSince = l.clock.Now()
	}
	l.batchN++
	l.batchChanged = append(l.batchChanged, key)
}

// commitDue reports whether enough acknowledgements, or an old enough one,
// wait to commit now rather than after the next message.
func (l *ledger) commitDue() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.batchN >= maxAckBatch || (l.batchN > 0 && l.clock.Now().Sub(l.batchSince) > maxAckDelay)
}

// commit makes the acknowledged state durable. It runs on a context a
// cancel cannot cut, so acknowledgements that arrived are never lost (G3).
// After a failed commit (a full disk) it commits nothing more: the caller
// fails the attempt.
func (l *ledger) commit() error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	l.mu.Lock()
	if l.batchN == 0 || l.commitFailed {
		l.mu.Unlock()
		return nil
	}
	cp := Checkpoint{States: l.acks.committedStates(), Changed: l.batchChanged, Stats: l.stats.snapshot()}
	l.batchN, l.batchChanged = 0, nil
	l.mu.Unlock()
	if err := l.cp.Commit(l.commitCtx, cp); err != nil {
		l.mu.Lock()
		l.commitFailed = true
		l.mu.Unlock()
		return fmt.Errorf("could not commit acknowledged state: %w", err)
	}
	l.mu.Lock()
	l.committedAny = true
	l.mu.Unlock()
	return nil
}

// progress is a running snapshot, for OnProgress.
func (l *ledger) progress() (Stats, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.snapshot(), l.acks.pendingCount()
}

// streamStatus returns the last STREAM_STATUS the source sent for d.
func (l *ledger) streamStatus(d protocol.StreamDescriptor) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats.stream(d).Status
}

// sourceTrace books a source's STREAM_STATUS or ESTIMATE trace.
func (l *ledger) sourceTrace(t *protocol.Trace) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case t.StreamStatus != nil:
		if d := t.StreamStatus.StreamDescriptor; l.catalog.find(d) != nil {
			l.stats.stream(d).Status = t.StreamStatus.Status
		}
	case t.Estimate != nil:
		d := protocol.StreamDescriptor{Name: t.Estimate.Name, Namespace: t.Estimate.Namespace}
		if t.Estimate.Type != "STREAM" || l.catalog.find(d) == nil {
			return
		}
		st := l.stats.stream(d)
		if t.Estimate.RowEstimate != nil {
			st.RowEstimate = *t.Estimate.RowEstimate
		}
		if t.Estimate.ByteEstimate != nil {
			st.ByteEstimate = *t.Estimate.ByteEstimate
		}
	}
}

// destinationBytes books a socket-mode destination's running byte total
// for stream d: records never pass Ferry there, so it is the only byte
// count there is.
func (l *ledger) destinationBytes(d protocol.StreamDescriptor, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.catalog.find(d) == nil {
		return
	}
	l.stats.emittedBytes(l.stats.stream(d), n)
}

// closing is the ledger's account at the end of an attempt.
type closing struct {
	stats        Stats
	states       []*protocol.State
	pending      int // states never acknowledged
	waiting      int // socket mode: acknowledged, but behind one that was not
	unmatched    int // socket mode: acknowledgements of states never sent
	committedAny bool
	ignoredAcks  int
}

// close returns the final account, comparing the record counts per stream
// first (G12).
func (l *ledger) close(srcOK bool, mismatch func(string)) closing {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range l.stats.streams {
		if l.tracker != nil && st.SourceRecordCount > 0 && srcOK && l.tracker.pendingCount() == 0 && st.SourceRecordCount != st.RecordsCommitted && st.StatesEmitted > 0 {
			mismatch(fmt.Sprintf("stream %s: the source's states count %d records, Ferry forwarded %d under them", st.Stream, st.SourceRecordCount, st.RecordsCommitted))
		}
		if st.DestinationRecordCount > 0 && st.DestinationRecordCount != st.RecordsCommitted {
			mismatch(fmt.Sprintf("stream %s: the destination acknowledged %d records, Ferry forwarded %d under the same states", st.Stream, st.DestinationRecordCount, st.RecordsCommitted))
		}
	}
	c := closing{stats: l.stats.snapshot(), states: l.acks.committedStates(), pending: l.acks.pendingCount(),
		committedAny: l.committedAny, ignoredAcks: l.ignoredAcks}
	if l.book != nil {
		c.unmatched = l.book.unmatched()
		c.waiting = l.book.waiting()
		c.pending -= c.waiting
		c.ignoredAcks += l.book.ignored
	}
	return c
}

// commitFinal makes the last commit: the whole committed state and the
// final stats (G4).
func (l *ledger) commitFinal(c closing) error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	return l.cp.Commit(l.commitCtx, Checkpoint{States: c.states, Stats: c.stats, Final: true})
}

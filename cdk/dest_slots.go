package cdk

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ferrysync/ferry/protocol"
)

// slot is one configured stream in the write pipeline: its writer, the
// batch being filled, and the record counts not yet reported to the
// checkpoint manager.
type slot struct {
	desc protocol.StreamDescriptor // as input names it (the source's name in socket mode)
	dest protocol.StreamDescriptor // as the writer knows it (namespace.go)
	cs   *protocol.ConfiguredStream
	sw   StreamWriter

	batch []Record
	arena []byte

	ordinal int64  // stdio: the partition ordinal (docs/protocol.md 6.3)
	key     string // the current partition key

	recvN, recvB   int64       // received under key, not yet reported
	totalN, totalB int64       // received in all, for stats reports
	unflushed      []partTally // reported as received, not yet flushed
	dirty          bool        // written since the last Flush

	complete bool // a COMPLETE status arrived
	finished bool // Finish was called
}

type partTally struct {
	key      string
	n, bytes int64
}

// inferredKeys names stdio partitions. The separator cannot occur in a
// JSON-decoded name by accident, so "a"+"b-1" never meets "a-b"+"1".
type inferredKeys struct{}

func (inferredKeys) key(d protocol.StreamDescriptor, ordinal int64) string {
	return d.Namespace + "\x00" + d.Name + "\x00" + strconv.FormatInt(ordinal, 10)
}

// report hands the slot's new received counts to the manager.
func (ws *writeSession) report(s *slot) {
	if s.recvN == 0 {
		return
	}
	ws.cp.Received(s.desc, s.key, s.recvN, s.recvB)
	if n := len(s.unflushed); n > 0 && s.unflushed[n-1].key == s.key {
		s.unflushed[n-1].n += s.recvN
		s.unflushed[n-1].bytes += s.recvB
	} else {
		s.unflushed = append(s.unflushed, partTally{key: s.key, n: s.recvN, bytes: s.recvB})
	}
	s.recvN, s.recvB = 0, 0
}

// advance moves the slot to its next partition after a state closed the
// current one.
func (ws *writeSession) advance(s *slot) {
	ws.report(s)
	s.ordinal++
	s.key = ws.keys.key(s.desc, s.ordinal)
}

// record adds one record to its stream's batch. part is its partition_id
// in socket mode.
func (ws *writeSession) record(ctx context.Context, r *Record, part string) error {
	s := ws.last
	if s == nil || s.desc != r.Stream {
		s = ws.slots[r.Stream]
		if s == nil {
			return SystemError("record for stream %s, which is not in the configured catalog", r.Stream)
		}
		ws.last = s
	}
	if s.finished {
		return SystemError("record for stream %s after its COMPLETE status", s.desc)
	}
	if ws.socket && part != s.key {
		// Sockets interleave partitions: count what arrived under the
		// previous one before switching.
		if part == "" {
			return SystemError("record for stream %s without partition_id (socket mode needs one, docs/protocol.md 6.1)", s.desc)
		}
		ws.report(s)
		s.key = part
	}
	off, n := len(s.arena), r.size
	switch {
	case r.Line == nil && r.Proto == nil:
		// A record for a writer that does not read it (RecordsUnread).
		s.batch = append(s.batch, Record{Stream: s.dest})
	case r.Proto != nil:
		s.arena = append(s.arena, r.Proto...)
		s.batch = append(s.batch, Record{Stream: s.dest, Proto: s.arena[off:len(s.arena):len(s.arena)], schema: r.schema})
		n = len(r.Proto)
	default:
		s.arena = append(s.arena, r.Line...)
		s.batch = append(s.batch, Record{Stream: s.dest, Line: s.arena[off:len(s.arena):len(s.arena)], spans: r.spans})
		n = len(r.Line)
	}
	s.recvN++
	s.recvB += int64(n)
	s.totalN++
	s.totalB += int64(n)
	if len(s.batch) >= ws.opts.BatchRecords || len(s.arena) >= ws.opts.BatchBytes {
		return ws.writeBatch(ctx, s)
	}
	return nil
}

func (ws *writeSession) writeBatch(ctx context.Context, s *slot) error {
	if len(s.batch) == 0 {
		return nil
	}
	if err := s.sw.Write(ctx, s.batch); err != nil {
		return fmt.Errorf("write stream %s: %w", s.desc, err)
	}
	clear(s.batch)
	s.batch = s.batch[:0]
	s.arena = s.arena[:0]
	if cap(s.arena) > 4*ws.opts.BatchBytes {
		// A huge record grew it: do not keep that much memory per
		// stream for the rest of the sync.
		s.arena = nil
	}
	s.dirty = true
	return nil
}

// flushSlot makes everything the slot received durable and tells the
// manager so.
func (ws *writeSession) flushSlot(ctx context.Context, s *slot) error {
	if err := ws.writeBatch(ctx, s); err != nil {
		return err
	}
	if s.dirty {
		if err := s.sw.Flush(ctx); err != nil {
			return fmt.Errorf("flush stream %s: %w", s.desc, err)
		}
		s.dirty = false
	}
	ws.report(s)
	for _, t := range s.unflushed {
		ws.cp.Flushed(s.desc, t.key, t.n, t.bytes)
	}
	s.unflushed = s.unflushed[:0]
	return nil
}

// flushAndAck flushes every stream with unflushed records and
// acknowledges the states that became releasable.
func (ws *writeSession) flushAndAck(ctx context.Context) error {
	for _, s := range ws.order {
		if len(s.batch) > 0 || s.dirty || s.recvN > 0 || len(s.unflushed) > 0 {
			if err := ws.flushSlot(ctx, s); err != nil {
				return err
			}
		}
	}
	ws.lastFlush = ws.r.now()
	return ws.ack(ctx)
}

// ack writes the released states, through the writer's StateAcker if it
// has one.
func (ws *writeSession) ack(ctx context.Context) error {
	released := ws.cp.Release()
	if len(released) == 0 {
		return nil
	}
	emit := func(st *protocol.State) error {
		return ws.r.out.emitFlush(&protocol.Message{Type: protocol.TypeState, State: st})
	}
	if ws.acker != nil {
		return ws.acker.AckStates(ctx, released, emit)
	}
	for _, st := range released {
		if err := emit(st); err != nil {
			return err
		}
	}
	return nil
}

// state queues an incoming state under its inferred stdio key: a STREAM
// state closes its stream's current partition, a GLOBAL or LEGACY one
// closes every stream's (docs/protocol.md 6.3). The id Ferry attached travels
// on as an undeclared member and is echoed back.
func (ws *writeSession) state(ctx context.Context, st *protocol.State) error {
	if ws.socket {
		return ws.socketState(ctx, st)
	}
	var index int64
	var parts []string
	if st.Kind() == protocol.StateStream {
		s := ws.slots[st.Stream.StreamDescriptor]
		if s == nil {
			return SystemError("state for stream %s, which is not in the configured catalog", st.Stream.StreamDescriptor)
		}
		ws.report(s)
		index, parts = s.ordinal, []string{s.key}
		ws.advance(s)
	} else {
		for _, s := range ws.order {
			ws.report(s)
			parts = append(parts, s.key)
			index = max(index, s.ordinal)
		}
		for _, s := range ws.order {
			ws.advance(s)
		}
	}
	if st.ID != nil {
		if *st.ID <= ws.lastID {
			ws.r.log.Warn("state ids do not increase", "id", *st.ID, "previous", ws.lastID)
		}
		ws.lastID = *st.ID
	}
	if err := ws.cp.AddState(st, index, parts); err != nil {
		return SystemError("%v", err)
	}
	if ws.opts.FlushEveryState {
		return ws.flushAndAck(ctx)
	}
	return nil
}

// status honours stream statuses: COMPLETE flushes and finishes the
// stream as complete, which lets an overwrite replace the old data.
func (ws *writeSession) status(ctx context.Context, st *protocol.StreamStatus) error {
	s := ws.slots[st.StreamDescriptor]
	if s == nil {
		ws.r.log.Warn("status for a stream not in the catalog", "stream", st.StreamDescriptor.String(), "status", st.Status)
		return nil
	}
	switch st.Status {
	case protocol.StreamComplete:
		if ws.socket {
			// Other sockets may still hold this stream's records: the
			// stream is finished once every socket is at its end. Under
			// Ferry this is only provisional (dest_confirm.go).
			s.complete = true
			return nil
		}
		if s.finished {
			return nil
		}
		if err := ws.flushSlot(ctx, s); err != nil {
			return err
		}
		s.complete, s.finished = true, true
		if err := s.sw.Finish(ctx, true); err != nil {
			return fmt.Errorf("finish stream %s: %w", s.desc, err)
		}
		return ws.ack(ctx)
	case protocol.StreamIncomplete:
		ws.r.log.Info("stream reported incomplete", "stream", s.desc.String())
	}
	return nil
}

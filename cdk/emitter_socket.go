package cdk

import (
	"encoding/json"
	"errors"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// The Emitter's socket mode (docs/protocol.md 5.6). Records go only to the
// partition's socket and carry its partition_id. Every state gets its id
// (per stream for STREAM, one counter for GLOBAL and LEGACY, contiguous
// from 1), the partition_id of the records it covers and their count, and
// goes first to stdout, for Ferry's bookkeeper, then to the socket, for
// the destination. Stdout comes first so that Ferry always knows a state
// before the destination can acknowledge it.

// newSocketEmitter returns the Emitter of one partition of run, writing
// to sock.
func (rs *readSession) newSocketEmitter(run *streamRun, sock *sockWriter) *Emitter {
	e := &Emitter{s: rs, desc: run.desc, last: run.req.State, sock: sock, run: run, schema: run.schema}
	if e.schema != nil {
		// The text the JSON record would carry (json.Marshal makes
		// invalid UTF-8 valid), so both formats name the stream alike.
		e.hdr.Namespace = jsonRoundTrip(e.desc.Namespace)
		e.hdr.Stream = jsonRoundTrip(e.desc.Name)
	}
	e.rotate()
	return e
}

// jsonRoundTrip returns s as it reads back from its JSON string.
func jsonRoundTrip(s string) []byte {
	raw, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(raw, &out)
	return []byte(out)
}

// rotate starts a new partition: a fresh id and the record prefix that
// carries it. It runs after every state, so an id never spans two states.
func (e *Emitter) rotate() {
	e.pid = e.s.pids.next()
	e.prefix, e.recOff = appendSocketRecordPrefix(e.prefix[:0], e.desc, e.pid)
	if e.schema != nil {
		e.hdr.PartitionID = jsonRoundTrip(e.pid)
	}
}

// appendSocketRecordPrefix appends the bytes of a RECORD line up to its
// data value, with partition_id, and returns where the record object
// starts (the protobuf encoder converts the object alone).
func appendSocketRecordPrefix(b []byte, d protocol.StreamDescriptor, pid string) ([]byte, int) {
	b = append(b, `{"type":"RECORD","record":`...)
	off := len(b)
	b = append(b, '{')
	if d.Namespace != "" {
		ns, _ := json.Marshal(d.Namespace)
		b = append(append(append(b, `"namespace":`...), ns...), ',')
	}
	name, _ := json.Marshal(d.Name)
	p, _ := json.Marshal(pid)
	b = append(append(b, `"stream":`...), name...)
	b = append(append(b, `,"partition_id":`...), p...)
	return append(b, `,"data":`...), off
}

// socketRecord is Record in socket mode: the hot path.
func (e *Emitter) socketRecord(data []byte) error {
	if err := e.startRecord(); err != nil {
		return err
	}
	at := e.s.r.out.now().UnixMilli()
	if e.schema == nil {
		return e.sock.recordJSONL(e.prefix, data, at)
	}
	e.hdr.EmittedAt = at
	stats, err := e.sock.recordProto(e.schema, &e.hdr, data)
	if err != nil {
		var kitErr *Error
		if errors.As(err, &kitErr) {
			return err // the socket failed
		}
		return SystemError("stream %s: record %d cannot be sent as PROTOBUF: %v", e.desc, e.total, err)
	}
	e.warnConverted(stats)
	return nil
}

// warnConverted says, once per stream, that a record carried what
// Airbyte's PROTOBUF schema cannot hold. Nothing is dropped: it travels
// in Ferry's extension fields (docs/fidelity.md), which a Ferry
// destination reads back and an Airbyte one ignores.
func (e *Emitter) warnConverted(stats protobuf.ConvertStats) {
	if stats == (protobuf.ConvertStats{}) || !e.run.warned.CompareAndSwap(false, true) {
		return
	}
	e.s.r.log.Warn("records of this stream carry data that Airbyte's PROTOBUF schema cannot hold (values are positional by the catalog's json_schema); "+
		"it travels in Ferry's extension fields: a Ferry destination receives it as the source wrote it, an Airbyte destination does not; warning once",
		"stream", e.desc.String(), "fields_outside_schema", stats.ExtraFields, "first_outside_schema", stats.FirstExtra,
		"values_not_of_their_type", stats.Coerced, "record_members_without_a_field", stats.ExtraMembers)
}

// ProtoSchema returns the stream's RecordSchema when records travel as
// PROTOBUF (socket mode with the PROTOBUF format), and nil otherwise. A
// source that can produce its values directly may then emit them with
// RecordValues, which skips building and converting JSON; the values must
// be those the JSON record would convert to (docs/protocol.md 5.5).
func (e *Emitter) ProtoSchema() *protobuf.RecordSchema {
	if e.sock == nil {
		return nil
	}
	return e.schema
}

// RecordValues emits one record given as its values, of the schema
// ProtoSchema returned. It is Record for a source that builds protobuf
// values directly; v may be reused once it returns.
func (e *Emitter) RecordValues(v *protobuf.RecordValues) error {
	if e.sock == nil || e.schema == nil {
		return SystemError("stream %s: RecordValues needs PROTOBUF socket mode (see ProtoSchema)", e.desc)
	}
	if err := e.startRecord(); err != nil {
		return err
	}
	e.hdr.EmittedAt = e.s.r.out.now().UnixMilli()
	if err := e.sock.recordValues(e.schema, &e.hdr, v); err != nil {
		var kitErr *Error
		if errors.As(err, &kitErr) {
			return err // the socket failed
		}
		return SystemError("stream %s: record %d cannot be sent as PROTOBUF: %v", e.desc, e.total, err)
	}
	return nil
}

// startRecord counts a record, emitting the stream's RUNNING status first.
func (e *Emitter) startRecord() error {
	if !e.running {
		e.running = true
		if e.run.running.CompareAndSwap(false, true) {
			if err := e.s.socketStatus(e.sock, e.desc, protocol.StreamRunning, false); err != nil {
				return err
			}
		}
	}
	e.sinceState++
	e.total++
	return nil
}

// socketCheckpoint is Checkpoint in socket mode, for the blob in e.last.
func (e *Emitter) socketCheckpoint() error {
	return e.socketState(&protocol.State{Type: protocol.StateStream,
		Stream: &protocol.StreamState{StreamDescriptor: e.desc, StreamState: e.last}}, true)
}

// socketState numbers st, stamps it with this partition, and emits it to
// stdout and the socket. With compose, a GLOBAL source's state is built
// from every stream's latest blob instead. The session lock makes the
// composition, the id and the order on stdout one step.
func (e *Emitter) socketState(st *protocol.State, compose bool) error {
	rs := e.s
	rs.mu.Lock()
	if compose && rs.global {
		rs.setStreamState(e.desc, e.last)
		g := &protocol.GlobalState{SharedState: rs.shared}
		for _, d := range rs.order {
			g.StreamStates = append(g.StreamStates, protocol.StreamState{StreamDescriptor: d, StreamState: rs.streamState[d]})
		}
		st = &protocol.State{Type: protocol.StateGlobal, Global: g}
	}
	var id int64
	if st.Kind() == protocol.StateStream {
		if rs.streamIDs == nil {
			rs.streamIDs = make(map[protocol.StreamDescriptor]int64)
		}
		d := st.Stream.StreamDescriptor
		rs.streamIDs[d]++
		id = rs.streamIDs[d]
	} else {
		rs.globalID++
		id = rs.globalID
	}
	// The kit owns numbering and counting in socket mode: destinations
	// stall on a gap in the ids or a wrong count (docs/protocol.md 6.2).
	st.ID, st.PartitionID = &id, e.pid
	st.SourceStats = &protocol.StateStats{RecordCount: protocol.NewCount(e.sinceState)}
	line, err := json.Marshal(&protocol.Message{Type: protocol.TypeState, State: st})
	if err == nil {
		if err = rs.r.out.writeLine(line); err == nil {
			err = rs.r.out.flush()
		}
	}
	rs.mu.Unlock()
	if err != nil {
		return err
	}
	e.run.states.Add(1)
	e.checkpointed = true
	e.sinceState = 0
	e.rotate()
	return e.sock.message(line)
}

// socketEmit is Emit in socket mode.
func (e *Emitter) socketEmit(m *protocol.Message) error {
	switch {
	case m.Type == protocol.TypeState && m.State != nil:
		c := *m.State // the caller's message stays as it was
		return e.socketState(&c, false)
	case m.Type == protocol.TypeRecord && m.Record != nil:
		rec := *m.Record
		rec.PartitionID = e.pid
		line, err := json.Marshal(&protocol.Message{Type: protocol.TypeRecord, Record: &rec})
		if err != nil {
			return err
		}
		e.sinceState++
		e.total++
		if e.s.protoCat != nil {
			// A record of a stream outside the catalog has no schema;
			// it travels as JSON, and the destination rejects it.
			if msg, stats, err := e.s.protoCat.AppendMessageProto(nil, line); err == nil {
				e.warnConverted(stats)
				return e.sock.frame(msg)
			}
		}
		return e.sock.message(line)
	case m.Type == protocol.TypeTrace && m.Trace != nil && m.Trace.StreamStatus != nil:
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := e.s.r.out.writeLine(line); err != nil {
			return err
		}
		if err := e.s.r.out.flush(); err != nil {
			return err
		}
		return e.sock.message(line)
	}
	return e.s.r.out.emit(m)
}

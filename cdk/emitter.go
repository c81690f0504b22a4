package cdk

import (
	"encoding/json"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Emitter is a stream's (or a partition's) output during Read. It is not
// safe for concurrent use: each partition gets its own.
//
// In stdio mode it emits no state id and no partition_id: Ferry numbers
// the states it forwards (docs/protocol.md 4.2, 5.6). In socket mode records go
// to the partition's socket with a partition_id, and states get their id
// and partition_id from the kit (emitter_socket.go).
type Emitter struct {
	s      *readSession
	desc   protocol.StreamDescriptor
	prefix []byte

	running      bool
	checkpointed bool
	sinceState   int64           // records since this stream's last state
	total        int64           // records emitted
	last         json.RawMessage // the latest state blob

	// Socket mode only.
	sock   *sockWriter // nil in stdio mode
	run    *streamRun
	pid    string                 // the current partition id
	recOff int                    // where the record object starts in prefix
	schema *protobuf.RecordSchema // PROTOBUF only
	hdr    protobuf.RecordHeader  // PROTOBUF only: the record's header
}

// emptyState is the blob of a stream that never set one.
var emptyState = json.RawMessage(`{}`)

// Record emits one record. data must be a JSON object; the kit does not
// parse it (the hot path appends it as is), and copies it before Record
// returns, so the caller may reuse its buffer.
func (e *Emitter) Record(data []byte) error {
	if e.sock != nil {
		return e.socketRecord(data)
	}
	out := e.s.r.out
	if !e.running {
		e.running = true
		if err := out.emit(protocol.NewStreamStatus(e.desc, protocol.StreamRunning, out.millis())); err != nil {
			return err
		}
	}
	e.sinceState++
	e.total++
	e.s.sinceGlobal++
	return out.appendRecord(e.prefix, data, out.now().UnixMilli())
}

// Checkpoint emits a state covering every record emitted so far: a STREAM
// state with this stream's blob, or for a GLOBAL source a GLOBAL state with
// every stream's latest blob. sourceStats.recordCount is the number of
// records since the previous state of the same scope (in socket mode: of
// this partition). A nil state means an empty object. The state is
// flushed to stdout at once, and in socket mode also to the socket.
//
// Checkpoint may be called from several partitions at once; see Partition
// for how their blobs must be ordered.
func (e *Emitter) Checkpoint(state json.RawMessage) error {
	if state == nil {
		state = emptyState
	}
	e.last = append(json.RawMessage(nil), state...)
	e.checkpointed = true
	if e.sock != nil {
		return e.socketCheckpoint()
	}
	var msg *protocol.State
	if e.s.global {
		e.s.setStreamState(e.desc, e.last)
		g := &protocol.GlobalState{SharedState: e.s.shared}
		for _, d := range e.s.order {
			g.StreamStates = append(g.StreamStates, protocol.StreamState{StreamDescriptor: d, StreamState: e.s.streamState[d]})
		}
		msg = &protocol.State{Type: protocol.StateGlobal, Global: g,
			SourceStats: &protocol.StateStats{RecordCount: protocol.NewCount(e.s.sinceGlobal)}}
		e.s.sinceGlobal = 0
	} else {
		msg = &protocol.State{Type: protocol.StateStream,
			Stream:      &protocol.StreamState{StreamDescriptor: e.desc, StreamState: e.last},
			SourceStats: &protocol.StateStats{RecordCount: protocol.NewCount(e.sinceState)}}
	}
	e.sinceState = 0
	return e.s.r.out.emitFlush(&protocol.Message{Type: protocol.TypeState, State: msg})
}

// SetSharedState sets the shared_state that the next GLOBAL checkpoint
// carries (a CDC log position, for example). Only GLOBAL sources use it.
func (e *Emitter) SetSharedState(shared json.RawMessage) {
	e.s.mu.Lock()
	e.s.shared = append(json.RawMessage(nil), shared...)
	e.s.mu.Unlock()
}

// Emit writes any protocol message as is: an ESTIMATE trace, a CONTROL
// message, or a state the kit does not build itself (a LEGACY one). A
// STATE counts as the stream's checkpoint, so the kit adds no final state
// after it; it is flushed at once. In socket mode a STATE gets an id, a
// partition_id and sourceStats when it lacks them, and goes to the socket
// too, as do a stream status and a RECORD (which then counts as one of the
// partition's records).
func (e *Emitter) Emit(m *protocol.Message) error {
	if e.sock != nil {
		return e.socketEmit(m)
	}
	if m.Type == protocol.TypeState {
		e.checkpointed = true
		e.sinceState = 0
		return e.s.r.out.emitFlush(m)
	}
	return e.s.r.out.emit(m)
}

// WriteRaw writes bytes as one stdout line, unchecked. It exists for test
// connectors that must print non-protocol output.
func (e *Emitter) WriteRaw(line []byte) error { return e.s.r.out.writeLine(line) }

// Flush writes buffered output to stdout (and the socket) now.
func (e *Emitter) Flush() error {
	if e.sock != nil {
		if err := e.sock.flush(); err != nil {
			return err
		}
	}
	return e.s.r.out.flush()
}

// Records returns how many records this stream (or partition) has
// emitted.
func (e *Emitter) Records() int64 { return e.total }

// finish emits the final state when Read left records uncovered or never
// checkpointed: every stream ends with a state, even an empty one.
func (e *Emitter) finish() error {
	if e.checkpointed && e.sinceState == 0 {
		return nil
	}
	if e.sock != nil && e.sinceState == 0 && e.run.partitioned {
		return nil // nothing to cover; the stream's last partition ensures a state
	}
	return e.Checkpoint(e.last)
}

package cdk

import (
	"context"
	"encoding/json"

	"github.com/ferrysync/ferry/protocol"
)

// Connector is what Main runs: a Source, a Destination, or both (a test
// connector that plays either role). Every connector describes its config
// with a spec; the kit validates configs against it and masks the fields it
// marks airbyte_secret.
type Connector interface {
	Spec() *protocol.Spec
	// Check tests the config: reachable paths, valid credentials. A nil
	// error is SUCCEEDED. Any other error is a FAILED connection status
	// with exit 0, except an *Error whose FailureType is system_error or
	// transient_error, which is an ERROR trace and exit 1: the check itself
	// could not run.
	Check(ctx context.Context, req *Request) error
}

// Source is a connector that reads streams.
type Source interface {
	Connector
	// Streams returns the streams the config gives access to. discover
	// lists their descriptions; read runs the configured ones.
	Streams(ctx context.Context, req *Request) ([]Stream, error)
}

// Stream is one source stream.
type Stream interface {
	// Describe returns the stream as discover reports it: name, JSON
	// schema, sync modes, cursor and primary key.
	Describe() protocol.Stream
	// Read emits the stream's records through out, and checkpoints through
	// out.Checkpoint as it goes. It should checkpoint after its last
	// record; if it does not, the kit emits a final state with the last
	// blob it has. The kit calls Read for one stream at a time, in catalog
	// order, and out must not be used once Read returns.
	Read(ctx context.Context, req *ReadRequest, out *Emitter) error
}

// ReadRequest is one stream's share of a read.
type ReadRequest struct {
	*Request
	// Stream is the configured stream: sync mode, cursor, primary key.
	Stream *protocol.ConfiguredStream
	// Incremental reports whether the stream is read incrementally.
	Incremental bool
	// Cursor is the effective cursor field for an incremental read.
	Cursor []string
	// State is the stream's state from the --state file: its stream_state
	// (or its stream_states entry in a GLOBAL state). It is nil for a full
	// refresh or when there is none.
	State json.RawMessage
	// SharedState is the shared_state of an incoming GLOBAL state.
	SharedState json.RawMessage
	// LegacyState is the bare blob of an incoming LEGACY state.
	LegacyState json.RawMessage
}

// GlobalStateSource is implemented by a Source whose checkpoints may be
// one GLOBAL state covering every stream (a CDC source, for example)
// rather than a STREAM state per stream. The kit asks once per read.
type GlobalStateSource interface {
	UsesGlobalState(req *Request) bool
}

// Destination is a connector that writes records.
type Destination interface {
	Connector
	// Open prepares a sync. The kit then calls the Writer from a single
	// goroutine.
	Open(ctx context.Context, req *WriteRequest) (Writer, error)
}

// WriteRequest is what a destination gets for one sync.
type WriteRequest struct {
	*Request
	Catalog *protocol.ConfiguredCatalog
}

// Writer receives one sync's records.
//
// Lifecycle: OpenStream once per configured stream, before any record;
// then Write, Flush and Finish on the stream writers as input arrives; then
// Close once. On a failure the kit still calls Finish(false) on unfinished
// streams and then Close, so the writer can release what it holds.
type Writer interface {
	OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error)
	// Close ends the sync after every stream has finished.
	Close(ctx context.Context) error
}

// StreamWriter writes one stream.
type StreamWriter interface {
	// Write takes a batch of records. They need not be durable yet. The
	// batch and its bytes are reused once Write returns.
	Write(ctx context.Context, batch []Record) error
	// Flush makes every record written so far durable. The kit
	// acknowledges a state only after the records it covers were flushed.
	Flush(ctx context.Context) error
	// Finish ends the stream. complete is true when the stream's COMPLETE
	// status arrived: only then may an overwrite replace the old data. The
	// kit flushes before it finishes a complete stream.
	Finish(ctx context.Context, complete bool) error
}

// StateAcker is an optional Writer hook that decides how released states
// are acknowledged. Without it the kit writes each released state once, in
// order. Test connectors use it to misbehave: skip, reorder or forge acks.
// emit writes one state to stdout and flushes it.
type StateAcker interface {
	AckStates(ctx context.Context, released []*protocol.State, emit func(*protocol.State) error) error
}

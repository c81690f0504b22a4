package cdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// readSession is one read command: the configured streams, the incoming
// state, and, for a GLOBAL source, the state composed across streams.
type readSession struct {
	r      *runner
	req    *Request
	global bool

	// Incoming state, by stream.
	inStream map[protocol.StreamDescriptor]json.RawMessage
	inShared json.RawMessage
	inLegacy json.RawMessage

	// GLOBAL composition: the latest blob of every stream, in first-seen
	// order, the shared state, and records since the last GLOBAL state.
	order       []protocol.StreamDescriptor
	streamState map[protocol.StreamDescriptor]json.RawMessage
	shared      json.RawMessage
	sinceGlobal int64

	// Socket mode (source_socket.go). mu serializes what partitions
	// share: state ids, the GLOBAL composition above, and the order of
	// states on stdout.
	socket    bool
	mu        sync.Mutex
	globalID  int64                               // the last GLOBAL (or LEGACY) state id
	streamIDs map[protocol.StreamDescriptor]int64 // the last STREAM state id of each stream
	pids      *partitionIDs
	protoCat  *protobuf.Catalog // PROTOBUF only
}

func (r *runner) read(ctx context.Context, src Source) error {
	ch, err := channelFromEnv()
	if err != nil {
		return err
	}
	req, err := r.request()
	if err != nil {
		return err
	}
	cat, err := readCatalog(r.inv.catalog)
	if err != nil {
		return err
	}
	states, err := readState(r.inv.state)
	if err != nil {
		return err
	}
	streams, err := src.Streams(ctx, req)
	if err != nil {
		return err
	}
	byDesc := make(map[protocol.StreamDescriptor]Stream, len(streams))
	for _, s := range streams {
		d := s.Describe()
		byDesc[d.Descriptor()] = s
	}
	gs, _ := src.(GlobalStateSource)
	rs := &readSession{r: r, req: req, global: gs != nil && gs.UsesGlobalState(req),
		inStream: map[protocol.StreamDescriptor]json.RawMessage{}, streamState: map[protocol.StreamDescriptor]json.RawMessage{}}
	rs.loadState(states)
	// Check the whole catalog before reading anything, so a bad
	// configuration fails fast instead of after hours of reading.
	for i := range cat.Streams {
		cs := &cat.Streams[i]
		d := cs.Stream.Descriptor()
		s, ok := byDesc[d]
		if !ok {
			return &Error{FailureType: protocol.FailureConfig, Stream: &d,
				Message: fmt.Sprintf("stream %s is not offered by this source; refresh the catalog", d)}
		}
		info := s.Describe()
		if !info.Supports(cs.SyncMode) {
			return &Error{FailureType: protocol.FailureConfig, Stream: &d,
				Message: fmt.Sprintf("stream %s does not support sync mode %s", d, cs.SyncMode)}
		}
	}
	if ch.socket() {
		return rs.readSockets(ctx, ch, cat, byDesc)
	}
	for i := range cat.Streams {
		cs := &cat.Streams[i]
		if err := rs.readStream(ctx, byDesc[cs.Stream.Descriptor()], cs); err != nil {
			return err
		}
	}
	return nil
}

// loadState spreads the --state file over the streams.
func (rs *readSession) loadState(states []*protocol.State) {
	for _, st := range states {
		switch st.Kind() {
		case protocol.StateStream:
			rs.inStream[st.Stream.StreamDescriptor] = st.Stream.StreamState
		case protocol.StateGlobal:
			rs.inShared = st.Global.SharedState
			for _, ss := range st.Global.StreamStates {
				rs.inStream[ss.StreamDescriptor] = ss.StreamState
			}
		case protocol.StateLegacy:
			rs.inLegacy = st.Data
		}
	}
	if rs.global {
		// Streams not read in this sync keep their place in the GLOBAL
		// state, so a later sync that adds them back resumes them.
		for _, st := range states {
			if st.Kind() == protocol.StateGlobal {
				rs.shared = st.Global.SharedState
				for _, ss := range st.Global.StreamStates {
					rs.setStreamState(ss.StreamDescriptor, ss.StreamState)
				}
			}
		}
	}
}

func (rs *readSession) setStreamState(d protocol.StreamDescriptor, blob json.RawMessage) {
	if _, ok := rs.streamState[d]; !ok {
		rs.order = append(rs.order, d)
	}
	rs.streamState[d] = blob
}

// readRequest is what a stream's Read gets.
func (rs *readSession) readRequest(cs *protocol.ConfiguredStream) *ReadRequest {
	req := &ReadRequest{Request: rs.req, Stream: cs, SharedState: rs.inShared, LegacyState: rs.inLegacy}
	if cs.SyncMode == protocol.SyncIncremental {
		req.Incremental = true
		req.Cursor = cs.Cursor()
		req.State = rs.inStream[cs.Stream.Descriptor()]
	}
	return req
}

// readStream reads one configured stream between its STARTED and COMPLETE
// (or INCOMPLETE) statuses.
func (rs *readSession) readStream(ctx context.Context, s Stream, cs *protocol.ConfiguredStream) error {
	d := cs.Stream.Descriptor()
	req := rs.readRequest(cs)
	out := rs.r.out
	if err := out.emit(protocol.NewStreamStatus(d, protocol.StreamStarted, out.millis())); err != nil {
		return err
	}
	e := &Emitter{s: rs, desc: d, prefix: recordPrefix(d), last: req.State}
	err := s.Read(ctx, req, e)
	if err == nil {
		err = e.finish()
	}
	if err != nil {
		_ = out.emitFlush(protocol.NewStreamStatus(d, protocol.StreamIncomplete, out.millis()))
		return rs.streamError(ctx, d, err)
	}
	rs.r.log.Info("stream done", "stream", d.String(), "records", e.total)
	return out.emitFlush(protocol.NewStreamStatus(d, protocol.StreamComplete, out.millis()))
}

// streamError attributes a stream's failure to it. A failure caused by a
// stop (SIGTERM) is returned as is.
func (rs *readSession) streamError(ctx context.Context, d protocol.StreamDescriptor, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if e, ok := err.(*Error); ok {
		if e.Stream == nil {
			c := *e
			c.Stream = &d
			err = &c
		}
		return err
	}
	return &Error{FailureType: FailureType(err), Stream: &d,
		Message: fmt.Sprintf("stream %s failed: %v", d, err), Err: err}
}

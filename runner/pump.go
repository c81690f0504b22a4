package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// pumpBufferSize is the write buffer toward the destination. Writes go out
// when it fills, and whenever the source has nothing more buffered, so data
// never waits in Ferry while the source is idle.
const pumpBufferSize = 256 << 10

// fatalError fails the attempt and stops the pump.
type fatalError struct{ f Failure }

func (e *fatalError) Error() string { return e.f.ExternalMessage }

func fatalf(origin, format string, args ...any) error {
	return &fatalError{Failure{Origin: origin, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf(format, args...)}}
}

// pump forwards the source's stdout to the destination's stdin (stdio
// mode): RECORD and STATE lines go on, as their original bytes where
// possible; everything else is handled here and not forwarded
// (PROTOCOL.md 4.1).
type pump struct {
	s   *syncRun
	dst *timedWriter
	bw  *bufio.Writer
	// writeErr is the first write error toward the destination.
	writeErr error
	// prev is the last record's envelope, whose strings the scanner reuses.
	prev protocol.Envelope
	// unbooked counts forwarded records not yet booked; see book.
	unbooked  map[*streamPlan]*counter
	nUnbooked int
	// socket is set in socket mode: the source's stdout carries only
	// bookkeeping, and nothing is forwarded.
	socket bool
	// bridged marks the bookkeeping pump of bridged mode's source stdout:
	// its states are copies of the ones on the sockets and are ignored.
	bridged bool
	batch   ackBatch
}

// run reads src to EOF. It returns nil at a clean end of the source's
// output, or the error that made it stop early (already recorded).
func (p *pump) run(src io.Reader) error {
	s := p.s
	p.bw = bufio.NewWriterSize(p.dst, pumpBufferSize)
	r := protocol.NewReader(src, s.maxLine)
	defer p.book()
	for {
		if r.Buffered() == 0 {
			p.book()
			if p.bw.Buffered() > 0 {
				if err := p.flush(); err != nil {
					return err
				}
			}
		}
		line, err := r.ReadLine()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			var tl *protocol.LineTooLongError
			if errors.As(err, &tl) {
				return p.fatal(fatalf(OriginSource, "the source wrote a line of %d bytes (%s), over the %d-byte limit (max_line_bytes)",
					tl.Size, describePrefix(tl.Prefix), tl.Limit))
			}
			return p.fatal(fatalf(OriginReplication, "reading the source's output: %v", err))
		}
		if err := p.line(line); err != nil {
			return p.fatal(err)
		}
	}
}

// fatal records a pump error (unless it is a destination write failure,
// recorded already) and returns it.
func (p *pump) fatal(err error) error {
	var fe *fatalError
	if errors.As(err, &fe) {
		p.s.addFailure(fe.f)
	}
	return err
}

func (p *pump) line(line []byte) error {
	s := p.s
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	env, err := protocol.ScanEnvelopeAfter(line, &p.prev)
	if err != nil {
		s.nonProtocolLine(0, "source", line)
		return nil
	}
	if env.Type == protocol.TypeRecord {
		// Reuse the stream name strings for the next record: no allocation
		// per record on the hot path.
		p.prev = protocol.Envelope{Type: env.Type, Stream: env.Stream, Namespace: env.Namespace, PartitionID: env.PartitionID}
	}
	if p.socket {
		s.progress.Add(1)
	}
	switch env.Type {
	case protocol.TypeRecord:
		if p.socket {
			s.mu.Lock()
			s.warnings = appendCapped(s.warnings, "the source printed a RECORD on stdout in socket mode; it was dropped")
			s.droppedRecords++
			s.mu.Unlock()
			return nil
		}
		return p.record(&env)
	case protocol.TypeState:
		if p.bridged {
			return nil
		}
		if p.socket {
			return p.socketState(line)
		}
		return p.state(line)
	default:
		m, err := protocol.Decode(line)
		if err != nil {
			s.log.Printf(protocol.LevelWarn, "ferry", "dropped an invalid %s message from the source: %v", env.Type, err)
			return nil
		}
		s.otherMessage(RoleSource, m)
		return nil
	}
}

func (p *pump) record(env *protocol.Envelope) error {
	s := p.s
	if env.Stream == "" {
		s.log.Printf(protocol.LevelWarn, "ferry", "dropped a RECORD without a stream from the source")
		return nil
	}
	d := env.Descriptor()
	plan := s.catalog.find(d)
	if plan == nil {
		if s.cfg.DropUnknownStreams {
			s.mu.Lock()
			s.warnings = appendCapped(s.warnings, fmt.Sprintf("dropped records of stream %s, which is not in the configured catalog", d))
			s.mu.Unlock()
			return nil
		}
		return fatalf(OriginSource, "the source emitted a record for stream %s, which is not in the configured catalog", d)
	}
	out := env.Raw
	if plan.dedupKeys != nil || plan.rewrite {
		var err error
		if out, err = p.rewriteRecord(plan, env.Raw); err != nil {
			return err
		}
	}
	s.progress.Add(1)
	c := p.unbooked[plan]
	if c == nil {
		if p.unbooked == nil {
			p.unbooked = make(map[*streamPlan]*counter)
		}
		c = &counter{}
		p.unbooked[plan] = c
	}
	c.records++
	c.bytes += int64(len(out))
	if p.nUnbooked++; p.nUnbooked >= maxUnbooked {
		p.book()
	}
	return p.write(out)
}

// maxUnbooked bounds how many records the pump counts locally before it
// books them under the sync's mutex: taking the lock once per record would
// cost more than forwarding the record.
const maxUnbooked = 4096

// book moves the pump's local record counts into the shared tracker and
// stats. It runs before every state (whose count needs them), whenever the
// source is idle, and at the end.
func (p *pump) book() {
	if p.nUnbooked == 0 {
		return
	}
	s := p.s
	s.mu.Lock()
	for plan, c := range p.unbooked {
		if c.records > 0 {
			s.tracker.countRecords(plan.desc, c.records, c.bytes)
			s.stats.records(plan.desc, c.records, c.bytes)
			*c = counter{}
		}
	}
	s.mu.Unlock()
	p.nUnbooked = 0
}

// rewriteRecord applies the dedup primary-key check, field selection and
// name mapping to one record. Only streams that need it pay for decoding.
func (p *pump) rewriteRecord(plan *streamPlan, raw []byte) ([]byte, error) {
	m, err := protocol.Decode(raw)
	if err != nil || m.Record == nil {
		return nil, fatalf(OriginSource, "invalid RECORD of stream %s: %v", plan.desc, err)
	}
	rec := m.Record
	var data map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &data); err != nil {
		return nil, fatalf(OriginSource, "RECORD of stream %s: data is not a JSON object", plan.desc)
	}
	if plan.dedupKeys != nil && allKeysNull(data, plan.dedupKeys) {
		return nil, fatalf(OriginSource, "a record of deduplicated stream %s has a null primary key %v", plan.desc, plan.dedupKeys)
	}
	if !plan.rewrite {
		return raw, nil
	}
	if plan.selected != nil {
		for k := range data {
			if !plan.selected[k] {
				delete(data, k)
			}
		}
		if rec.Data, err = json.Marshal(data); err != nil {
			return nil, fatalf(OriginReplication, "re-encoding a record of %s: %v", plan.desc, err)
		}
	}
	rec.Stream, rec.Namespace = plan.dest.Name, plan.dest.Namespace
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fatalf(OriginReplication, "re-encoding a record of %s: %v", plan.desc, err)
	}
	return out, nil
}

// allKeysNull reports whether every primary-key path is missing or null.
func allKeysNull(data map[string]json.RawMessage, keys [][]string) bool {
	for _, path := range keys {
		if len(path) == 0 {
			continue
		}
		cur := data
		var v json.RawMessage
		for i, k := range path {
			v = cur[k]
			if v == nil || i == len(path)-1 {
				break
			}
			cur = nil
			if json.Unmarshal(v, &cur) != nil {
				v = nil
				break
			}
		}
		if v != nil && string(bytes.TrimSpace(v)) != "null" {
			return false
		}
	}
	return true
}

func (p *pump) state(line []byte) error {
	s := p.s
	m, err := protocol.Decode(line)
	if err != nil {
		return fatalf(OriginSource, "invalid STATE message from the source: %v", err)
	}
	s.progress.Add(1)
	p.book()
	s.mu.Lock()
	out, err := s.tracker.sourceState(line, m, s.mapper, func(format string, args ...any) {
		s.warnings = appendCapped(s.warnings, fmt.Sprintf(format, args...))
		s.log.Printf(protocol.LevelWarn, "ferry", format, args...)
	})
	if err == nil {
		s.stats.sourceState(m.State)
		s.noteIdenticalState(m.State)
	}
	s.mu.Unlock()
	if errors.Is(err, errSkipState) {
		return nil
	}
	if err != nil {
		return err
	}
	return p.write(out)
}

// socketState stages a state from the source's stdout in socket mode; an
// acknowledgement that arrived first may commit it at once.
func (p *pump) socketState(line []byte) error {
	s := p.s
	m, err := protocol.Decode(line)
	if err != nil {
		return fatalf(OriginSource, "invalid STATE message from the source: %v", err)
	}
	s.mu.Lock()
	res, err := s.book.sourceState(m.State, s.mapper, func(format string, args ...any) {
		s.warnings = appendCapped(s.warnings, fmt.Sprintf(format, args...))
		s.log.Printf(protocol.LevelWarn, "ferry", format, args...)
	})
	if err == nil {
		s.stats.sourceState(m.State)
	}
	var ae *ackError
	if errors.As(err, &ae) {
		s.protocolErrors = appendCapped(s.protocolErrors, ae.Error())
		err = nil
	}
	if res != nil {
		s.stats.ack(res, res.echo)
		p.batch.n++
		p.batch.changed = append(p.batch.changed, res.key)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.commitBatch(&p.batch, s.cancelRun)
	return nil
}

// noteIdenticalState warns about two identical consecutive states of one
// stream with records between them, a protocol breach real sources commit
// (PROTOCOL.md section 3). Called with mu held.
func (s *syncRun) noteIdenticalState(st *protocol.State) {
	key := globalKey
	if st.Kind() == protocol.StateStream {
		key = st.Stream.StreamDescriptor
	}
	h, err := stateHash(st, s.mapper, false)
	if err != nil {
		return
	}
	if prev, ok := s.lastStateKey[key]; ok && prev == h {
		s.warnings = appendCapped(s.warnings, fmt.Sprintf("the source emitted the same state twice in a row for %s", describeKey(key)))
	}
	s.lastStateKey[key] = h
}

func (p *pump) write(line []byte) error {
	if p.writeErr != nil {
		return p.writeErr
	}
	if _, err := p.bw.Write(line); err != nil {
		return p.writeFailed(err)
	}
	if err := p.bw.WriteByte('\n'); err != nil {
		return p.writeFailed(err)
	}
	return nil
}

func (p *pump) flush() error {
	if p.writeErr != nil {
		return p.writeErr
	}
	if err := p.bw.Flush(); err != nil {
		return p.writeFailed(err)
	}
	return nil
}

func (p *pump) writeFailed(err error) error {
	if p.writeErr == nil {
		p.writeErr = err
		p.s.destinationWriteFailed(err)
	}
	return p.writeErr
}

// writeComplete sends one COMPLETE stream status per configured stream,
// under its destination name, before end of input (PROTOCOL.md 4.4).
func (p *pump) writeComplete() error {
	now := protocol.Millis(time.Now().UnixMilli())
	for _, d := range p.s.catalog.order {
		// A stream the source itself reported INCOMPLETE is not finished,
		// even after a clean exit: finalising it could replace good data
		// with a partial copy.
		p.s.mu.Lock()
		incomplete := p.s.stats.stream(d).Status == protocol.StreamIncomplete
		p.s.mu.Unlock()
		if incomplete {
			p.s.warn("stream %s: the source reported it INCOMPLETE, so it gets no COMPLETE status", d)
			continue
		}
		b, err := json.Marshal(protocol.NewStreamStatus(p.s.catalog.find(d).dest, protocol.StreamComplete, now))
		if err != nil {
			return err
		}
		if err := p.write(b); err != nil {
			return err
		}
	}
	return nil
}

// close flushes and closes the destination's stdin: end of input.
func (p *pump) close() error {
	p.s.inputClosed.Store(true)
	err := p.flush()
	if cerr := p.dst.Close(); err == nil && cerr != nil && p.writeErr == nil {
		err = cerr
	}
	if p.writeErr != nil {
		return nil // already recorded
	}
	return err
}

// readDestination reads the destination's stdout to EOF: STATE lines are
// acknowledgements, the rest is logged or booked (PROTOCOL.md 4.1).
func (s *syncRun) readDestination(r io.Reader, cancelRun func(error)) {
	rd := protocol.NewReader(r, s.maxLine)
	batch := &ackBatch{}
	for {
		// Commit before blocking for more output: an acknowledgement must be
		// durable while the destination goes on working (G3).
		if rd.Buffered() == 0 {
			s.commitBatch(batch, cancelRun)
		}
		line, err := rd.ReadLine()
		if err != nil {
			var tl *protocol.LineTooLongError
			if errors.As(err, &tl) {
				s.log.Printf(protocol.LevelWarn, "ferry", "skipped a destination output line of %d bytes, over the %d-byte limit", tl.Size, tl.Limit)
				continue
			}
			if err != io.EOF {
				s.log.Printf(protocol.LevelWarn, "ferry", "reading the destination's output: %v", err)
				io.Copy(io.Discard, r) //nolint:errcheck // keep the destination unblocked
			}
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if s.book != nil {
			// In socket mode records never pass Ferry: the destination's
			// output (acks, stats records, logs) is the sign of progress.
			s.progress.Add(1)
		}
		env, err := protocol.ScanEnvelope(line)
		if err != nil {
			s.nonProtocolLine(1, "destination", line)
			continue
		}
		if env.Type == protocol.TypeRecord {
			s.destinationRecord(line)
			continue
		}
		m, err := protocol.Decode(line)
		if err != nil {
			s.log.Printf(protocol.LevelWarn, "ferry", "dropped an invalid %s message from the destination: %v", env.Type, err)
			continue
		}
		if m.Type == protocol.TypeState {
			s.acknowledge(m.State, batch)
			if batch.n >= maxAckBatch || time.Since(batch.since) > time.Second {
				s.commitBatch(batch, cancelRun)
			}
			continue
		}
		s.otherMessage(RoleDestination, m)
	}
	s.commitBatch(batch, cancelRun)
}

// maxAckBatch bounds how many acknowledgements wait for one commit. Acks
// that arrive back to back are committed together to keep fsyncs few.
const maxAckBatch = 256

type ackBatch struct {
	n       int
	since   time.Time
	changed []protocol.StreamDescriptor
	failed  bool
}

// acknowledge matches one destination STATE and books it.
func (s *syncRun) acknowledge(st *protocol.State, b *ackBatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.acks.destState(st, s.mapper)
	if err != nil {
		s.protocolErrors = appendCapped(s.protocolErrors, err.Error())
		s.log.Printf(protocol.LevelError, "ferry", "refused an acknowledgement: %v", err)
		return
	}
	if res == nil {
		if s.book == nil {
			s.ignoredAcks++ // older than the committed state: never regress (G2)
		}
		return
	}
	s.stats.ack(res, res.echo)
	if b.n == 0 {
		b.since = time.Now()
	}
	b.n++
	b.changed = append(b.changed, res.key)
}

// commitBatch commits the acknowledged state. Commits run on a context that
// a cancel cannot cut, so acks that arrived are never lost (G3). A commit
// failure (a full disk) fails the attempt at once.
func (s *syncRun) commitBatch(b *ackBatch, cancelRun func(error)) {
	if b.n == 0 || b.failed {
		return
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	cp := Checkpoint{States: s.acks.committedStates(), Changed: b.changed, Stats: s.stats.snapshot()}
	s.mu.Unlock()
	if err := s.cfg.Checkpointer.Commit(s.commitCtx, cp); err != nil {
		b.failed = true
		s.addFailure(Failure{Origin: OriginPersistence, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("could not commit acknowledged state: %v", err)})
		cancelRun(errCommitFailed)
		return
	}
	s.mu.Lock()
	s.committedAny = true
	s.mu.Unlock()
	b.n, b.changed = 0, nil
}

var errCommitFailed = errors.New("commit failed")

// destinationRecord handles a RECORD on the destination's stdout: never
// data; stats when flagged (PROTOCOL.md section 3).
func (s *syncRun) destinationRecord(line []byte) {
	if !bytes.Contains(line, []byte(`"isDummyStatsMessage"`)) {
		return
	}
	var m struct {
		Record struct {
			Stream    string `json:"stream"`
			Namespace string `json:"namespace"`
			IsDummy   bool   `json:"isDummyStatsMessage"`
			Records   int64  `json:"emittedRecordsCount"`
			Bytes     int64  `json:"emittedBytesCount"`
		} `json:"record"`
	}
	if json.Unmarshal(line, &m) != nil || !m.Record.IsDummy {
		return
	}
	r := m.Record
	s.log.Printf(protocol.LevelDebug, "ferry", "destination stats: stream %s: %d records, %d bytes received", r.Stream, r.Records, r.Bytes)
	if s.book == nil {
		return // stdio: Ferry counts what it forwards itself
	}
	// Socket mode: records never pass Ferry, so the destination's running
	// totals are the only byte counts there are.
	d := protocol.StreamDescriptor{Name: r.Stream, Namespace: r.Namespace}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.catalog.find(d) == nil {
		return
	}
	st := s.stats.stream(d)
	if r.Bytes > st.BytesEmitted {
		s.stats.total.BytesEmitted += r.Bytes - st.BytesEmitted
		st.BytesEmitted = r.Bytes
	}
}

// otherMessage handles LOG, TRACE, CONTROL and unexpected types from either
// connector.
func (s *syncRun) otherMessage(role Role, m *protocol.Message) {
	origin := string(role)
	switch m.Type {
	case protocol.TypeLog:
		s.log.Line(m.Log.Level, origin, m.Log.Message+stackSuffix(m.Log.StackTrace))
	case protocol.TypeTrace:
		s.trace(role, m.Trace)
	case protocol.TypeControl:
		s.control(role, m.Control)
	default:
		if !m.Type.Known() {
			s.log.Printf(protocol.LevelDebug, "ferry", "dropped a message of unknown type %q from the %s", m.Type, role)
			return
		}
		s.log.Printf(protocol.LevelWarn, "ferry", "dropped an unexpected %s message from the %s", m.Type, role)
	}
}

func stackSuffix(st string) string {
	if st == "" {
		return ""
	}
	return "\n" + st
}

func (s *syncRun) trace(role Role, t *protocol.Trace) {
	origin := string(role)
	switch t.Type {
	case protocol.TraceError:
		if t.Error == nil {
			return
		}
		f := failureFromTrace(origin, t, s.redact)
		s.log.Printf(protocol.LevelError, origin, "error trace (%s): %s", f.Type, f.ExternalMessage)
		s.mu.Lock()
		switch {
		case len(s.traceFailures)+len(s.lateTraces) >= maxTraceFailures:
			s.droppedTraces++ // G10: keep the first ones, count the rest
		case s.stopCause != nil:
			s.lateTraces = append(s.lateTraces, f)
		default:
			s.traceFailures = append(s.traceFailures, f)
		}
		s.mu.Unlock()
	case protocol.TraceEstimate:
		if t.Estimate == nil || role != RoleSource {
			return
		}
		s.mu.Lock()
		d := protocol.StreamDescriptor{Name: t.Estimate.Name, Namespace: t.Estimate.Namespace}
		if t.Estimate.Type == "STREAM" && s.catalog.find(d) != nil {
			st := s.stats.stream(d)
			if t.Estimate.RowEstimate != nil {
				st.RowEstimate = *t.Estimate.RowEstimate
			}
			if t.Estimate.ByteEstimate != nil {
				st.ByteEstimate = *t.Estimate.ByteEstimate
			}
		}
		s.mu.Unlock()
	case protocol.TraceStreamStatus:
		if t.StreamStatus == nil {
			return
		}
		if role == RoleSource {
			d := t.StreamStatus.StreamDescriptor
			s.mu.Lock()
			if s.catalog.find(d) != nil {
				s.stats.stream(d).Status = t.StreamStatus.Status
			}
			s.mu.Unlock()
		}
		s.log.Printf(protocol.LevelDebug, origin, "stream %s: %s", t.StreamStatus.StreamDescriptor, t.StreamStatus.Status)
	default:
		s.log.Printf(protocol.LevelDebug, origin, "%s trace", t.Type)
	}
}

// control hands a CONTROL config update to the caller at once, so a
// refreshed OAuth token survives a failed attempt (PROTOCOL.md 2.4). The
// config is never logged.
func (s *syncRun) control(role Role, c *protocol.Control) {
	if c.Type != protocol.ControlConnectorConfigType || c.ConnectorConfig == nil {
		s.log.Printf(protocol.LevelWarn, "ferry", "ignored a CONTROL message of type %q from the %s", c.Type, role)
		return
	}
	// A refreshed credential must be masked like the old one, before any
	// log line could carry it.
	spec := s.cfg.Source.Spec
	if role == RoleDestination {
		spec = s.cfg.Destination.Spec
	}
	if len(spec) > 0 {
		s.redact.Add(secret.Values(connectionSpecification(spec), c.ConnectorConfig.Config))
	}
	if s.cfg.OnControl == nil {
		s.log.Printf(protocol.LevelWarn, "ferry", "the %s asked to update its config; this run cannot persist it", role)
		return
	}
	if err := s.cfg.OnControl(role, c.ConnectorConfig.Config); err != nil {
		s.log.Printf(protocol.LevelError, "ferry", "could not persist the %s's config update: %v", role, err)
		return
	}
	s.log.Printf(protocol.LevelInfo, "ferry", "persisted a config update from the %s", role)
}

// connectionSpecification returns the schema of a spec given whole (a
// ConnectorSpecification) or as its connectionSpecification.
func connectionSpecification(spec json.RawMessage) json.RawMessage {
	if start, end, ok := protocol.MemberSpan(spec, "connectionSpecification"); ok {
		return spec[start:end]
	}
	return spec
}

// nonProtocolLine logs a stdout line that is not an Airbyte message, as
// Airbyte does, and counts record-like ones: dropping a record loses data
// (PROTOCOL.md 4.7).
func (s *syncRun) nonProtocolLine(side int, origin string, line []byte) {
	s.mu.Lock()
	s.nonProtocol[side]++
	n := s.nonProtocol[side]
	recordLike := side == 0 && protocol.LooksLikeRecord(line)
	if recordLike {
		s.droppedRecords++
	}
	s.mu.Unlock()
	if n <= maxNonProtocolLogs {
		// Redact before NonProtocolLog cuts the line, so a secret across
		// the cut cannot leak its first bytes.
		l := protocol.NonProtocolLog(origin, []byte(s.redact.Redact(string(line))))
		s.log.Line(l.Level, "ferry", "non-protocol output from the "+l.Message)
	} else if n == maxNonProtocolLogs+1 {
		s.log.Printf(protocol.LevelWarn, "ferry", "more non-protocol output from the %s; no longer logged", origin)
	}
}

// appendCapped appends to a findings list, keeping at most 1,000 entries.
func appendCapped(list []string, s string) []string {
	if len(list) >= 1000 {
		return list
	}
	return append(list, s)
}

// describePrefix names the stream of a truncated line when its prefix
// shows one.
func describePrefix(prefix []byte) string {
	i := bytes.Index(prefix, []byte(`"stream"`))
	if i < 0 {
		return "stream unknown"
	}
	rest := prefix[i+len(`"stream"`):]
	rest = bytes.TrimLeft(rest, " :")
	if len(rest) > 0 && rest[0] == '"' {
		if j := bytes.IndexByte(rest[1:], '"'); j >= 0 {
			return "stream " + string(rest[1:1+j])
		}
	}
	return "stream unknown"
}

// timedWriter records when a write starts, so the watchdog can tell a
// destination that stopped reading (G8).
type timedWriter struct {
	w     io.WriteCloser
	start *atomic.Int64
}

func newTimedWriter(w io.WriteCloser, start *atomic.Int64) *timedWriter {
	return &timedWriter{w: w, start: start}
}

func (t *timedWriter) Write(p []byte) (int, error) {
	t.start.Store(time.Now().UnixNano())
	n, err := t.w.Write(p)
	t.start.Store(0)
	return n, err
}

func (t *timedWriter) Close() error { return t.w.Close() }

package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/ferrysync/ferry/protocol"
)

// errDestinationExited is what writes to the destination's stdin fail with
// once the destination has exited.
var errDestinationExited = errors.New("the destination exited")

// pumpBufferSize is the write buffer toward the destination. Writes go out
// when it fills, and whenever the source has nothing more buffered, so data
// never waits in Ferry while the source is idle.
const pumpBufferSize = 256 << 10

// destinationInput is the destination's stdin as the pump writes it:
// buffered, watched for a destination that stops reading, and closed once
// at the end of input.
type destinationInput struct {
	a  *attempt
	w  io.WriteCloser
	bw *bufio.Writer
	// run is a run of whole lines, each with its '\n', in the source
	// reader's buffer, to be written as they are; while it holds any, bw
	// is empty. The reader writes it out before its buffer changes
	// (protocol.Reader.SetBeforeFill), so records go from the buffer they
	// were read into straight to the destination.
	run []byte
	// writeErr is the first write error toward the destination.
	writeErr error
	// closed is set once Ferry has closed the destination's stdin.
	closed atomic.Bool
}

func newDestinationInput(a *attempt, w io.WriteCloser) *destinationInput {
	ww := watchedWriter{w: w, live: a.live}
	return &destinationInput{a: a, w: ww, bw: bufio.NewWriterSize(ww, pumpBufferSize)}
}

// forward writes a line that lies in the source reader's buffer. A line
// followed there by exactly '\n' joins the run of the lines before it
// when it follows them; others are copied (write).
func (d *destinationInput) forward(line []byte) error {
	n := len(line)
	if cap(line) == n || line[:n+1][n] != '\n' {
		return d.write(line)
	}
	if d.writeErr != nil {
		return d.writeErr
	}
	if len(d.run) > 0 && cap(d.run) > len(d.run) && &d.run[:len(d.run)+1][len(d.run)] == &line[0] {
		d.run = d.run[:len(d.run)+n+1]
		return nil
	}
	if err := d.writeRun(); err != nil {
		return err
	}
	if d.bw.Buffered() > 0 {
		if err := d.bw.Flush(); err != nil {
			return d.failed(err)
		}
	}
	d.run = line[:n+1]
	return nil
}

// writeRun writes out the run of lines held in the reader's buffer.
func (d *destinationInput) writeRun() error {
	if len(d.run) == 0 {
		return d.writeErr
	}
	run := d.run
	d.run = nil
	if d.writeErr != nil {
		return d.writeErr
	}
	if _, err := d.w.Write(run); err != nil {
		return d.failed(err)
	}
	return nil
}

func (d *destinationInput) write(line []byte) error {
	if err := d.writeRun(); err != nil {
		return err
	}
	if _, err := d.bw.Write(line); err != nil {
		return d.failed(err)
	}
	if err := d.bw.WriteByte('\n'); err != nil {
		return d.failed(err)
	}
	return nil
}

func (d *destinationInput) flush() error {
	if err := d.writeRun(); err != nil {
		return err
	}
	if d.bw.Buffered() == 0 {
		return nil
	}
	if err := d.bw.Flush(); err != nil {
		return d.failed(err)
	}
	return nil
}

func (d *destinationInput) failed(err error) error {
	if d.writeErr == nil {
		d.writeErr = err
		d.a.destinationWriteFailed(err)
	}
	return d.writeErr
}

// writeComplete sends one COMPLETE stream status per configured stream,
// under its destination name, before end of input (docs/protocol.md 4.4).
func (d *destinationInput) writeComplete() error {
	if err := d.writeRun(); err != nil {
		return err
	}
	b, err := d.a.completeStatuses(true)
	if err != nil {
		return err
	}
	if _, err := d.bw.Write(b); err != nil {
		return d.failed(err)
	}
	return nil
}

// confirmComplete ends the destination's stdin in socket mode, where it
// carries no records: Ferry's COMPLETE statuses first when complete is
// set, under the source's names like everything the destination gets in
// socket mode, then end of input (docs/protocol.md 5.9). Ferry's kit finalises
// a stream only on these; Airbyte's socket destinations never read stdin
// and may have exited already, so a failed write is no failure of theirs:
// they answer for their own exit.
func (d *destinationInput) confirmComplete(complete bool) {
	d.closed.Store(true)
	var err error
	if complete {
		var b []byte
		if b, err = d.a.completeStatuses(false); err == nil {
			_, err = d.w.Write(b)
		}
	}
	if cerr := d.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.a.log.Printf(protocol.LevelInfo, "ferry", "the destination did not take its end of input on stdin (%v): it had exited, or does not read stdin in socket mode", err)
	}
}

// completeStatuses returns the COMPLETE stream statuses of the end of
// input, one line per configured stream, under the destination's names
// (destNames) or the source's.
func (a *attempt) completeStatuses(destNames bool) ([]byte, error) {
	now := protocol.Millis(a.clock.Now().UnixMilli())
	var out []byte
	for _, desc := range a.catalog.order {
		// A stream the source itself reported INCOMPLETE is not finished,
		// even after a clean exit: finalising it could replace good data
		// with a partial copy.
		if a.ledger.streamStatus(desc) == protocol.StreamIncomplete {
			a.findings.warn("stream %s: the source reported it INCOMPLETE, so it gets no COMPLETE status", desc)
			continue
		}
		name := desc
		if destNames {
			name = a.catalog.find(desc).dest
		}
		b, err := json.Marshal(protocol.NewStreamStatus(name, protocol.StreamComplete, now))
		if err != nil {
			return nil, err
		}
		out = append(append(out, b...), '\n')
	}
	return out, nil
}

// close flushes and closes the destination's stdin: end of input. A write
// failure was recorded when it happened.
func (d *destinationInput) close() error {
	d.closed.Store(true)
	err := d.flush()
	if cerr := d.w.Close(); err == nil && cerr != nil && d.writeErr == nil {
		err = cerr
	}
	if d.writeErr != nil {
		return nil
	}
	return err
}

// destinationWriteFailed records that the destination stopped taking
// input, once: the destination's exit and the write that then fails are
// one fault.
func (a *attempt) destinationWriteFailed(err error) {
	if a.inputFailed.Swap(true) {
		return
	}
	msg := fmt.Sprintf("the destination stopped reading its input: %v", err)
	if isBrokenPipe(err) {
		msg = "the destination exited before the end of its input"
	}
	a.findings.fail(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureSystem, ExternalMessage: msg})
}

// readDestination reads the destination's stdout to EOF: STATE lines are
// acknowledgements, the rest is logged or booked (docs/protocol.md 4.1). In
// socket mode (outputIsProgress) every line is also a sign of progress,
// since records never pass Ferry.
func (a *attempt) readDestination(r io.Reader, outputIsProgress bool) {
	rd := protocol.NewReader(r, a.maxLine)
	for {
		// Commit before blocking for more output: an acknowledgement must be
		// durable while the destination goes on working (G3).
		if rd.Buffered() == 0 {
			a.commit()
		}
		line, err := rd.ReadLine()
		if err != nil {
			var tl *protocol.LineTooLongError
			if errors.As(err, &tl) {
				a.log.Printf(protocol.LevelWarn, "ferry", "skipped a destination output line of %d bytes, over the %d-byte limit", tl.Size, tl.Limit)
				continue
			}
			if err != io.EOF {
				a.log.Printf(protocol.LevelWarn, "ferry", "reading the destination's output: %v", err)
				io.Copy(io.Discard, r) //nolint:errcheck // keep the destination unblocked
			}
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if outputIsProgress {
			a.live.active()
		}
		a.destinationLine(line)
	}
	a.commit()
}

func (a *attempt) destinationLine(line []byte) {
	env, err := protocol.ScanEnvelope(line)
	if err != nil {
		a.findings.nonProtocolLine(RoleDestination, line)
		return
	}
	act := route(destinationOut, env.Type)
	if act == actDestinationStats {
		a.destinationRecord(line)
		return
	}
	m, err := protocol.Decode(line)
	if err != nil {
		a.log.Printf(protocol.LevelWarn, "ferry", "dropped an invalid %s message from the destination: %v", env.Type, err)
		return
	}
	if act != actAcknowledge {
		a.handle(RoleDestination, act, m)
		return
	}
	if err := a.ledger.acknowledge(m.State); err != nil {
		a.findings.protocolError(err)
		return
	}
	if a.ledger.commitDue() {
		a.commit()
	}
}

// commit makes the acknowledged state durable; a failed commit (a full
// disk) fails the attempt at once. The failure is the attempt's stop
// cause, listed first: what the connectors say as they are stopped
// ("context canceled") is a consequence.
func (a *attempt) commit() {
	if err := a.ledger.commit(); err != nil {
		a.findings.stop(commitFailure(err))
		a.cancelRun(errCommitFailed)
	}
}

// commitFailure words a failed state commit; a full disk says so first.
func commitFailure(err error) Failure {
	msg := err.Error()
	if errors.Is(err, ErrStorageFull) {
		msg = StorageFullMessage + ": " + msg
	}
	return Failure{Origin: protocol.OriginPersistence, Type: protocol.FailureSystem, ExternalMessage: msg}
}

// destinationRecord handles a RECORD on the destination's stdout: never
// data; stats when flagged (docs/protocol.md section 3).
func (a *attempt) destinationRecord(line []byte) {
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
	a.log.Printf(protocol.LevelDebug, "ferry", "destination stats: stream %s: %d records, %d bytes received", r.Stream, r.Records, r.Bytes)
	if a.ledger.book == nil {
		return // stdio: Ferry counts what it forwards itself
	}
	a.ledger.destinationBytes(protocol.StreamDescriptor{Name: r.Stream, Namespace: r.Namespace}, r.Bytes)
}

package cdk

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// Output sizing. Records are appended to one buffer and written when it
// holds flushThreshold bytes, so a fast source makes one write syscall per
// ~256 KiB rather than one per record.
const (
	flushThreshold = 256 << 10
	// idleFlushEvery bounds how long a slow source's records wait in the
	// buffer: Ferry counts only delivered records as heartbeats.
	idleFlushEvery = time.Second
)

// output is the connector's stdout. It writes JSONL messages through one
// buffer. It is safe for concurrent use: an idle flusher goroutine and the
// connector share it.
type output struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	err    error // the first write error; every later call returns it
	redact *secret.Redactor
	now    func() time.Time

	stop chan struct{}
	done chan struct{}
}

func newOutput(w io.Writer, now func() time.Time) *output {
	if now == nil {
		now = time.Now
	}
	return &output{w: w, buf: make([]byte, 0, flushThreshold+64<<10), now: now}
}

// setRedactor installs the secrets to mask from now on.
func (o *output) setRedactor(r *secret.Redactor) {
	o.mu.Lock()
	o.redact = r
	o.mu.Unlock()
}

// millis is the current time as a message timestamp.
func (o *output) millis() protocol.Millis { return protocol.Millis(o.now().UnixMilli()) }

// startIdleFlush starts the goroutine that flushes a buffer nobody has
// flushed for a while. close stops it.
func (o *output) startIdleFlush(every time.Duration) {
	o.stop = make(chan struct{})
	o.done = make(chan struct{})
	go func() {
		defer close(o.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				o.mu.Lock()
				if len(o.buf) > 0 {
					o.flushLocked()
				}
				o.mu.Unlock()
			}
		}
	}()
}

// emit encodes m as one line, masking secrets in its human-readable text.
func (o *output) emit(m *protocol.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.emitLocked(m)
}

// emitFlush emits m and flushes, for messages that must not wait: states,
// statuses at the end of a command, acknowledgements.
func (o *output) emitFlush(m *protocol.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.emitLocked(m); err != nil {
		return err
	}
	return o.flushLocked()
}

func (o *output) emitLocked(m *protocol.Message) error {
	if o.err != nil {
		return o.err
	}
	b, err := json.Marshal(o.masked(m))
	if err != nil {
		return err
	}
	o.buf = append(o.buf, b...)
	o.buf = append(o.buf, '\n')
	return o.maybeFlushLocked()
}

// masked returns m, or a copy of it with secrets masked in the text that
// people read: log lines, error traces and connection status messages.
func (o *output) masked(m *protocol.Message) *protocol.Message {
	r := o.redact
	if r.Empty() {
		return m
	}
	c := *m
	switch {
	case m.Log != nil:
		l := *m.Log
		l.Message, l.StackTrace = r.Redact(l.Message), r.Redact(l.StackTrace)
		c.Log = &l
	case m.Trace != nil && m.Trace.Error != nil:
		t := *m.Trace
		e := *m.Trace.Error
		e.Message, e.InternalMessage, e.StackTrace = r.Redact(e.Message), r.Redact(e.InternalMessage), r.Redact(e.StackTrace)
		t.Error = &e
		c.Trace = &t
	case m.ConnectionStatus != nil:
		s := *m.ConnectionStatus
		s.Message = r.Redact(s.Message)
		c.ConnectionStatus = &s
	}
	return &c
}

// appendRecord writes one RECORD line. prefix is everything up to and
// including `"data":`; see recordPrefix. data must be a JSON object.
func (o *output) appendRecord(prefix, data []byte, emittedAt int64) error {
	o.mu.Lock()
	if o.err != nil {
		o.mu.Unlock()
		return o.err
	}
	b := append(o.buf, prefix...)
	b = append(b, data...)
	b = append(b, `,"emitted_at":`...)
	b = strconv.AppendInt(b, emittedAt, 10)
	b = append(b, "}}\n"...)
	o.buf = b
	err := o.maybeFlushLocked()
	o.mu.Unlock()
	return err
}

// writeLine writes raw bytes as one line, unchecked. Test connectors use it
// to print garbage.
func (o *output) writeLine(line []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.buf = append(o.buf, line...)
	o.buf = append(o.buf, '\n')
	return o.maybeFlushLocked()
}

func (o *output) maybeFlushLocked() error {
	if len(o.buf) >= flushThreshold {
		return o.flushLocked()
	}
	return nil
}

func (o *output) flushLocked() error {
	if o.err != nil || len(o.buf) == 0 {
		return o.err
	}
	_, err := o.w.Write(o.buf)
	o.buf = o.buf[:0]
	if cap(o.buf) > 4*flushThreshold {
		// A huge line grew the buffer; do not keep it for the whole run.
		o.buf = make([]byte, 0, flushThreshold+64<<10)
	}
	if err != nil {
		o.err = err
	}
	return err
}

// flush writes everything buffered.
func (o *output) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

// close stops the idle flusher and flushes.
func (o *output) close() error {
	if o.stop != nil {
		close(o.stop)
		<-o.done
		o.stop = nil
	}
	return o.flush()
}

// recordPrefix returns the bytes of a RECORD line up to its data value.
func recordPrefix(d protocol.StreamDescriptor) []byte {
	b := []byte(`{"type":"RECORD","record":{`)
	if d.Namespace != "" {
		ns, _ := json.Marshal(d.Namespace)
		b = append(b, `"namespace":`...)
		b = append(b, ns...)
		b = append(b, ',')
	}
	name, _ := json.Marshal(d.Name)
	b = append(b, `"stream":`...)
	b = append(b, name...)
	return append(b, `,"data":`...)
}

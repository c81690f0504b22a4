package runner

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferrysync/ferry/secret"
)

// MaxLogLineBytes caps one log line (stderr or LOG message) at 16 KiB
// (docs/protocol.md 1.4). Longer lines are cut and marked.
const MaxLogLineBytes = 16 << 10

// AttemptLog writes the human-readable log of one attempt: one line per
// event, "<RFC3339 time> <LEVEL> <origin>: <message>". Every message passes
// the redactor before it reaches the writer, so no path can skip masking.
// It is safe for concurrent use.
type AttemptLog struct {
	mu     sync.Mutex
	w      io.Writer
	redact *secret.Redactor
	now    func() time.Time
}

// NewAttemptLog returns a log writing to w. A nil w discards.
func NewAttemptLog(w io.Writer, redact *secret.Redactor) *AttemptLog {
	if w == nil {
		w = io.Discard
	}
	return &AttemptLog{w: w, redact: redact, now: time.Now}
}

// Printf logs one event. Origin is "ferry", "source" or "destination".
func (l *AttemptLog) Printf(level, origin, format string, args ...any) {
	l.Line(level, origin, fmt.Sprintf(format, args...))
}

// Line logs one message. Newlines inside it are kept (stack traces), each
// continuation line indented.
func (l *AttemptLog) Line(level, origin, msg string) {
	if l == nil {
		return
	}
	// Redact first: a secret straddling the cut would no longer match.
	msg = l.redact.Redact(msg)
	if len(msg) > MaxLogLineBytes {
		msg = msg[:MaxLogLineBytes] + fmt.Sprintf(" ... [%d bytes truncated]", len(msg)-MaxLogLineBytes)
	}
	msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n    ")
	var b strings.Builder
	b.Grow(len(msg) + 48)
	b.WriteString(l.now().UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteByte(' ')
	b.WriteString(level)
	b.WriteByte(' ')
	b.WriteString(origin)
	b.WriteString(": ")
	b.WriteString(msg)
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, b.String()) // a failing log sink must not fail the sync
}

// LineWriter returns an io.Writer that splits what it gets into lines and
// logs each at level under origin: the sink for a connector's stderr. Lines
// over MaxLogLineBytes are cut, and the rest of such a line is dropped, so a
// flood without newlines cannot grow memory. Call Close to log a final
// unterminated line.
func (l *AttemptLog) LineWriter(level, origin string) io.WriteCloser {
	return &lineWriter{log: l, level: level, origin: origin}
}

// lineOverlap is how far past MaxLogLineBytes a stderr line is kept before
// redaction; secrets longer than this are still masked whole only if they
// start before the cap.
const lineOverlap = 4 << 10

type lineWriter struct {
	log     *AttemptLog
	level   string
	origin  string
	buf     []byte
	dropped int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		// Keep lineOverlap bytes past the cap, so a secret that straddles
		// it is still whole when Line redacts, then cuts.
		if room := MaxLogLineBytes + lineOverlap - len(w.buf); room > 0 {
			take := min(room, len(chunk))
			w.buf = append(w.buf, chunk[:take]...)
			w.dropped += len(chunk) - take
		} else {
			w.dropped += len(chunk)
		}
		if i < 0 {
			break
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) emit() {
	line := strings.TrimRight(string(bytes.ToValidUTF8(w.buf, []byte("\uFFFD"))), "\r")
	if w.dropped > 0 {
		line += fmt.Sprintf(" ... [%d bytes truncated]", w.dropped)
	}
	w.log.Line(w.level, w.origin, line)
	w.buf = w.buf[:0]
	w.dropped = 0
}

func (w *lineWriter) Close() error {
	if len(w.buf) > 0 || w.dropped > 0 {
		w.emit()
	}
	return nil
}

// CappedWriter keeps the first and the last part of what is written to it:
// the head goes straight to the underlying writer, and once the head is
// full, later bytes go to a ring buffer whose content is written, after a
// marker line, by Close. Memory stays bounded by the tail size.
type CappedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	head    int64 // bytes of head still allowed
	tail    []byte
	tailMax int
	start   int // ring start when full
	full    bool
	omitted int64
	closed  bool
}

// lineStart drops the partial line the tail starts with, when a line
// starts after it, counting the bytes as omitted.
func (c *CappedWriter) lineStart(first, second []byte) ([]byte, []byte) {
	i := bytes.IndexByte(first, '\n')
	switch {
	case i >= 0 && i+1 < len(first):
		c.omitted += int64(i + 1)
		return first[i+1:], second
	case i >= 0 && len(second) > 0:
		c.omitted += int64(len(first))
		return second, nil
	case i < 0:
		if j := bytes.IndexByte(second, '\n'); j >= 0 && j+1 < len(second) {
			c.omitted += int64(len(first) + j + 1)
			return second[j+1:], nil
		}
	}
	return first, second
}

// cappedTailBytes bounds the tail a CappedWriter holds in memory: a
// stderr flood fills it, and a 64 MiB tail (plus its copy at Close) made
// a 1 GiB flood cost ferry sync about 300 MiB. A few MiB of the end of a
// log is more than anyone reads to see how an attempt ended.
const cappedTailBytes = 4 << 20

// NewCappedWriter keeps up to max bytes: the head, and a tail of half of
// max, at most cappedTailBytes.
func NewCappedWriter(w io.Writer, max int64) *CappedWriter {
	if max <= 0 {
		max = 1 << 62
	}
	tailMax := int(min(max/2, cappedTailBytes))
	return &CappedWriter{w: w, head: max - int64(tailMax), tailMax: tailMax}
}

// Write never fails because of the cap; underlying write errors of the
// head are returned.
func (c *CappedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.closed {
		return n, nil
	}
	if c.head > 0 {
		k := int(min(int64(len(p)), c.head))
		// Cut at a line boundary inside the last chunk when we can, so the
		// head ends with a whole line.
		if k < len(p) {
			if j := bytes.LastIndexByte(p[:k], '\n'); j >= 0 {
				k = j + 1
			}
		}
		if _, err := c.w.Write(p[:k]); err != nil {
			return k, err
		}
		c.head -= int64(k)
		if k < len(p) {
			c.head = 0
		}
		p = p[k:]
	}
	for len(p) > 0 && c.tailMax > 0 {
		if !c.full {
			if c.tail == nil {
				// Once: growing it by append would cost it several times.
				c.tail = make([]byte, 0, c.tailMax)
			}
			k := min(len(p), c.tailMax-len(c.tail))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			if len(c.tail) == c.tailMax {
				c.full = true
			}
			continue
		}
		k := min(len(p), c.tailMax-c.start)
		copy(c.tail[c.start:], p[:k])
		c.omitted += int64(k)
		c.start = (c.start + k) % c.tailMax
		p = p[k:]
	}
	return n, nil
}

// Close writes the tail, preceded by a marker when bytes were omitted. It
// does not close the underlying writer.
func (c *CappedWriter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	// The ring in order is tail[start:] then tail[:start]: written as two
	// parts, not copied into one.
	first, second := c.tail, []byte(nil)
	if c.full {
		first, second = c.tail[c.start:], c.tail[:c.start]
	}
	if c.omitted > 0 {
		first, second = c.lineStart(first, second)
		if _, err := fmt.Fprintf(c.w, "... [%d bytes of log omitted: the log keeps its head and tail] ...\n", c.omitted); err != nil {
			return err
		}
	}
	c.tail = nil
	if _, err := c.w.Write(first); err != nil {
		return err
	}
	_, err := c.w.Write(second)
	return err
}

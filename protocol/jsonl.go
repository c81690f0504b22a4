package protocol

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// DefaultMaxLineBytes is the default limit on one JSONL line: 64 MiB.
// Records of tens of MB exist in the wild (docs/protocol.md section 3).
const DefaultMaxLineBytes = 64 << 20

// readerBufferSize is the bufio buffer. Lines that fit are returned without
// a copy; longer lines are assembled in a growable buffer up to the limit.
const readerBufferSize = 256 << 10

// LineTooLongError reports a line over the reader's limit. The reader has
// skipped the rest of that line and can go on with the next one.
type LineTooLongError struct {
	Limit  int    // the configured maximum, in bytes
	Size   int64  // the line's full length, in bytes
	Line   int64  // 1-based line number
	Prefix []byte // the first bytes of the line, for diagnostics
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is %d bytes, over the %d-byte limit (max_line_bytes)", e.Line, e.Size, e.Limit)
}

// Reader reads newline-delimited lines with a bounded size. Memory stays
// O(limit) whatever the input: a longer line is skipped and reported as a
// *LineTooLongError. Unlike bufio.Scanner it has no hidden 64 KiB ceiling.
//
// A line longer than the bufio buffer is assembled in buf, reused from
// one long line to the next; the part that does not fit in buf waits in
// fixed-size chunks, copied once into a buffer of the line's exact size.
// So a long line costs about its size (twice, briefly, when it is longer
// than every line before it), never the repeated copies of growing a
// slice by append, which made a 50 MB record cost over 200 MiB.
//
// It keeps its own buffer (bufio.Reader's ReadSlice, with a hook) so that
// a forwarder can write lines straight from it (SetBeforeFill).
type Reader struct {
	rd     io.Reader
	b      []byte // the buffer; b[r:w] is unread
	r, w   int
	err    error // the read error to return once b[r:w] is used up
	max    int
	buf    []byte   // the last long line's buffer, reused by the next
	chunks [][]byte // the part of a long line past cap(buf)
	short  int      // short lines read since the last long one
	line   int64
	// beforeFill runs before the buffer's bytes move or are overwritten.
	beforeFill func()
}

// chunkSize is the size of the chunks a long line waits in: small enough
// that a line's last chunk wastes little, large enough to be few.
const chunkSize = 1 << 20

// keepLongBuffer is how many short lines a long line's buffer is kept
// for, waiting for the next long line, before it is released, so one huge
// record does not pin its memory for the rest of the stream.
const keepLongBuffer = 1024

// NewReader returns a Reader with the given line limit; max <= 0 means
// DefaultMaxLineBytes.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	size := readerBufferSize
	if max < size {
		size = max + 1
		if size < 16 {
			size = 16
		}
	}
	return &Reader{rd: r, b: make([]byte, size), max: max}
}

// Buffered returns the number of bytes that can be read without blocking on
// the underlying reader. A forwarder flushes its output when this is 0, so
// data never waits in a buffer while the input is idle.
func (r *Reader) Buffered() int { return r.w - r.r }

// SetBeforeFill sets a function that runs before the reader moves or
// overwrites bytes in its buffer, that is before it reads more. Until
// then, the lines it returned (those that fitted the buffer) stay valid,
// and consecutive ones lie next to each other, each followed by its
// line end: a forwarder may hold on to them and write a run of them at
// once, provided fn writes them out.
func (r *Reader) SetBeforeFill(fn func()) { r.beforeFill = fn }

// LineNumber returns the number of lines read so far.
func (r *Reader) LineNumber() int64 { return r.line }

// ReadLine returns the next line without its "\n" (or "\r\n"). The slice is
// valid only until the next call. At the end of input it returns io.EOF; a
// final line without a newline is returned first.
func (r *Reader) ReadLine() ([]byte, error) {
	frag, err := r.readSlice()
	if err == nil {
		r.line++
		r.shortLine()
		if len(frag)-1 > r.max {
			return nil, &LineTooLongError{Limit: r.max, Size: int64(len(frag) - 1), Line: r.line, Prefix: prefix(frag)}
		}
		return trimEOL(frag), nil
	}
	if err != bufio.ErrBufferFull {
		if len(frag) == 0 {
			return nil, err
		}
		r.line++
		if err == io.EOF {
			if len(frag) > r.max {
				return nil, &LineTooLongError{Limit: r.max, Size: int64(len(frag)), Line: r.line, Prefix: prefix(frag)}
			}
			return trimEOL(frag), nil
		}
		return nil, err
	}
	r.line++
	r.short = 0
	return r.readLong(frag)
}

// shortLine counts a line that fit in the bufio buffer, and releases the
// long-line buffer after keepLongBuffer of them. The line the caller still
// holds stays valid: it references the old array.
func (r *Reader) shortLine() {
	if r.buf == nil {
		return
	}
	if r.short++; r.short >= keepLongBuffer {
		r.buf, r.short = nil, 0
	}
}

// readLong assembles a line longer than the bufio buffer, frag being its
// first part, up to the limit.
func (r *Reader) readLong(frag []byte) ([]byte, error) {
	r.buf = r.buf[:0]
	n := 0
	for {
		n += len(frag)
		content := n
		var err error
		if frag[len(frag)-1] == '\n' {
			content-- // the newline
		}
		if content > r.max {
			first := r.firstBytes()
			r.release()
			return nil, r.skipLong(int64(n-len(frag)), frag, first)
		}
		r.keep(frag)
		if frag[len(frag)-1] == '\n' {
			return trimEOL(r.assemble(n)), nil
		}
		frag, err = r.readSlice()
		switch {
		case err == io.EOF && len(frag) == 0:
			return trimEOL(r.assemble(n)), nil
		case err == io.EOF:
			n += len(frag)
			if n > r.max {
				first := r.firstBytes()
				r.release()
				return nil, r.tooLong(int64(n), first)
			}
			r.keep(frag)
			return r.assemble(n), nil
		case err != nil && err != bufio.ErrBufferFull:
			r.release()
			return nil, err
		}
	}
}

// readSlice is bufio.Reader's ReadSlice('\n'): the bytes up to and
// including the next newline, in the buffer; bufio.ErrBufferFull with the
// whole buffer when no newline fits; the read error with what is left.
func (r *Reader) readSlice() ([]byte, error) {
	from := 0 // bytes of b[r:w] already searched
	for {
		if i := bytes.IndexByte(r.b[r.r+from:r.w], '\n'); i >= 0 {
			line := r.b[r.r : r.r+from+i+1]
			r.r += from + i + 1
			return line, nil
		}
		if r.err != nil {
			line := r.b[r.r:r.w]
			r.r = r.w
			err := r.err
			r.err = nil
			return line, err
		}
		if r.w-r.r >= len(r.b) {
			line := r.b
			r.r = r.w
			return line, bufio.ErrBufferFull
		}
		from = r.w - r.r
		r.fill()
	}
}

// fill reads once into the buffer, moving the unread bytes to its start
// first. Like bufio.Reader it retries empty reads a few times and then
// fails with io.ErrNoProgress.
func (r *Reader) fill() {
	if r.beforeFill != nil {
		r.beforeFill()
	}
	if r.r > 0 {
		copy(r.b, r.b[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	for range 100 {
		n, err := r.rd.Read(r.b[r.w:])
		if n < 0 {
			panic("protocol: reader returned a negative count from Read")
		}
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// keep stores a fragment of a long line: in buf while it has room, then
// in chunks.
func (r *Reader) keep(frag []byte) {
	if len(r.chunks) == 0 {
		k := min(len(frag), cap(r.buf)-len(r.buf))
		r.buf = append(r.buf, frag[:k]...) // never grows: k fits
		frag = frag[k:]
	}
	for len(frag) > 0 {
		last := len(r.chunks) - 1
		if last < 0 || len(r.chunks[last]) == cap(r.chunks[last]) {
			r.chunks = append(r.chunks, make([]byte, 0, chunkSize))
			last++
		}
		c := r.chunks[last]
		k := min(len(frag), cap(c)-len(c))
		r.chunks[last] = append(c, frag[:k]...)
		frag = frag[k:]
	}
}

// assemble returns the n bytes kept for the line as one slice: buf itself
// when they fit, else a new buffer of exactly n bytes, which buf becomes.
func (r *Reader) assemble(n int) []byte {
	if len(r.chunks) == 0 {
		return r.buf
	}
	line := make([]byte, 0, n)
	line = append(line, r.buf...)
	for i, c := range r.chunks {
		line = append(line, c...)
		r.chunks[i] = nil // let the chunk go as soon as it is copied
	}
	r.chunks = r.chunks[:0]
	r.buf = line
	return line
}

// firstBytes returns a copy of the first bytes of the long line being
// assembled, for a *LineTooLongError.
func (r *Reader) firstBytes() []byte {
	if len(r.buf) > 0 {
		return prefix(r.buf)
	}
	if len(r.chunks) > 0 {
		return prefix(r.chunks[0])
	}
	return nil
}

// release drops what an abandoned long line holds.
func (r *Reader) release() {
	r.buf, r.chunks = nil, nil
}

// skipLong discards the rest of an over-long line and reports its size.
// size counts the bytes before frag; first is the line's first bytes, or
// nil when frag starts the line.
func (r *Reader) skipLong(size int64, frag, first []byte) error {
	if first == nil {
		first = prefix(frag)
	}
	for {
		size += int64(len(frag))
		if len(frag) > 0 && frag[len(frag)-1] == '\n' {
			return r.tooLong(size-1, first)
		}
		var err error
		frag, err = r.readSlice()
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			return r.tooLong(size+int64(len(frag)), first)
		default:
			return err
		}
	}
}

func (r *Reader) tooLong(size int64, first []byte) error {
	return &LineTooLongError{Limit: r.max, Size: size, Line: r.line, Prefix: first}
}

func prefix(b []byte) []byte {
	const n = 1024
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

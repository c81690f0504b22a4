package runnertest

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

var filler = bytes.Repeat([]byte{'x'}, 64<<10)

// PatternChecker is an io.Writer that verifies testconn's "gen" output as it
// streams by, without keeping it: line i is i as 10 decimal digits, then 'x'
// up to LineLen-1 bytes, then '\n'. It catches lost, repeated, reordered and
// corrupted bytes in outputs far larger than a test should hold in memory.
type PatternChecker struct {
	LineLen int

	lines int64 // complete lines seen
	pos   int   // offset within the current line
	num   []byte
	err   error
}

// Write checks p. It never fails, so a bad stream is reported by Err rather
// than by breaking the runtime's copy loop.
func (c *PatternChecker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.err == nil {
		switch {
		case c.pos < 10:
			k := min(10-c.pos, len(p))
			c.num = append(c.num, p[:k]...)
			p, c.pos = p[k:], c.pos+k
			if c.pos == 10 {
				if got, want := string(c.num), fmt.Sprintf("%010d", c.lines); got != want {
					c.fail("line number %q, want %q", got, want)
				}
				c.num = c.num[:0]
			}
		case c.pos < c.LineLen-1:
			// bytes.Equal against a filler block, not a byte loop: it is
			// assembly, so hundreds of MB stay cheap under -race.
			k := min(c.LineLen-1-c.pos, len(p), len(filler))
			if !bytes.Equal(p[:k], filler[:k]) {
				i := bytes.IndexFunc(p[:k], func(r rune) bool { return r != 'x' })
				c.fail("byte %q at offset %d, want 'x'", p[max(i, 0)], c.pos+max(i, 0))
			}
			p, c.pos = p[k:], c.pos+k
		default:
			if p[0] != '\n' {
				c.fail("byte %q at the end of the line, want '\\n'", p[0])
			}
			p, c.pos, c.lines = p[1:], 0, c.lines+1
		}
	}
	return n, nil
}

func (c *PatternChecker) fail(format string, args ...any) {
	c.err = fmt.Errorf("line %d: "+format, append([]any{c.lines}, args...)...)
}

// Lines returns the number of complete lines seen.
func (c *PatternChecker) Lines() int64 { return c.lines }

// Check returns the first mismatch, or an error if the stream did not end
// after exactly want lines.
func (c *PatternChecker) Check(want int64) error {
	switch {
	case c.err != nil:
		return c.err
	case c.lines != want || c.pos != 0:
		return fmt.Errorf("got %d lines and %d bytes, want %d lines", c.lines, c.pos, want)
	}
	return nil
}

// GenArgs returns testconn's arguments to generate lines of length bytes.
func GenArgs(lines int64, length int) []string {
	return []string{"gen", strconv.FormatInt(lines, 10), strconv.Itoa(length)}
}

// PatternReader produces the same lines as testconn's "gen", for feeding a
// connector's stdin. Lines < 0 means forever.
type PatternReader struct {
	lines, next int64
	line        []byte
	off         int
}

// NewPatternReader returns a reader of lines pattern lines of length bytes.
func NewPatternReader(lines int64, length int) *PatternReader {
	line := bytes.Repeat([]byte{'x'}, length)
	line[length-1] = '\n'
	return &PatternReader{lines: lines, line: line, off: length}
}

// Read fills p with the next bytes of the pattern.
func (r *PatternReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.off == len(r.line) {
			if r.lines >= 0 && r.next == r.lines {
				break
			}
			copy(r.line, fmt.Sprintf("%010d", r.next))
			r.next++
			r.off = 0
		}
		k := copy(p[n:], r.line[r.off:])
		n += k
		r.off += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

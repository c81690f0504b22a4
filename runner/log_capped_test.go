package runner

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestCappedWriterFlood writes a 300 MiB log through a 256 MiB cap in
// small pieces, as a stderr flood arrives: the head and the tail survive
// with the marker between them, the tail starts at a line, and the writer
// holds no more than its small in-memory tail (a 64 MiB tail made a 1 GiB
// flood cost ferry sync about 300 MiB).
func TestCappedWriterFlood(t *testing.T) {
	var head, tail bytes.Buffer
	head.Grow(1 << 20)
	tail.Grow(cappedTailBytes + 4096)
	out := &splitSink{head: &head, tail: &tail, headMax: 1 << 20}
	c := NewCappedWriter(out, 256<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	line := []byte(strings.Repeat("x", 90) + "\n")
	chunk := bytes.Repeat(line, 700) // 63.7 KiB
	var written int64
	for written < 300<<20 {
		n, _ := c.Write(chunk)
		written += int64(n)
	}
	final := []byte("the last line\n")
	c.Write(final)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if a := after.TotalAlloc - before.TotalAlloc; a > cappedTailBytes+1<<20 {
		t.Errorf("the capped writer allocated %d MiB for a 300 MiB flood, want about its %d MiB tail", a>>20, cappedTailBytes>>20)
	}
	got := tail.String()
	i := strings.Index(got, " bytes of log omitted")
	if i < 0 || !strings.HasSuffix(got, "the last line\n") {
		t.Fatalf("no marker, or the tail lost the last line: %.200q ... %q", got, got[max(0, len(got)-100):])
	}
	rest := got[strings.IndexByte(got, '\n')+1:]
	if !strings.HasPrefix(rest, string(line)) {
		t.Errorf("the tail starts mid-line: %.100q", rest)
	}
	var omitted int64
	fmt.Sscanf(got[strings.LastIndex(got[:i], "[")+1:], "%d", &omitted)
	if kept := out.n - int64(len(got)) + int64(len(rest)); kept+omitted != written+int64(len(final)) {
		t.Errorf("kept %d + omitted %d bytes, want the %d written", kept, omitted, written+int64(len(final)))
	}
}

// splitSink keeps the first headMax bytes written to it and everything
// from the moment CappedWriter's marker arrives, counting the rest.
type splitSink struct {
	head, tail *bytes.Buffer
	headMax    int
	n          int64
	inTail     bool
}

func (s *splitSink) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if bytes.Contains(p, []byte("bytes of log omitted")) {
		s.inTail = true
	}
	switch {
	case s.inTail:
		s.tail.Write(p)
	case s.head.Len() < s.headMax:
		s.head.Write(p[:min(len(p), s.headMax-s.head.Len())])
	}
	return len(p), nil
}

package runner

import (
	"io"
	"strings"
	"sync"
)

// tailWriter passes a connector's stderr on and keeps its last lines, to
// explain an exit that came without an ERROR trace.
type tailWriter struct {
	mu   sync.Mutex
	next io.WriteCloser
	buf  []byte
}

const stderrTailBytes = 2048

func newTailWriter(next io.WriteCloser) *tailWriter { return &tailWriter{next: next} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p[max(0, len(p)-stderrTailBytes):]...)
	if len(t.buf) > stderrTailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-stderrTailBytes:]...)
	}
	t.mu.Unlock()
	return t.next.Write(p)
}

func (t *tailWriter) Close() error { return t.next.Close() }

// Tail returns the last few stderr lines.
func (t *tailWriter) Tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimRight(string(t.buf), "\n")
	if len(t.buf) >= stderrTailBytes {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

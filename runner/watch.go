package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

var (
	errNoProgress       = errors.New("no progress from the source")
	errDestinationStuck = errors.New("the destination stopped reading")
)

// watch runs the liveness checks of G8 and reports progress until the
// returned stop function is called. A check that trips records its failure
// and cancels the attempt, which stops both containers.
func (s *syncRun) watch(ctx context.Context, cancelRun func(error)) (stop func()) {
	tick := s.cfg.ProgressInterval
	if tick <= 0 {
		tick = time.Second
	}
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		start := time.Now()
		lastCount := s.progress.Load()
		lastMove := start
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				// Time does not count against the source while Ferry is not
				// waiting on it: once it has exited, or while the pump is
				// blocked writing to a destination that does not read (the
				// destination timeout covers that).
				if n := s.progress.Load(); n != lastCount || s.writeStart.Load() != 0 || s.sourceExited() {
					lastCount, lastMove = n, now
				}
				if d := s.timeouts.NoProgress; d > 0 && now.Sub(lastMove) > d {
					s.stopFor(Failure{Origin: protocol.OriginSource, Type: protocol.FailureHeartbeatTimeout,
						ExternalMessage: fmt.Sprintf("the source emitted no record or state for %s (no-progress timeout)", d)})
					cancelRun(errNoProgress)
					return
				}
				if w := s.writeStart.Load(); w != 0 {
					if d := s.timeouts.DestinationWrite; d > 0 && now.Sub(time.Unix(0, w)) > d {
						s.stopFor(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureDestinationTimeout,
							ExternalMessage: fmt.Sprintf("the destination did not read its input for %s (destination timeout)", d)})
						cancelRun(errDestinationStuck)
						return
					}
				}
				if s.cfg.OnProgress != nil {
					s.mu.Lock()
					p := Progress{Elapsed: now.Sub(start), Stats: s.stats.snapshot(), Pending: s.acks.pendingCount()}
					s.mu.Unlock()
					s.cfg.OnProgress(p)
				}
			}
		}
	}()
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// sourceExited reports whether the source's Run has returned.
func (s *syncRun) sourceExited() bool {
	select {
	case <-s.srcExited:
		return true
	default:
		return false
	}
}

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

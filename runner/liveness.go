package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
)

var (
	errNoProgress       = errors.New("no progress from the source")
	errDestinationStuck = errors.New("the destination stopped reading")
)

// liveness measures the two waits of G8 on the attempt's clock:
//   - how long Ferry has waited on the source without a RECORD or STATE
//     (the no-progress timeout). Only time spent waiting counts: not while
//     Ferry is blocked writing to a destination that does not read, and not
//     once the source has exited;
//   - how long the write to the destination in flight has blocked (the
//     destination timeout).
//
// The data path reports its reads and writes; the watchdog goroutine
// checks the limits on a timer from the same clock, so tests that move a
// fake clock trip exactly the limit whose wait they arranged.
type liveness struct {
	clock clock.Clock
	// progress counts source RECORD and STATE lines (in socket mode, every
	// line either connector writes on stdout).
	progress atomic.Int64

	mu        sync.Mutex
	idle      time.Duration // waited since the last progress, reads ended
	waitSince time.Time     // start of the read in flight; zero when none
	seen      int64         // progress at the last read boundary
	writeFrom time.Time     // start of the write in flight; zero when none
	srcExited bool
	// sockets: socket mode, where records go from connector to connector
	// and no output from either cannot be pinned on one of them.
	sockets bool
}

func newLiveness(c clock.Clock) *liveness { return &liveness{clock: c} }

// readStarted notes that Ferry blocks on the source's output. Progress
// since the previous read resets the idle time.
func (l *liveness) readStarted() {
	now := l.clock.Now()
	n := l.progress.Load()
	l.mu.Lock()
	if n != l.seen {
		l.seen, l.idle = n, 0
	}
	l.waitSince = now
	l.mu.Unlock()
}

// readEnded notes that the read returned.
func (l *liveness) readEnded() {
	now := l.clock.Now()
	l.mu.Lock()
	if !l.waitSince.IsZero() {
		l.idle += now.Sub(l.waitSince)
		l.waitSince = time.Time{}
	}
	l.mu.Unlock()
}

// waitAlways makes every moment count as waiting on the source, reset only
// by progress: in socket mode records never pass Ferry, so Ferry cannot
// tell a busy source from a silent one except by the connectors' output.
func (l *liveness) waitAlways() {
	l.mu.Lock()
	l.waitSince = l.clock.Now()
	l.sockets = true
	l.mu.Unlock()
}

// active notes progress in socket mode, where it comes as stdout lines.
func (l *liveness) active() {
	l.progress.Add(1)
	now := l.clock.Now()
	l.mu.Lock()
	l.seen, l.idle = l.progress.Load(), 0
	if !l.waitSince.IsZero() {
		l.waitSince = now
	}
	l.mu.Unlock()
}

// sourceExited stops the no-progress clock for good.
func (l *liveness) sourceExited() {
	l.mu.Lock()
	l.srcExited = true
	l.mu.Unlock()
}

func (l *liveness) writeStarted() {
	now := l.clock.Now()
	l.mu.Lock()
	l.writeFrom = now
	l.mu.Unlock()
}

func (l *liveness) writeEnded() {
	l.mu.Lock()
	l.writeFrom = time.Time{}
	l.mu.Unlock()
}

// check returns the limit a wait has passed at now, if any.
func (l *liveness) check(now time.Time, t Timeouts) (*Failure, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := t.NoProgress; d > 0 && !l.srcExited {
		idle := l.idle
		if !l.waitSince.IsZero() {
			if l.progress.Load() != l.seen {
				idle = 0 // progress since the read began (socket mode)
			}
			idle += now.Sub(l.waitSince)
		}
		if idle > d {
			return noProgressFailure(d, l.sockets), errNoProgress
		}
	}
	if d := t.DestinationWrite; d > 0 && !l.writeFrom.IsZero() && now.Sub(l.writeFrom) > d {
		return &Failure{Origin: protocol.OriginDestination, Type: protocol.FailureDestinationTimeout,
			ExternalMessage: fmt.Sprintf("the destination did not read its input for %s (destination timeout)", d)}, errDestinationStuck
	}
	return nil, nil
}

// noProgressFailure words the no-progress timeout. In socket mode Ferry
// sees neither the records nor the sockets' queues: a source with nothing
// to send and a source blocked on a destination that stopped reading its
// sockets look alike (no state, no log from either), so the failure names
// both candidates instead of blaming the source.
func noProgressFailure(d time.Duration, sockets bool) *Failure {
	if sockets {
		return &Failure{Origin: protocol.OriginReplication, Type: protocol.FailureHeartbeatTimeout,
			ExternalMessage: fmt.Sprintf("neither connector reported progress for %s (no-progress timeout): in socket mode records go "+
				"straight from the source to the destination, so either the source stopped sending or the destination stopped reading its sockets", d)}
	}
	return &Failure{Origin: protocol.OriginSource, Type: protocol.FailureHeartbeatTimeout,
		ExternalMessage: fmt.Sprintf("the source emitted no record or state for %s (no-progress timeout)", d)}
}

// watch checks the limits every tick and reports progress until stop is
// called. A limit that trips records its failure and cancels the attempt,
// which stops both connectors.
func (s *syncRun) watch(ctx context.Context) (stop func()) {
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
		start := s.clock.Now()
		for {
			t := s.clock.NewTimer(tick)
			var now time.Time
			select {
			case <-done:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case now = <-t.C():
			}
			if f, cause := s.live.check(now, s.timeouts); f != nil {
				s.findings.stop(*f)
				s.cancelRun(cause)
				return
			}
			if s.cfg.OnProgress != nil {
				stats, pending := s.ledger.progress()
				s.cfg.OnProgress(Progress{Elapsed: now.Sub(start), Stats: stats, Pending: pending})
			}
		}
	}()
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// watchedReader reports each read of the source's output to liveness.
type watchedReader struct {
	r    io.Reader
	live *liveness
}

func (w watchedReader) Read(p []byte) (int, error) {
	w.live.readStarted()
	n, err := w.r.Read(p)
	w.live.readEnded()
	return n, err
}

// watchedWriter reports each write to the destination's input to liveness,
// so the watchdog can tell a destination that stopped reading (G8).
type watchedWriter struct {
	w    io.WriteCloser
	live *liveness
}

func (w watchedWriter) Write(p []byte) (int, error) {
	w.live.writeStarted()
	n, err := w.w.Write(p)
	w.live.writeEnded()
	return n, err
}

func (w watchedWriter) Close() error { return w.w.Close() }

// writeInFlight reports whether a write to the destination has begun and
// not returned.
func (l *liveness) writeInFlight() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.writeFrom.IsZero()
}

// waiting reports whether Ferry is blocked on the source's output.
func (l *liveness) waiting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.waitSince.IsZero()
}

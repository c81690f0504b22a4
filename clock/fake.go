package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock that moves only when Advance is called. Tests use it to
// trip timeouts deterministically: they wait until the code under test has
// armed its timers (WaitForTimers), then move time past them.
type Fake struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a fake clock set at start.
func NewFake(start time.Time) *Fake {
	f := &Fake{now: start}
	f.cond = sync.NewCond(&f.mu)
	return f
}

var _ Clock = (*Fake)(nil)

type fakeTimer struct {
	f    *Fake
	d    time.Duration
	when time.Time
	ch   chan time.Time
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer arms a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, d: d, when: f.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	f.cond.Broadcast()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, o := range f.timers {
		if o == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			f.cond.Broadcast()
			return true
		}
	}
	return false
}

// Advance moves the fake time forward by d and fires every timer that is
// due, in the order they are due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	var due []*fakeTimer
	for _, t := range f.timers {
		if !t.when.After(f.now) {
			due = append(due, t)
		} else {
			kept = append(kept, t)
		}
	}
	clear(f.timers[len(kept):])
	f.timers = kept
	for _, t := range due {
		t.ch <- t.when // buffered, and each timer fires once
	}
	f.cond.Broadcast()
}

// Timers returns how many timers are armed.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitForTimers blocks until at least n timers are armed, or ctx ends.
func (f *Fake) WaitForTimers(ctx context.Context, n int) error {
	return f.waitUntil(ctx, func() bool { return len(f.timers) >= n })
}

// WaitForTimer blocks until a timer of duration d is armed, or ctx ends:
// a test that moves the clock by a loop's period waits for the loop to
// have armed its next timer, so every period is seen by the loop.
func (f *Fake) WaitForTimer(ctx context.Context, d time.Duration) error {
	return f.waitUntil(ctx, func() bool {
		for _, t := range f.timers {
			if t.d == d {
				return true
			}
		}
		return false
	})
}

// waitUntil waits for cond, evaluated with mu held.
func (f *Fake) waitUntil(ctx context.Context, cond func() bool) error {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for !cond() {
		if err := ctx.Err(); err != nil {
			return err
		}
		f.cond.Wait()
	}
	return nil
}

package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeFiresTimersWhenDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	a, b := f.NewTimer(time.Second), f.NewTimer(time.Minute)
	if err := f.WaitForTimers(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	f.Advance(30 * time.Second)
	select {
	case at := <-a.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Fatalf("fired at %v, want when it was due", at)
		}
	default:
		t.Fatal("the 1 s timer did not fire after 30 s")
	}
	select {
	case <-b.C():
		t.Fatal("the 1 min timer fired after 30 s")
	default:
	}
	if !b.Stop() || f.Timers() != 0 {
		t.Fatalf("Stop of an armed timer: want true and no timer left (%d)", f.Timers())
	}
	f.Advance(time.Hour)
	select {
	case <-b.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if got := f.Now(); !got.Equal(t0.Add(time.Hour + 30*time.Second)) {
		t.Fatalf("Now = %v", got)
	}
	if z := f.NewTimer(0); len(z.C()) != 1 {
		t.Fatal("a timer of 0 must fire at once")
	}
}

func TestWaitForTimersEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewFake(time.Now()).WaitForTimers(ctx, 1); err == nil {
		t.Fatal("want the context's error")
	}
}

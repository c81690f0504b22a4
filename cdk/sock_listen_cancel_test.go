package cdk

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestListenSocketsHonoursAnEarlyStop is the cause of issue 18's 31.5 s
// cancel: a SIGTERM that reached a socket-mode source as it started
// listening (the retry's containers were just starting) was lost when the
// watcher moved the accept deadlines to now before listenSockets set them
// to the full timeout, and the source waited for a destination that had
// been stopped too, until Docker killed it after the 30 s stop grace. A
// context cancelled before or while listening must end the wait at once,
// whichever goroutine runs first; many rounds give each order a chance.
func TestListenSocketsHonoursAnEarlyStop(t *testing.T) {
	for i := range 200 {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() {
			_, err := listenSockets(ctx, []string{filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")}, 15*time.Minute)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("round %d: listenSockets connected with no destination", i)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: listenSockets ignored a stop that came as it started listening", i)
		}
	}
}

package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestSubscribeFollowsAJob subscribes before a job starts and gets its
// statuses in order, ending with the terminal one, and its log lines.
func TestSubscribeFollowsAJob(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 5, "state_every": 1}}, scenario{})
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var statuses []store.JobStatus
	var lines []string
	done := make(chan error, 1)
	first := make(chan struct{})
	go func() {
		done <- d.Subscribe(ctx, j.ID, func(j *store.Job) {
			if len(statuses) == 0 {
				close(first)
			}
			if len(statuses) == 0 || statuses[len(statuses)-1] != j.Status {
				statuses = append(statuses, j.Status)
			}
		}, func(attempt int, line string) { lines = append(lines, fmt.Sprintf("%d %s", attempt, line)) })
	}()
	// Start the daemon only once the subscriber has the pending job, so
	// the sequence below is deterministic.
	<-first
	serve(t, d)
	if err := <-done; err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if got := statuses[len(statuses)-1]; got != store.JobSucceeded || statuses[0] != store.JobPending {
		t.Errorf("statuses %v, want pending first and succeeded last", statuses)
	}
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "1 ") || !strings.Contains(joined, "starting sync") || !strings.Contains(joined, "sync succeeded") {
		t.Errorf("log lines do not show the sync of attempt 1:\n%s", joined)
	}
}

// TestSubscribeEndedJob returns at once with the stored status.
func TestSubscribeEndedJob(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{}, scenario{})
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Cancel(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	var got []store.JobStatus
	if err := d.Subscribe(context.Background(), j.ID, func(j *store.Job) { got = append(got, j.Status) }, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != store.JobCancelled {
		t.Errorf("statuses %v, want just cancelled", got)
	}
	if err := d.Subscribe(context.Background(), 999, func(*store.Job) {}, func(int, string) {}); !isNotFound(err) {
		t.Errorf("Subscribe(unknown job) = %v, want not found", err)
	}
}

// TestHubSlowSubscriber overflows a subscriber that does not read: the
// lines beyond its queue are dropped and counted, the latest status is
// kept, and the publisher never blocks.
func TestHubSlowSubscriber(t *testing.T) {
	h := newHub()
	s := h.subscribe(7)
	for i := 0; i < subscriberLogQueue+10; i++ {
		h.publishLog(7, 1, fmt.Sprintf("line %d", i))
	}
	h.publishStatus(&store.Job{ID: 7, Status: store.JobRunning})
	h.publishStatus(&store.Job{ID: 7, Status: store.JobSucceeded})
	var lines []string
	var statuses []store.JobStatus
	err := s.follow(context.Background(), func(j *store.Job) { statuses = append(statuses, j.Status) },
		func(_ int, l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != subscriberLogQueue+1 || !strings.Contains(lines[len(lines)-1], "10 log lines skipped") {
		t.Errorf("got %d lines ending %q, want %d and a marker for 10 skipped", len(lines), lines[len(lines)-1], subscriberLogQueue+1)
	}
	if len(statuses) != 1 || statuses[0] != store.JobSucceeded {
		t.Errorf("statuses %v, want only the latest, succeeded", statuses)
	}
}

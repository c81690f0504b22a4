package daemon

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/ferrysync/ferry/store"
)

// The hub fans live job events out to subscribers (the API's SSE streams).
// Publishers never block on a subscriber: each subscriber has a bounded
// queue, status events coalesce to the latest, and log lines beyond the
// bound are dropped and counted, with a marker line in their place. A slow
// browser can miss log lines, never stall a sync; the log file is whole.

const (
	// subscriberLogQueue bounds one subscriber's undelivered log lines.
	subscriberLogQueue = 1024
	// backlogLines is how many recent lines of a running job a new
	// subscriber gets first.
	backlogLines = 500
)

type logLine struct {
	attempt int
	line    string
}

type hub struct {
	mu      sync.Mutex
	subs    map[int64]map[*subscriber]struct{}
	backlog map[int64][]logLine
}

func newHub() *hub {
	return &hub{subs: map[int64]map[*subscriber]struct{}{}, backlog: map[int64][]logLine{}}
}

type subscriber struct {
	mu       sync.Mutex
	status   *store.Job // latest undelivered status, nil when none
	lines    []logLine
	dropped  int
	notify   chan struct{} // capacity 1: "something is pending"
	terminal bool
}

func (s *subscriber) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// publishStatus sends a job snapshot to its subscribers. A terminal status
// is the last event for the job: its backlog is dropped.
func (h *hub) publishStatus(j *store.Job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[j.ID] {
		s.mu.Lock()
		s.status = j
		s.terminal = j.Status.Terminal()
		s.mu.Unlock()
		s.poke()
	}
	if j.Status.Terminal() {
		delete(h.backlog, j.ID)
	}
}

// publishLog sends one log line of a job's attempt.
func (h *hub) publishLog(jobID int64, attempt int, line string) {
	l := logLine{attempt, line}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := append(h.backlog[jobID], l)
	if len(b) > backlogLines {
		b = append(b[:0:0], b[len(b)-backlogLines:]...)
	}
	h.backlog[jobID] = b
	for s := range h.subs[jobID] {
		s.mu.Lock()
		if len(s.lines) < subscriberLogQueue {
			s.lines = append(s.lines, l)
		} else {
			s.dropped++
		}
		s.mu.Unlock()
		s.poke()
	}
}

// subscribe registers a subscriber, primed with the job's backlog.
func (h *hub) subscribe(jobID int64) *subscriber {
	s := &subscriber{notify: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.lines = append(s.lines, h.backlog[jobID]...)
	if h.subs[jobID] == nil {
		h.subs[jobID] = map[*subscriber]struct{}{}
	}
	h.subs[jobID][s] = struct{}{}
	if len(s.lines) > 0 {
		s.poke()
	}
	return s
}

func (h *hub) unsubscribe(jobID int64, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[jobID], s)
	if len(h.subs[jobID]) == 0 {
		delete(h.subs, jobID)
	}
}

// follow delivers s's events to the callbacks, from this goroutine only,
// until a terminal status was delivered or ctx ends.
func (s *subscriber) follow(ctx context.Context, onStatus func(*store.Job), onLog func(attempt int, line string)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.notify:
		}
		s.mu.Lock()
		status, lines, dropped, terminal := s.status, s.lines, s.dropped, s.terminal
		s.status, s.lines, s.dropped = nil, nil, 0
		s.mu.Unlock()
		// Lines first: they were written before the status that follows
		// them (a finished job's last lines come before its end).
		for _, l := range lines {
			onLog(l.attempt, l.line)
		}
		if dropped > 0 {
			onLog(0, fmt.Sprintf("[%d log lines skipped: the reader was too slow; the attempt log file has them]", dropped))
		}
		if status != nil {
			onStatus(status)
		}
		if terminal {
			return nil
		}
	}
}

// logSink is the io.Writer an attempt log is copied to for live readers.
// runner.AttemptLog writes one event per Write (continuation lines of a
// stack trace included), so each Write becomes one published line.
type logSink struct {
	h       *hub
	jobID   int64
	attempt int
}

func (w *logSink) Write(p []byte) (int, error) {
	w.h.publishLog(w.jobID, w.attempt, string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

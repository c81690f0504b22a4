package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// Following a log. The attempt's log file is the source of truth: it is
// whole, while the daemon's live feed drops lines for slow readers and
// keeps only a recent backlog. So the stream tails the file from the
// start (or from Last-Event-ID, a byte offset, when a browser reconnects)
// and uses Jobs.Subscribe only to wake up early and to learn of status
// changes. It ends once the attempt has ended and the file is drained:
// the daemon closes the log before it records the attempt's end, so
// nothing is written after that.
//
// Events: "log" (one line; id is the offset after it), "status" (the job
// as GET /jobs/{id} shows it), "progress" after each status (the latest
// attempt's figures as the job page shows them, progressView: counts
// formatted, the elapsed time by the server's clock, per-stream rows),
// and a last "end" with the attempt's status
// ("not_started" when the job ended before the awaited attempt began).
// A comment line every keepaliveInterval keeps proxies from timing out.

const (
	keepaliveInterval = 15 * time.Second
	// statusEvery bounds how long the stream goes without re-reading the
	// attempt from the store when no event arrives (a daemon in another
	// process, or a subscription that ended).
	statusEvery = time.Second
	// maxSSELine cuts a line without a newline that grows past this.
	maxSSELine = 1 << 20
)

// sseWriter writes events and flushes each one, so that it leaves the
// server (and, with X-Accel-Buffering: no, any nginx) at once.
type sseWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (e *sseWriter) event(name, id, data string) error {
	var b strings.Builder
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("event: " + name + "\n")
	// A bare CR would end the data line early in an SSE parser.
	for _, l := range strings.Split(strings.ReplaceAll(data, "\r", ""), "\n") {
		b.WriteString("data: " + l + "\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(e.w, b.String()); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *sseWriter) comment(text string) error {
	if _, err := io.WriteString(e.w, ": "+text+"\n\n"); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (s *Server) followLog(w http.ResponseWriter, r *http.Request, jobID int64, n int, red *secret.Redactor) {
	var offset int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		o, err := strconv.ParseInt(v, 10, 64)
		if err != nil || o < 0 {
			writeError(w, r, s.log, badRequest("Last-Event-ID", "Last-Event-ID must be a byte offset"))
			return
		}
		offset = o
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	if err := sse.comment("following attempt " + strconv.Itoa(n) + " of job " + strconv.FormatInt(jobID, 10)); err != nil {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var mu sync.Mutex
	var latest *store.Job
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		// Callbacks only record and poke: writing happens on the handler's
		// goroutine, and a Subscribe that blocks on us would slow nobody
		// but still must not deadlock.
		err := s.cfg.Jobs.Subscribe(ctx, jobID, func(j *store.Job) {
			mu.Lock()
			latest = j
			mu.Unlock()
			poke()
		}, func(attempt int, _ string) {
			if attempt == n || attempt == 0 {
				poke()
			}
		})
		if err != nil && ctx.Err() == nil {
			s.log.Debug("subscribe ended; following by polling", "job_id", jobID, "error", err)
		}
	}()
	defer func() { cancel(); <-subDone }()

	t := &tail{offset: offset, db: &dbLogReader{ctx: ctx, store: s.cfg.Store}}
	defer t.close()
	poll := time.NewTicker(s.cfg.LogPollInterval)
	defer poll.Stop()
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	var lastCheck time.Time
	var sent *store.Job
	subscribed := subDone
	for {
		mu.Lock()
		j := latest
		mu.Unlock()
		changed := j != nil && j != sent
		if changed {
			sent = j
			b, _ := json.Marshal(newJobJSON(j, red))
			if sse.event("status", "", string(b)) != nil {
				return
			}
			if p, ok := progressEvent(j, red); ok && sse.event("progress", "", p) != nil {
				return
			}
		}
		// Read the attempt from the store on a status change, and at
		// least every statusEvery; Subscribe's snapshots may predate the
		// log path.
		var ended bool
		var status string
		if changed || time.Since(lastCheck) >= statusEvery {
			lastCheck = time.Now()
			job, a, _ := s.jobAttempt(ctx, jobID, n)
			if job != nil && t.remote() && !sameJob(job, sent) {
				// The attempt runs on another replica, whose events never
				// reach Subscribe here: the store's job is the news.
				mu.Lock()
				latest = job
				mu.Unlock()
				sent = nil // sent below, on the next turn
			}
			switch {
			case a != nil:
				t.path, t.attemptID = a.LogPath, a.ID
				ended, status = a.Status != store.AttemptRunning, string(a.Status)
			case job != nil && job.Status.Terminal():
				// The job ended before the awaited attempt started.
				ended, status = true, "not_started"
			case job == nil:
				return // the job was deleted, or the client left
			}
		}
		if err := t.pump(sse, red, ended); err != nil {
			return
		}
		if ended {
			b, _ := json.Marshal(map[string]string{"status": status})
			_ = sse.event("end", strconv.FormatInt(t.offset, 10), string(b))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		case <-subscribed:
			subscribed = nil // the job ended or Subscribe failed; keep polling
			lastCheck = time.Time{}
		case <-keepalive.C:
			if sse.comment("keepalive") != nil {
				return
			}
		}
	}
}

// sameJob reports whether b shows what a shows, for the fields a status
// event carries: status, attempts and their figures.
func sameJob(a, b *store.Job) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(newJobJSON(a, nil))
	jb, _ := json.Marshal(newJobJSON(b, nil))
	return bytes.Equal(ja, jb)
}

// remote reports whether the log is read from the database: the attempt
// runs (or ran) on another replica.
func (t *tail) remote() bool { return t.f == nil && t.db != nil && t.attemptID != 0 }

// tail reads a growing log file from an offset and emits whole lines.
type tail struct {
	path string
	f    *os.File
	// When the log file is not on this replica (another replica ran the
	// attempt), the log is read from the database's chunks, at the same
	// byte offsets.
	db        *dbLogReader
	attemptID int64
	offset    int64 // of the first byte not yet emitted
	partial   []byte
	buf       []byte
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
	}
}

// pump emits every complete line written since the last call; with final
// it also emits a last line without a newline.
func (t *tail) pump(sse *sseWriter, red *secret.Redactor, final bool) error {
	var src io.ReaderAt
	if t.f == nil && t.path != "" {
		f, err := os.Open(t.path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("open log: %w", err)
		}
		t.f = f // nil when not created yet, removed, or on another replica
	}
	switch {
	case t.f != nil:
		src = t.f
	case t.db != nil && t.attemptID != 0:
		t.db.attemptID = t.attemptID
		src = t.db
	default:
		return nil
	}
	if t.buf == nil {
		t.buf = make([]byte, 64<<10)
	}
	// Invariant: the file's bytes before offset are emitted, and partial
	// holds the ones after it that were read but end no line yet.
	readAt := t.offset + int64(len(t.partial))
	for {
		k, err := src.ReadAt(t.buf, readAt)
		readAt += int64(k)
		t.partial = append(t.partial, t.buf[:k]...)
		start := 0
		for {
			rest := t.partial[start:]
			i := bytes.IndexByte(rest, '\n')
			next := i + 1
			if i < 0 {
				if len(rest) < maxSSELine {
					break
				}
				i, next = maxSSELine, maxSSELine // too long: cut, no newline to skip
			}
			start += next
			t.offset += int64(next)
			if err := sse.event("log", strconv.FormatInt(t.offset, 10), red.Redact(string(rest[:i]))); err != nil {
				return err
			}
		}
		t.partial = append(t.partial[:0], t.partial[start:]...)
		if err == io.EOF || k == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
	if final && len(t.partial) > 0 {
		t.offset += int64(len(t.partial))
		line := string(t.partial)
		t.partial = t.partial[:0]
		return sse.event("log", strconv.FormatInt(t.offset, 10), red.Redact(line))
	}
	return nil
}

// progressEvent is the progress event's data for j: its latest attempt's
// figures. Stream names come from the catalog, which holds no secrets,
// but pass the redactor like every text of a job.
func progressEvent(j *store.Job, red *secret.Redactor) (string, bool) {
	if len(j.Attempts) == 0 {
		return "", false
	}
	p := newProgressView(j, j.Attempts[len(j.Attempts)-1], time.Now())
	for i := range p.Streams {
		p.Streams[i].Stream = red.Redact(p.Streams[i].Stream)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// dbLogReader reads an attempt's log from the database's chunks, for an
// attempt another replica ran; ReadAt has the file's semantics (io.EOF
// when fewer bytes than asked are stored yet).
type dbLogReader struct {
	ctx       context.Context
	store     Store
	attemptID int64
}

func (r *dbLogReader) ReadAt(p []byte, off int64) (int, error) {
	b, err := r.store.ReadLog(r.ctx, r.attemptID, off, len(p))
	if err != nil {
		return 0, fmt.Errorf("read log from the database: %w", err)
	}
	n := copy(p, b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

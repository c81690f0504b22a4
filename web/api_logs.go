package web

import (
	"bufio"
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

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// Attempt logs are files the daemon writes, one line per event
// ("<time> <LEVEL> <origin>: <message>", continuation lines indented),
// secrets already masked. This endpoint serves one whole, as text or as
// Airbyte's LogEvents JSON, or follows it live over Server-Sent Events
// (sse.go). Every line passes the connection's redactor on the way out.

func (s *Server) logRoutes(r apiRouter) {
	r.handle(http.MethodGet, "/jobs/{jobId}/attempts/{attemptNumber}/logs", s.handleLogs)
}

// logEventJSON is one event of Airbyte's LogEvents.
type logEventJSON struct {
	Timestamp string `json:"timestamp,omitempty"`
	Level     string `json:"level,omitempty"`
	LogSource string `json:"logSource,omitempty"`
	Message   string `json:"message"`
}

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := jobID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	n, err := strconv.Atoi(mux.Vars(r)["attemptNumber"])
	if err != nil || n < 1 {
		writeError(w, r, s.log, badRequest("attemptNumber", "attemptNumber must be a positive integer"))
		return
	}
	follow, err := boolParam(r, "follow")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j, a, err := s.jobAttempt(ctx, id, n)
	follow = follow || accepts(r, "text/event-stream")
	if follow && a == nil && j != nil && !j.Status.Terminal() && n == len(j.Attempts)+1 {
		// The next attempt of a job that is still going: wait for it, so
		// that a client can follow a job it just triggered.
		err = nil
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	red, err := s.connectionRedactor(ctx, j.ConnectionID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if follow {
		s.followLog(w, r, id, n, red)
		return
	}
	if a.LogPath == "" {
		msg := fmt.Sprintf("attempt %d of job %d has no log yet", n, id)
		if a.Status != store.AttemptRunning {
			msg = fmt.Sprintf("attempt %d of job %d wrote no log (a reset, or it failed before starting)", n, id)
		}
		writeError(w, r, s.log, &requestError{status: http.StatusNotFound, msg: msg})
		return
	}
	var f io.Reader
	file, err := os.Open(a.LogPath)
	switch {
	case err == nil:
		defer file.Close()
		f = file
	case errors.Is(err, fs.ErrNotExist):
		// Not on this replica: read the chunks the replica that ran the
		// attempt stored, if any.
		db := &dbLogReader{ctx: ctx, store: s.cfg.Store, attemptID: a.ID}
		if b, err := s.cfg.Store.ReadLog(ctx, a.ID, 0, 1); err != nil || len(b) == 0 {
			writeError(w, r, s.log, &requestError{status: http.StatusNotFound,
				msg: fmt.Sprintf("the log of attempt %d of job %d was removed (log retention)", n, id)})
			return
		}
		f = io.NewSectionReader(db, 0, 1<<62)
	default:
		writeError(w, r, s.log, err)
		return
	}
	if r.URL.Query().Get("format") == "json" || accepts(r, "application/json") {
		writeLogEvents(w, f, red)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	_ = eachLine(f, func(line string) error {
		_, err := bw.WriteString(red.Redact(line) + "\n")
		return err
	})
	_ = bw.Flush()
}

// jobAttempt returns a job and its attempt number n. When the job exists
// but the attempt does not, it returns the job, a nil attempt and a 404.
func (s *Server) jobAttempt(ctx context.Context, id int64, n int) (*store.Job, *store.Attempt, error) {
	j, err := s.cfg.Store.Job(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range j.Attempts {
		if a.Number == n {
			return j, a, nil
		}
	}
	return j, nil, &requestError{status: http.StatusNotFound, msg: fmt.Sprintf("job %d has no attempt %d", id, n)}
}

// accepts reports whether the Accept header lists the media type.
func accepts(r *http.Request, mediaType string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(mt, mediaType) {
			return true
		}
	}
	return false
}

// eachLine calls fn with every line of rd, without its newline.
func eachLine(rd io.Reader, fn func(string) error) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if ferr := fn(strings.TrimRight(line, "\r\n")); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeLogEvents streams the log as {"events": [...]}, one event per log
// entry, continuation lines folded into their entry's message.
func writeLogEvents(w http.ResponseWriter, f io.Reader, red *secret.Redactor) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	bw.WriteString(`{"events":[`)
	var pending *logEventJSON
	first := true
	emit := func() {
		if pending == nil {
			return
		}
		b, _ := json.Marshal(pending)
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.Write(b)
		pending = nil
	}
	_ = eachLine(f, func(line string) error {
		line = red.Redact(line)
		if rest, ok := strings.CutPrefix(line, "    "); ok && pending != nil {
			pending.Message += "\n" + rest
			return nil
		}
		emit()
		ev := parseLogLine(line)
		pending = &ev
		return nil
	})
	emit()
	bw.WriteString("]}\n")
}

// parseLogLine splits "<time> <LEVEL> <origin>: <message>"; a line in
// another shape is all message.
func parseLogLine(line string) logEventJSON {
	ts, rest, ok1 := strings.Cut(line, " ")
	level, rest, ok2 := strings.Cut(rest, " ")
	origin, msg, ok3 := strings.Cut(rest, ": ")
	if !ok1 || !ok2 || !ok3 || len(ts) < 20 || ts[4] != '-' || strings.ContainsRune(origin, ' ') {
		return logEventJSON{Message: line}
	}
	return logEventJSON{Timestamp: ts, Level: level, LogSource: origin, Message: msg}
}

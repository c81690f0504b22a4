package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/store"
)

const (
	logLine1 = "2025-01-02T03:04:05.000Z INFO ferry: starting the source"
	logLine2 = "2025-01-02T03:04:06.000Z ERROR source: boom with " + srcPassword
	logCont  = "    at frame one"
	logLine3 = "2025-01-02T03:04:07.000Z INFO destination: flushed"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestWholeLog verifies the log is served as text and as Airbyte
// LogEvents, with secret values masked on the way out.
func TestWholeLog(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	appendFile(t, logPath, logLine1+"\n"+logLine2+"\n"+logCont+"\n"+"not a log line\n")
	masked2 := strings.Replace(logLine2, srcPassword, store.Mask, 1)

	resp, b := e.request(t, "GET", path("/api/v1/jobs/%d/attempts/1/logs", j.JobID), nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("got %d %s, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := logLine1 + "\n" + masked2 + "\n" + logCont + "\nnot a log line\n"; string(b) != want {
		t.Errorf("text log:\n%s\nwant:\n%s", b, want)
	}

	var events struct {
		Events []logEventJSON `json:"events"`
	}
	e.do(t, "GET", path("/api/v1/jobs/%d/attempts/1/logs?format=json", j.JobID), nil, 200, &events)
	want := []logEventJSON{
		{Timestamp: "2025-01-02T03:04:05.000Z", Level: "INFO", LogSource: "ferry", Message: "starting the source"},
		{Timestamp: "2025-01-02T03:04:06.000Z", Level: "ERROR", LogSource: "source", Message: "boom with " + store.Mask + "\nat frame one"},
		{Message: "not a log line"},
	}
	if diff := cmp.Diff(want, events.Events); diff != "" {
		t.Errorf("log events (-want +got):\n%s", diff)
	}
	e.fail(t, "GET", path("/api/v1/jobs/%d/attempts/2/logs", j.JobID), nil, 404)

	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded})
	os.Remove(logPath)
	ae := e.fail(t, "GET", path("/api/v1/jobs/%d/attempts/1/logs", j.JobID), nil, 404)
	if !strings.Contains(ae.Message, "removed") {
		t.Errorf("got %q, want it to say the log was removed", ae.Message)
	}
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, name, data string
}

// readEvents parses an event stream into a channel, closed at its end.
func readEvents(body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || len(data) > 0 {
					ev.data = strings.Join(data, "\n")
					ch <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return ch
}

// next returns the next event that is not a status or progress event
// (each status is followed by one progress). Every awaited
// event comes, so the minute only guards against a hang.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the stream ended early")
			}
			if ev.name != "status" && ev.name != "progress" {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within a minute")
		}
	}
}

func (e *testEnv) follow(t *testing.T, jobID int64, header ...string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+path("/api/v1/jobs/%d/attempts/1/logs", jobID), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, readEvents(resp.Body)
}

// TestFollowRunningAttempt verifies SSE following of a running attempt:
// the headers, the lines already written, lines written later, a last
// line without a newline, and the end event once the attempt ends; then
// that a reconnect with Last-Event-ID resumes where it left off.
func TestFollowRunningAttempt(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	appendFile(t, logPath, logLine1+"\n"+logLine2+"\n")

	ended := make(chan *store.Job)
	e.jobs.SubscribeFn = func(ctx context.Context, id int64, onStatus func(*store.Job), onLog func(int, string)) error {
		j, err := e.db.Job(ctx, id)
		if err != nil {
			return err
		}
		onStatus(j)
		select {
		case j := <-ended:
			onLog(1, "the last line")
			onStatus(j)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	resp, events := e.follow(t, j.JobID)
	if ct, xab := resp.Header.Get("Content-Type"), resp.Header.Get("X-Accel-Buffering"); ct != "text/event-stream" || xab != "no" {
		t.Fatalf("got Content-Type %q X-Accel-Buffering %q, want text/event-stream and no", ct, xab)
	}
	ev1, ev2 := next(t, events), next(t, events)
	masked2 := strings.Replace(logLine2, srcPassword, store.Mask, 1)
	if ev1 != (sseEvent{strconv.Itoa(len(logLine1) + 1), "log", logLine1}) ||
		ev2 != (sseEvent{strconv.Itoa(len(logLine1) + len(logLine2) + 2), "log", masked2}) {
		t.Fatalf("got events %+v %+v, want the two lines with offsets as ids", ev1, ev2)
	}

	appendFile(t, logPath, logLine3+"\n")
	if ev := next(t, events); ev.data != logLine3 {
		t.Fatalf("got %+v, want the line written while following", ev)
	}
	appendFile(t, logPath, "no newline at the end")
	done := e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded})
	ended <- done
	if ev := next(t, events); ev.data != "no newline at the end" {
		t.Fatalf("got %+v, want the last, unterminated line", ev)
	}
	end := next(t, events)
	if end.name != "end" || end.data != `{"status":"succeeded"}` {
		t.Fatalf("got %+v, want the end event", end)
	}
	if _, ok := <-events; ok {
		t.Error("the stream went on after the end event")
	}

	// Reconnect after the second line: only what followed it comes.
	_, events = e.follow(t, j.JobID, "Last-Event-ID", ev2.id)
	if ev := next(t, events); ev.data != logLine3 {
		t.Errorf("after Last-Event-ID got %+v, want line 3", ev)
	}
	next(t, events)
	if ev := next(t, events); ev.name != "end" {
		t.Errorf("got %+v, want the end", ev)
	}
}

// TestFollowWithoutSubscription verifies following still works, by
// polling the store, when the job controller offers no live events.
func TestFollowWithoutSubscription(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	e.jobs.SubscribeFn = func(context.Context, int64, func(*store.Job), func(int, string)) error {
		return errors.New("not here")
	}
	req, _ := http.NewRequest("GET", e.url+path("/api/v1/jobs/%d/attempts/1/logs?follow=true", j.JobID), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(resp.Body)
	appendFile(t, logPath, logLine1+"\n")
	if ev := next(t, events); ev.data != logLine1 {
		t.Fatalf("got %+v, want the line", ev)
	}
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptFailed, JobStatus: store.JobFailed})
	if ev := next(t, events); ev.name != "end" || ev.data != `{"status":"failed"}` {
		t.Fatalf("got %+v, want the end with the failed status", ev)
	}
}

// TestCloseEndsStreams verifies Close does not wait for open SSE streams:
// it ends them, so the shutdown completes instead of running out its
// timeout (and returning the deadline's error) on a stream of a job that
// never ends.
func TestCloseEndsStreams(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ShutdownTimeout = time.Minute })
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	e.startAttempt(t)
	_, events := e.follow(t, j.JobID)
	if err := e.srv.Close(); err != nil {
		t.Fatalf("Close with a stream open: %v, want a clean shutdown", err)
	}
	for range events {
	}
}

// jobReads is the store with a signal after each read of a job, so a
// test can wait until a stream has looked at the job.
type jobReads struct {
	Store
	reads chan int64
}

func (s *jobReads) Job(ctx context.Context, id int64) (*store.Job, error) {
	j, err := s.Store.Job(ctx, id)
	select {
	case s.reads <- id:
	default: // nobody is waiting for this one
	}
	return j, err
}

// TestFollowBeforeTheAttemptStarts verifies a client can follow a job it
// just triggered: the stream waits for the attempt, and ends saying so if
// the job ends before the attempt starts.
func TestFollowBeforeTheAttemptStarts(t *testing.T) {
	reads := &jobReads{reads: make(chan int64)}
	e := newEnv(t, func(c *Config) { reads.Store = c.Store; c.Store = reads })
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	_, events := e.follow(t, j.JobID)
	// The stream has answered; wait for it to read the job again and find
	// no attempt yet, so the attempt really starts while it waits.
	select {
	case <-reads.reads:
	case <-time.After(time.Minute):
		t.Fatal("the stream never read the job")
	}
	c, logPath := e.startAttempt(t)
	appendFile(t, logPath, logLine1+"\n")
	if ev := next(t, events); ev.data != logLine1 {
		t.Fatalf("got %+v, want the first line of the attempt that started later", ev)
	}
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptFailed, JobStatus: store.JobIncomplete})
	if ev := next(t, events); ev.name != "end" {
		t.Fatalf("got %+v, want the end of attempt 1", ev)
	}

	// Attempt 2 is awaited, but the job is cancelled first.
	req, _ := http.NewRequest("GET", e.url+path("/api/v1/jobs/%d/attempts/2/logs?follow=true", j.JobID), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events = readEvents(resp.Body)
	e.do(t, "DELETE", path("/api/v1/jobs/%d", j.JobID), nil, 200, nil)
	if ev := next(t, events); ev.name != "end" || ev.data != `{"status":"not_started"}` {
		t.Fatalf("got %+v, want the end with not_started", ev)
	}
	e.fail(t, "GET", path("/api/v1/jobs/%d/attempts/3/logs?follow=true", j.JobID), nil, 404)
}

// TestFollowOutlivesReadTimeout verifies a followed log is not cut when
// the server's read timeout passes.
func TestFollowOutlivesReadTimeout(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	_, logPath := e.startAttempt(t)
	srv, err := New(Config{Addr: "127.0.0.1:0", Token: testToken, Store: e.db, Jobs: e.jobs, Connectors: e.conns,
		LogPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.srv.ReadTimeout = 200 * time.Millisecond
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e.url = srv.URL()
	_, events := e.follow(t, j.JobID)
	// Not an ordering sleep: the subject is a deadline on net/http's wall
	// clock, which no injected clock reaches, so real time must pass it.
	// A loaded machine only lets more pass.
	time.Sleep(600 * time.Millisecond)
	appendFile(t, logPath, logLine1+"\n")
	if ev := next(t, events); ev.data != logLine1 {
		t.Fatalf("got %+v, want the line written after the read timeout", ev)
	}
}

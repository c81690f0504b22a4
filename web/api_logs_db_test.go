package web

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestFollowLogFromAnotherReplica verifies an attempt that ran on another
// replica: its log file is not here, only the chunks that replica stored
// in the database. SSE follows them as they arrive, to the end, and the
// log API serves the whole log, masked, from them.
func TestFollowLogFromAnotherReplica(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	if err := os.Remove(logPath); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var pos int64
	appendDB := func(s string) {
		t.Helper()
		if err := e.db.AppendLog(context.Background(), c.Attempt.ID, pos, []byte(s)); err != nil {
			t.Fatal(err)
		}
		pos += int64(len(s))
	}
	appendDB(logLine1 + "\n" + logLine2[:10])
	appendDB(logLine2[10:] + "\n")

	_, events := e.follow(t, j.JobID)
	masked2 := strings.Replace(logLine2, srcPassword, store.Mask, 1)
	if ev1, ev2 := next(t, events), next(t, events); ev1.data != logLine1 || ev2.data != masked2 {
		t.Fatalf("got %+v %+v, want the two stored lines, masked", ev1, ev2)
	}
	appendDB(logLine3 + "\n")
	if ev := next(t, events); ev.data != logLine3 {
		t.Fatalf("got %+v, want the line stored while following", ev)
	}
	appendDB("the last line")
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptSucceeded, JobStatus: store.JobSucceeded})
	if ev := next(t, events); ev.data != "the last line" {
		t.Fatalf("got %+v, want the last, unterminated line", ev)
	}
	if ev := next(t, events); ev.name != "end" || ev.data != `{"status":"succeeded"}` {
		t.Fatalf("got %+v, want the end event", ev)
	}

	body := string(e.do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d/attempts/1/logs", j.JobID), nil, 200, nil))
	want := logLine1 + "\n" + masked2 + "\n" + logLine3 + "\nthe last line\n"
	if body != want {
		t.Errorf("log API: got\n%q\nwant\n%q", body, want)
	}
}

// TestStatusFromAnotherReplica: while an attempt runs on another replica,
// whose events never reach this one's Subscribe, the stream still sends a
// status event when the job changes in the store (here, a cancel request).
func TestStatusFromAnotherReplica(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	if err := os.Remove(logPath); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := e.db.AppendLog(context.Background(), c.Attempt.ID, 0, []byte(logLine1+"\n")); err != nil {
		t.Fatal(err)
	}
	_, events := e.follow(t, j.JobID)
	if ev := next(t, events); ev.data != logLine1 {
		t.Fatalf("got %+v, want the stored line", ev)
	}
	if _, err := e.db.CancelJob(context.Background(), j.JobID); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended before a status event showed the cancel request")
			}
			if ev.name == "status" && strings.Contains(ev.data, `"cancelRequested":true`) {
				return
			}
		case <-timeout:
			t.Fatal("no status event with the cancel request within a minute")
		}
	}
}

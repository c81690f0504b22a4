package web

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

func jobFilter(connID string) store.JobFilter { return store.JobFilter{ConnectionID: connID} }

// TestUIPages verifies every page renders from the real store, shows what
// it is for (names, the data channel, stream stats, failures, committed
// state, masked configs), and never shows a secret, not even one that a
// connector echoed into a failure message or its log.
func TestUIPages(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	cookie, csrf := e.login(t)
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	c, logPath := e.startAttempt(t)
	appendFile(t, logPath, "2025-01-02T03:04:05.000Z INFO source: login with "+srcPassword+"\n")
	users := protocol.StreamDescriptor{Name: "users"}
	no := false
	e.finishAttempt(t, store.AttemptResult{AttemptID: c.Attempt.ID, Status: store.AttemptFailed,
		Stats: &store.Stats{RecordsEmitted: 1500, RecordsCommitted: 1200, BytesCommitted: 4096,
			Streams: []store.StreamStats{{Stream: users, RecordsEmitted: 1500, RecordsCommitted: 1200, Status: "INCOMPLETE"}}},
		FailureReasons: []store.FailureReason{{FailureOrigin: protocol.OriginDestination, FailureType: protocol.FailureConfig,
			ExternalMessage: "auth failed", InternalMessage: "token " + dstToken + " refused", Retryable: &no, Timestamp: 1}},
		FinalStates: []*protocol.State{{Type: protocol.StateStream, Stream: &protocol.StreamState{
			StreamDescriptor: users, StreamState: []byte(`{"updated_at":"2025-01-02"}`)}}},
		JobStatus: store.JobFailed})

	for _, p := range []struct {
		path string
		want []string
	}{
		{"/connections", []string{"src → dst", "Sync now", "Clear", `class="badge failed"`, `name="csrf" value="` + csrf + `"`}},
		{"/connections/" + f.conn, []string{"users", "products", "incremental", `{&#34;updated_at&#34;:&#34;2025-01-02&#34;}`, "Committed state: stream"}},
		{"/jobs", []string{path(`href="/jobs/%d"`, j.JobID), `class="badge failed"`, "1,200"}},
		{"/jobs?status=failed", []string{path(`href="/jobs/%d"`, j.JobID)}},
		{path("/jobs/%d", j.JobID), []string{"stdio, JSONL", "config_error", "auth failed", "token " + store.Mask + " refused",
			"INCOMPLETE", "1,500", path(`data-stream="/jobs/%d/attempts/1/log"`, j.JobID), `data-reload="false"`}},
		{"/sources", []string{"source-test", store.Mask, "db.example"}},
		{"/destinations", []string{"destination-test", store.Mask, "/local/out"}},
		{"/definitions", []string{"source-test", "ferry/source-test:dev", "STDIO, JSONL (legacy)"}},
	} {
		resp, body := e.page(t, "GET", p.path, cookie, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d, want 200\n%s", p.path, resp.StatusCode, body)
			continue
		}
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: want %q in the page\n%s", p.path, w, body)
			}
		}
		checkNoSecrets(t, p.path, body)
	}
	if resp, body := e.page(t, "GET", "/jobs?status=running", cookie, nil); resp.StatusCode != 200 || !strings.Contains(body, "No jobs with status running") {
		t.Errorf("filtered to running: got %d\n%s", resp.StatusCode, body)
	}

	// The log route is the API's, behind the session: whole as text, and
	// masked on the way out.
	resp, body := e.page(t, "GET", path("/jobs/%d/attempts/1/log", j.JobID), cookie, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "login with "+store.Mask) {
		t.Errorf("log as text: got %d\n%s", resp.StatusCode, body)
	}
	checkNoSecrets(t, "the log", body)
	os.Remove(logPath)
}

// TestUIErrorPages verifies that errors are pages for browsers and JSON
// for API clients, on one route, and that a bad id or filter is a 4xx
// page rather than a 500.
func TestUIErrorPages(t *testing.T) {
	e := newEnv(t)
	cookie, _ := e.login(t)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/jobs/999", http.StatusNotFound},
		{"/jobs/abc", http.StatusBadRequest},
		{"/jobs?status=done", http.StatusBadRequest},
		{"/connections/nope", http.StatusNotFound},
		{"/no/such/page", http.StatusNotFound},
		{"/connections?offset=-1", http.StatusBadRequest},
	} {
		resp, body := e.page(t, "GET", c.path, cookie, nil)
		if resp.StatusCode != c.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, `class="error"`) {
			t.Errorf("%s: got %d %s, want a %d page\n%s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.want, body)
		}
	}
	resp, body := e.page(t, "GET", "/api/v1/jobs/999", nil, nil, "Authorization", "Bearer "+testToken)
	if resp.StatusCode != 404 || !strings.Contains(body, "<h1>404") {
		t.Errorf("API error for a browser: got %d\n%s", resp.StatusCode, body)
	}
	ae := e.fail(t, "GET", "/api/v1/jobs/999", nil, 404)
	if ae.Error != "not_found" {
		t.Errorf("API error for a client: got %+v, want JSON not_found", ae)
	}
	// Unknown paths without credentials: browsers go to the login page,
	// API clients get the API's 401.
	resp, _ = e.page(t, "GET", "/no/such/page", nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("unknown page without a session: got %d, want 303 to login", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.url+"/no/such/page", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown path for an API client: got %v %v, want a JSON 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

// TestUICancel verifies the Cancel form cancels a job and shows it again,
// and that cancelling an ended job is a 409 page.
func TestUICancel(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	cookie, csrf := e.login(t)
	var j jobJSON
	e.do(t, "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn}, 201, &j)
	_, body := e.page(t, "GET", path("/jobs/%d", j.JobID), cookie, nil)
	if !strings.Contains(body, path(`action="/jobs/%d/cancel"`, j.JobID)) || !strings.Contains(body, `data-reload="true"`) {
		t.Fatalf("pending job page: want a Cancel form and a live log\n%s", body)
	}
	cancel := path("/jobs/%d/cancel", j.JobID)
	resp, _ := e.page(t, "POST", cancel, cookie, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: got %d, want 303", resp.StatusCode)
	}
	_, body = e.page(t, "GET", path("/jobs/%d", j.JobID), cookie, nil)
	if !strings.Contains(body, `id="job-status" class="badge cancelled"`) || strings.Contains(body, cancel) {
		t.Errorf("cancelled job page: want the cancelled badge and no Cancel form\n%s", body)
	}
	if resp, _ := e.page(t, "POST", cancel, cookie, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("second cancel: got %d, want 409", resp.StatusCode)
	}
}

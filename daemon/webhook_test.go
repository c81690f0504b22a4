package daemon

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/store"
)

// hookReceiver is a webhook endpoint that fails the first failFirst
// requests with 500 and records the rest.
type hookReceiver struct {
	mu        sync.Mutex
	failFirst int
	requests  int
	bodies    [][]byte
	headers   []http.Header
	got       chan WebhookPayload
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.requests++
	fail := h.requests <= h.failFirst
	if !fail {
		h.bodies = append(h.bodies, body)
		h.headers = append(h.headers, r.Header.Clone())
	}
	h.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err == nil {
		h.got <- p
	}
	w.WriteHeader(http.StatusNoContent)
}

// nextHook returns the next webhook the receiver accepted. The minute
// only guards against a hang: every awaited event is sent.
func nextHook(t *testing.T, h *hookReceiver) WebhookPayload {
	t.Helper()
	select {
	case p := <-h.got:
		return p
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute")
		return WebhookPayload{}
	}
}

// hookedConnection sets a webhook on a scripted connection.
func hookedConnection(t *testing.T, d *Daemon, url, secret string, src, dst scenario) *store.Connection {
	t.Helper()
	conn := scriptedConnection(t, d, src, dst)
	conn.WebhookURL, conn.WebhookSecret = url, secret
	if err := d.db.UpdateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestWebhooks runs a sync with a webhook whose endpoint fails the first
// delivery: the started event is retried and arrives, then the succeeded
// event, both signed with HMAC-SHA256, with the job's real status.
func TestWebhooks(t *testing.T) {
	h := &hookReceiver{failFirst: 1, got: make(chan WebhookPayload, 10)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := hookedConnection(t, d, srv.URL, "s3cret-hook", scenario{Source: map[string]any{"records": 4, "state_every": 2}}, scenario{})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)

	started, ended := nextHook(t, h), nextHook(t, h)
	if started.Event != EventStarted || started.Job.Status != string(store.JobRunning) {
		t.Errorf("first webhook %s status %s, want %s running", started.Event, started.Job.Status, EventStarted)
	}
	want := WebhookJob{JobID: j.ID, ConnectionID: conn.ID, JobType: "sync", Status: "succeeded", Attempts: 1,
		RowsSynced: 4, BytesSynced: j.BytesSynced, StartTime: j.StartedAt, EndTime: j.EndedAt}
	if ended.Event != EventSucceeded {
		t.Errorf("second webhook %s, want %s", ended.Event, EventSucceeded)
	}
	if diff := cmp.Diff(want, ended.Job); diff != "" {
		t.Errorf("succeeded webhook job (-want +got):\n%s", diff)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.requests != 3 {
		t.Errorf("got %d requests, want 3 (one failed and retried)", h.requests)
	}
	for i, b := range h.bodies {
		sig := h.headers[i].Get(SignatureHeader)
		if !hmac.Equal([]byte(sig), []byte(Sign("s3cret-hook", b))) {
			t.Errorf("webhook %d: signature %q does not match the body", i, sig)
		}
		if h.headers[i].Get(EventHeader) == "" || h.headers[i].Get(DeliveryHeader) == "" {
			t.Errorf("webhook %d: missing event or delivery header", i)
		}
	}
}

// TestWebhookPartialSuccess checks that a sync the destination never
// acknowledged is announced as a partial success with status succeeded
// and its warnings, the same status the store (and so the API) has (G11).
func TestWebhookPartialSuccess(t *testing.T) {
	h := &hookReceiver{got: make(chan WebhookPayload, 10)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := hookedConnection(t, d, srv.URL, "", scenario{Source: map[string]any{"records": 4, "state_every": 2}},
		scenario{Destination: map[string]any{"ack": "none"}})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	nextHook(t, h) // started
	ended := nextHook(t, h)
	if ended.Event != EventPartialSuccess || ended.Job.Status != string(j.Status) || !ended.Job.PartialSuccess {
		t.Errorf("webhook %s status %s partial %v, want %s with the job's status %s", ended.Event, ended.Job.Status,
			ended.Job.PartialSuccess, EventPartialSuccess, j.Status)
	}
	if diff := cmp.Diff(JobWarnings(j), ended.Job.Warnings); diff != "" || len(ended.Job.Warnings) == 0 {
		t.Errorf("webhook warnings (-store +webhook):\n%s", diff)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, hd := range h.headers {
		if hd.Get(SignatureHeader) != "" {
			t.Errorf("webhook %d signed without a secret", i)
		}
	}
}

// TestWebhookFailedJob checks the failed event after retries run out.
func TestWebhookFailedJob(t *testing.T) {
	h := &hookReceiver{got: make(chan WebhookPayload, 20)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cfg := testConfig(t, scriptedDir(t))
	cfg.Retry.MaxSuccessiveNoProgress = 2
	cfg.Retry.MaxTotalNoProgress = 2
	d := openDaemon(t, cfg, Options{})
	conn := hookedConnection(t, d, srv.URL, "k", scenario{Source: map[string]any{"records": 4, "exit_after_record": 1, "exit_code": 3}}, scenario{})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobFailed {
		t.Fatalf("job %s, want failed", j.Status)
	}
	nextHook(t, h) // started
	ended := nextHook(t, h)
	if ended.Event != EventFailed || ended.Job.Status != "failed" || ended.Job.Attempts != 2 || len(ended.Job.Failures) == 0 {
		t.Errorf("webhook %+v, want %s for a failed job after 2 attempts with its failures", ended, EventFailed)
	}
}

package daemon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ferrysync/ferry/store"
)

// Webhook events. The event names what happened; the payload's status is
// always the job's real, stored status (G11), so the two never disagree
// with the API: partial_success carries status "succeeded" (with
// warnings) or "failed" (after committing some records).
const (
	EventStarted        = "job.started"
	EventSucceeded      = "job.succeeded"
	EventPartialSuccess = "job.partial_success"
	EventFailed         = "job.failed"
	EventCancelled      = "job.cancelled"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw
	// body under the connection's webhook secret (GitHub's scheme). It is
	// absent when the connection has no secret.
	SignatureHeader = "X-Ferry-Signature-256"
	EventHeader     = "X-Ferry-Event"
	DeliveryHeader  = "X-Ferry-Delivery"
)

// WebhookPayload is the JSON body of a webhook.
type WebhookPayload struct {
	Event      string     `json:"event"`
	DeliveryID string     `json:"deliveryId"`
	SentAt     time.Time  `json:"sentAt"`
	Job        WebhookJob `json:"job"`
}

// WebhookJob describes the job in a webhook, in the API's vocabulary.
type WebhookJob struct {
	JobID          int64      `json:"jobId"`
	ConnectionID   string     `json:"connectionId"`
	JobType        string     `json:"jobType"`
	Status         string     `json:"status"`
	PartialSuccess bool       `json:"partialSuccess"`
	Warnings       []string   `json:"warnings,omitempty"`
	Failures       []string   `json:"failures,omitempty"`
	Attempts       int        `json:"attempts"`
	RowsSynced     int64      `json:"rowsSynced"`
	BytesSynced    int64      `json:"bytesSynced"`
	StartTime      *time.Time `json:"startTime,omitempty"`
	EndTime        *time.Time `json:"endTime,omitempty"`
}

// webhooks delivers events in the background, each with retries and
// exponential backoff. Deliveries never hold up a job. The events of one
// connection go out in order, one at a time (a receiver never sees a job
// end before it started, even when the first delivery needed retries);
// different connections do not wait for each other. At shutdown,
// deliveries get a short last chance, then are dropped (and logged).
type webhooks struct {
	cfg    WebhookConfig
	db     *store.DB
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	n      int64
	queues map[string][]delivery // by connection; present while its sender runs
}

// delivery is one event waiting to be posted.
type delivery struct {
	url, secret, event, id string
	body                   []byte
	jobID                  int64
}

func newWebhooks(cfg WebhookConfig, db *store.DB, client *http.Client, log *slog.Logger, now func() time.Time) *webhooks {
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &webhooks{cfg: cfg, db: db, client: client, log: log.With("component", "webhooks"), now: now,
		ctx: ctx, cancel: cancel, queues: map[string][]delivery{}}
}

// jobStarted announces a job's first attempt.
func (w *webhooks) jobStarted(j *store.Job) { w.send(EventStarted, j) }

// jobEnded announces a job's terminal status.
func (w *webhooks) jobEnded(j *store.Job) {
	event := EventFailed
	switch {
	case PartialSuccess(j):
		event = EventPartialSuccess
	case j.Status == store.JobSucceeded:
		event = EventSucceeded
	case j.Status == store.JobCancelled:
		event = EventCancelled
	}
	w.send(event, j)
}

func (w *webhooks) send(event string, j *store.Job) {
	url, secret, err := w.db.ConnectionWebhook(w.ctx, j.ConnectionID)
	if err != nil {
		w.log.Error("read webhook settings", "connection_id", j.ConnectionID, "error", err)
		return
	}
	if url == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	id := fmt.Sprintf("%d-%s-%d", j.ID, event, w.n)
	body, err := json.Marshal(WebhookPayload{Event: event, DeliveryID: id, SentAt: w.now().UTC(), Job: webhookJob(j)})
	if err != nil {
		w.log.Error("encode webhook", "error", err)
		return
	}
	dl := delivery{url: url, secret: secret, event: event, id: id, body: body, jobID: j.ID}
	q, running := w.queues[j.ConnectionID]
	if len(q) >= maxWebhookQueue {
		// A receiver that is down must not grow Ferry's memory (G10): drop
		// the oldest undelivered event, and say so.
		w.log.Warn("webhook queue full: dropped the oldest undelivered event",
			"connection_id", j.ConnectionID, "event", q[0].event, "delivery_id", q[0].id)
		q = q[1:]
	}
	w.queues[j.ConnectionID] = append(q, dl)
	if !running {
		w.wg.Add(1)
		go w.sender(j.ConnectionID)
	}
}

// maxWebhookQueue bounds the undelivered events kept per connection.
const maxWebhookQueue = 100

// sender posts a connection's queued deliveries in order, and exits when
// the queue is empty.
func (w *webhooks) sender(connID string) {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		q := w.queues[connID]
		if len(q) == 0 {
			delete(w.queues, connID)
			w.mu.Unlock()
			return
		}
		dl := q[0]
		w.queues[connID] = q[1:]
		w.mu.Unlock()
		w.deliver(dl)
	}
}

func webhookJob(j *store.Job) WebhookJob {
	out := WebhookJob{
		JobID: j.ID, ConnectionID: j.ConnectionID, JobType: string(j.Type), Status: string(j.Status),
		PartialSuccess: PartialSuccess(j), Warnings: JobWarnings(j), Attempts: j.AttemptCount,
		RowsSynced: j.RecordsSynced, BytesSynced: j.BytesSynced, StartTime: j.StartedAt, EndTime: j.EndedAt,
	}
	if j.Status == store.JobFailed && len(j.Attempts) > 0 {
		for _, f := range j.Attempts[len(j.Attempts)-1].FailureReasons {
			if !IsWarning(f) {
				out.Failures = append(out.Failures, f.ExternalMessage)
			}
		}
	}
	return out
}

// deliver posts body until a 2xx answer or MaxAttempts tries. Network
// errors, 408, 429 and 5xx are retried; other answers are final.
func (w *webhooks) deliver(dl delivery) {
	log := w.log.With("job_id", dl.jobID, "event", dl.event, "delivery", dl.id)
	backoff := w.cfg.Backoff
	for try := 1; ; try++ {
		status, err := w.post(dl)
		if err == nil && status >= 200 && status < 300 {
			log.Debug("webhook delivered", "try", try)
			return
		}
		retryable := err != nil || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
		if !retryable || try >= w.cfg.MaxAttempts {
			log.Warn("webhook not delivered", "tries", try, "status", status, "error", err)
			return
		}
		select {
		case <-w.ctx.Done():
			log.Warn("webhook dropped at shutdown", "tries", try)
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (w *webhooks) post(dl delivery) (int, error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, dl.url, bytes.NewReader(dl.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-webhook/1")
	req.Header.Set(EventHeader, dl.event)
	req.Header.Set(DeliveryHeader, dl.id)
	if dl.secret != "" {
		req.Header.Set(SignatureHeader, Sign(dl.secret, dl.body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign returns the SignatureHeader value for body under secret. Receivers
// compute the same and compare with hmac.Equal.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// close waits up to d for deliveries in flight, then abandons them.
func (w *webhooks) close(d time.Duration) {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		w.cancel()
		<-done
	}
	w.cancel()
}

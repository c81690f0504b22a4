package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// jobPage is the job template's data.
type jobPage struct {
	Job             jobRow        `json:"job"`
	RetryAt         *time.Time    `json:"retryAt"`
	CancelRequested bool          `json:"cancelRequested"`
	Warnings        []string      `json:"warnings"`
	Attempts        []attemptView `json:"attempts"`
	// Follow is the attempt whose log the page streams (0: none). While
	// the job is Live, that is the running attempt or the next one, and
	// the page reloads when its stream ends.
	Follow    int    `json:"follow"`
	FollowURL string `json:"followUrl"`
	Live      bool   `json:"live"`
	// ConnectionGone: the connection was deleted; its history stays.
	ConnectionGone bool `json:"connectionGone"`
	// Failure is the summary at the top of a job that did not succeed.
	Failure *jobFailure `json:"failure"`
	// Progress is the latest attempt's live figures, and Chart its
	// throughput; both move with the SSE progress events.
	Progress *progressView `json:"progress"`
	Chart    chartView     `json:"chart"`
}

// jobFailure is the final reason of a job that failed, with how many of
// its attempts failed before.
type jobFailure struct {
	Attempt        int          `json:"attempt"`
	Reason         *failureView `json:"reason"`
	FailedAttempts int          `json:"failedAttempts"`
}

// attemptView is one attempt: its data channel, counts and failures.
type attemptView struct {
	Number           int              `json:"number"`
	Status           string           `json:"status"`
	Started          time.Time        `json:"started"`
	Ended            *time.Time       `json:"ended"`
	Duration         string           `json:"duration"`
	Mode             string           `json:"mode"`
	Format           string           `json:"format"`
	SocketCount      int              `json:"socketCount"`
	RecordsEmitted   int64            `json:"recordsEmitted"`
	BytesEmitted     int64            `json:"bytesEmitted"`
	RecordsCommitted int64            `json:"recordsCommitted"`
	BytesCommitted   int64            `json:"bytesCommitted"`
	CommittedState   bool             `json:"committedState"`
	Streams          []streamStatsRow `json:"streams"`
	Failures         []failureView    `json:"failures"`
	Warnings         []string         `json:"warnings"`
	LogURL           string           `json:"logUrl"`
	// Open: shown unfolded (the latest attempt); older ones fold.
	Open bool `json:"open"`
}

// streamStatsRow is one stream's counts in an attempt.
type streamStatsRow struct {
	Stream           string `json:"stream"`
	Status           string `json:"status"`
	RecordsEmitted   int64  `json:"recordsEmitted"`
	BytesEmitted     int64  `json:"bytesEmitted"`
	RecordsCommitted int64  `json:"recordsCommitted"`
	BytesCommitted   int64  `json:"bytesCommitted"`
	StatesEmitted    int64  `json:"statesEmitted"`
	StatesCommitted  int64  `json:"statesCommitted"`
}

// failureView is a failure reason, its texts masked.
type failureView struct {
	Origin     string `json:"origin"`
	Type       string `json:"type"`
	Stream     string `json:"stream"`
	Message    string `json:"message"`
	Internal   string `json:"internal"`
	Stacktrace string `json:"stacktrace"`
	Retryable  string `json:"retryable"`
	// Logs are the connector's last error log lines (the failure's
	// metadata lastErrorLogs): the cause a generic message hides.
	Logs []string `json:"logs"`
}

// handleJobPage shows a job and its attempts, and follows the live log.
func handleJobPage(st Store, redactor redactorFunc, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := jobID(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		j, err := st.Job(r.Context(), id)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		red, err := redactor(r.Context(), j.ConnectionID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		samples, err := st.JobSamples(r.Context(), j.ID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		names := newNameCache(r.Context(), st)
		page := newJobPage(j, names, red, samples, time.Now())
		page.ConnectionGone = names.gone(j.ConnectionID)
		v := view{Title: fmt.Sprintf("Job %d", j.ID), Nav: "jobs", Page: page}
		renderPage(w, r, log, "job", v)
	}
}

func newJobPage(j *store.Job, names *nameCache, red *secret.Redactor, samples map[int][]store.Sample, now time.Time) jobPage {
	page := jobPage{Job: newJobRow(j, names), RetryAt: j.RetryAt, CancelRequested: j.CancelRequested,
		Live: !j.Status.Terminal(), Attempts: []attemptView{}}
	for _, a := range j.Attempts {
		av := newAttemptView(j.ID, a, red)
		// The running attempt is the live panel; its row here would be stale.
		av.Open = a == j.Attempts[len(j.Attempts)-1] && a.Status != store.AttemptRunning
		page.Attempts = append(page.Attempts, av)
		// As the API does: a succeeded job's warnings are its last
		// attempt's (G11).
		if j.Status == store.JobSucceeded && a == j.Attempts[len(j.Attempts)-1] {
			page.Warnings = av.Warnings
		}
	}
	n := len(j.Attempts)
	switch {
	case n > 0 && (j.Status.Terminal() || j.Attempts[n-1].Status == store.AttemptRunning):
		page.Follow = n
	case !j.Status.Terminal():
		page.Follow = n + 1 // the log endpoint waits for the next attempt
	}
	if page.Follow > 0 {
		page.FollowURL = fmt.Sprintf("/jobs/%d/attempts/%d/log", j.ID, page.Follow)
	}
	page.Failure = failureOf(j, page.Attempts)
	switch {
	case n > 0:
		last := j.Attempts[n-1]
		p := newProgressView(j, last, now)
		page.Progress = &p
		page.Chart = newChart(samples[last.Number], last, now)
	case page.Live:
		// A queued job: the panel waits for attempt 1, whose events the
		// log stream will carry (the script adopts its number).
		p := newProgressView(j, &store.Attempt{Status: "pending", StartedAt: now}, now)
		page.Progress = &p
		page.Chart = newChart(nil, &store.Attempt{StartedAt: now}, now)
	}
	return page
}

// failureOf is the summary of a job that failed or is between attempts:
// the last failed attempt's first reason, which is the one that decided.
func failureOf(j *store.Job, attempts []attemptView) *jobFailure {
	if j.Status == store.JobSucceeded || j.Status == store.JobRunning || j.Status == store.JobPending {
		return nil
	}
	var out *jobFailure
	for i := range attempts {
		a := &attempts[i]
		if len(a.Failures) == 0 {
			continue
		}
		if out == nil {
			out = &jobFailure{}
		}
		out.FailedAttempts++
		out.Attempt, out.Reason = a.Number, &a.Failures[0]
	}
	return out
}

func newAttemptView(jobID int64, a *store.Attempt, red *secret.Redactor) attemptView {
	out := attemptView{Number: a.Number, Status: string(a.Status), Started: a.StartedAt, Ended: a.EndedAt,
		Mode: a.Mode, Format: a.Format, SocketCount: a.SocketCount,
		RecordsEmitted: a.Stats.RecordsEmitted, BytesEmitted: a.Stats.BytesEmitted,
		RecordsCommitted: a.Stats.RecordsCommitted, BytesCommitted: a.Stats.BytesCommitted,
		CommittedState: a.CommittedState, Streams: []streamStatsRow{}, Failures: []failureView{},
		LogURL: fmt.Sprintf("/jobs/%d/attempts/%d/log", jobID, a.Number)}
	if a.EndedAt != nil {
		out.Duration = humanDuration(a.EndedAt.Sub(a.StartedAt))
	}
	for _, s := range a.Stats.Streams {
		out.Streams = append(out.Streams, streamStatsRow{Stream: s.Stream.String(), Status: s.Status,
			RecordsEmitted: s.RecordsEmitted, BytesEmitted: s.BytesEmitted,
			RecordsCommitted: s.RecordsCommitted, BytesCommitted: s.BytesCommitted,
			StatesEmitted: s.StatesEmitted, StatesCommitted: s.StatesCommitted})
	}
	for _, f := range a.FailureReasons {
		if isWarning(f) {
			out.Warnings = append(out.Warnings, red.Redact(f.ExternalMessage))
			continue
		}
		fv := failureView{Origin: f.FailureOrigin, Type: f.FailureType, Message: red.Redact(f.ExternalMessage),
			Internal: red.Redact(f.InternalMessage), Stacktrace: red.Redact(f.Stacktrace)}
		if f.StreamDescriptor != nil {
			fv.Stream = f.StreamDescriptor.String()
		}
		if f.Retryable != nil {
			fv.Retryable = fmt.Sprint(*f.Retryable)
		}
		if logs, ok := f.Metadata["lastErrorLogs"].([]any); ok {
			for _, l := range logs {
				if s, ok := l.(string); ok {
					fv.Logs = append(fv.Logs, red.Redact(s))
				}
			}
		}
		out.Failures = append(out.Failures, fv)
	}
	return out
}

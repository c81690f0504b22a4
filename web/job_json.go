package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// jobJSON is a job as Airbyte's JobResponse shows it, with Ferry's
// attempts (AttemptRead of the config API) when the job is read by id.
type jobJSON struct {
	JobID           int64         `json:"jobId"`
	Status          string        `json:"status"`
	JobType         string        `json:"jobType"`
	ConnectionID    string        `json:"connectionId"`
	Trigger         string        `json:"trigger"`
	StartTime       string        `json:"startTime"`
	LastUpdatedAt   string        `json:"lastUpdatedAt"`
	EndedAt         *string       `json:"endedAt,omitempty"`
	Duration        string        `json:"duration,omitempty"`
	BytesSynced     int64         `json:"bytesSynced"`
	RowsSynced      int64         `json:"rowsSynced"`
	AttemptCount    int           `json:"attemptCount"`
	RetryAt         *string       `json:"retryAt,omitempty"`
	CancelRequested bool          `json:"cancelRequested,omitempty"`
	PartialSuccess  bool          `json:"partialSuccess"` // G11: qualifies the status, which stays Airbyte's
	Warnings        []string      `json:"warnings,omitempty"`
	Attempts        []attemptJSON `json:"attempts,omitempty"`
}

// attemptJSON is one attempt: its data channel, counts (committed ones
// are what the destination acknowledged), per-stream stats and failures.
type attemptJSON struct {
	AttemptNumber int     `json:"attemptNumber"`
	ID            int64   `json:"id"`
	Status        string  `json:"status"`
	ReplicaID     string  `json:"replicaId"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	EndedAt       *string `json:"endedAt,omitempty"`
	Mode          string  `json:"mode,omitempty"`
	Format        string  `json:"format,omitempty"`
	SocketCount   int     `json:"socketCount,omitempty"`
	// Bridge is how a bridged attempt reached the source's sockets:
	// direct or relay.
	Bridge         string              `json:"bridge,omitempty"`
	RecordsSynced  int64               `json:"recordsSynced"`
	BytesSynced    int64               `json:"bytesSynced"`
	RecordsEmitted int64               `json:"recordsEmitted"`
	BytesEmitted   int64               `json:"bytesEmitted"`
	CommittedState bool                `json:"committedState"`
	StreamStats    []store.StreamStats `json:"streamStats"`
	FailureSummary *failureSummaryJSON `json:"failureSummary,omitempty"`
	Warnings       []string            `json:"warnings,omitempty"`
	Logs           string              `json:"logs"`
}

type failureSummaryJSON struct {
	Failures       []store.FailureReason `json:"failures"`
	PartialSuccess bool                  `json:"partialSuccess"`
}

// warningKey marks a failure reason that is a warning on a succeeded
// attempt (daemon.IsWarning; the daemon stores honest-status warnings
// this way, G11).
const warningKey = "warning"

func isWarning(f store.FailureReason) bool {
	w, _ := f.Metadata[warningKey].(bool)
	return w
}

// newJobJSON renders j. Texts that came from connectors (failure messages,
// stack traces) pass red, which masks the connection's secret values.
func newJobJSON(j *store.Job, red *secret.Redactor) jobJSON {
	out := jobJSON{
		JobID: j.ID, Status: string(j.Status), JobType: string(j.Type), ConnectionID: j.ConnectionID,
		Trigger: string(j.Trigger), StartTime: timeText(j.CreatedAt), LastUpdatedAt: timeText(j.UpdatedAt),
		EndedAt: optTime(j.EndedAt), BytesSynced: j.BytesSynced, RowsSynced: j.RecordsSynced,
		AttemptCount: j.AttemptCount, RetryAt: optTime(j.RetryAt), CancelRequested: j.CancelRequested,
		PartialSuccess: j.PartialSuccess(),
	}
	if j.EndedAt != nil {
		out.Duration = isoDuration(j.EndedAt.Sub(j.CreatedAt))
	}
	for _, a := range j.Attempts {
		aj := newAttemptJSON(j, a, red)
		out.Attempts = append(out.Attempts, aj)
		if j.Status == store.JobSucceeded && a == j.Attempts[len(j.Attempts)-1] {
			out.Warnings = aj.Warnings
		}
	}
	return out
}

func newAttemptJSON(j *store.Job, a *store.Attempt, red *secret.Redactor) attemptJSON {
	out := attemptJSON{
		AttemptNumber: a.Number, ID: a.ID, Status: string(a.Status), ReplicaID: a.Owner.InstanceID, CreatedAt: timeText(a.StartedAt),
		UpdatedAt: timeText(a.UpdatedAt), EndedAt: optTime(a.EndedAt), Mode: a.Mode, Format: a.Format,
		SocketCount: a.SocketCount, Bridge: a.Bridge, RecordsSynced: a.Stats.RecordsCommitted, BytesSynced: a.Stats.BytesCommitted,
		RecordsEmitted: a.Stats.RecordsEmitted, BytesEmitted: a.Stats.BytesEmitted,
		CommittedState: a.CommittedState, StreamStats: nonNil(a.Stats.Streams),
		Logs: fmt.Sprintf("/api/v1/jobs/%d/attempts/%d/logs", j.ID, a.Number),
	}
	var failures []store.FailureReason
	for _, f := range a.FailureReasons {
		f.InternalMessage = red.Redact(f.InternalMessage)
		f.ExternalMessage = red.Redact(f.ExternalMessage)
		f.Stacktrace = red.Redact(f.Stacktrace)
		if isWarning(f) {
			out.Warnings = append(out.Warnings, f.ExternalMessage)
			continue
		}
		failures = append(failures, f)
	}
	if len(failures) > 0 {
		// Airbyte's partialSuccess: the attempt failed but moved data.
		out.FailureSummary = &failureSummaryJSON{Failures: failures, PartialSuccess: a.Stats.RecordsCommitted > 0}
	}
	return out
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timeText(*t)
	return &s
}

// isoDuration writes d as ISO-8601, as Airbyte's JobResponse.duration:
// PT1H2M3.5S.
func isoDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	secs := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
	if secs != "0" || b.Len() == 2 {
		b.WriteString(secs + "S")
	}
	return b.String()
}

package runner

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// maxFailureText caps connector-provided strings (docs/protocol.md 7.2).
const (
	maxFailureText  = 50000
	maxFailureStack = 100000
)

// Failure is one reason an attempt failed, in the shape of Airbyte's
// FailureReason. Origin is a protocol.Origin* name and Type a failure type
// (protocol.FailureSystem, protocol.FailureHeartbeatTimeout, ...).
type Failure struct {
	Origin          string                     `json:"failureOrigin"`
	Type            string                     `json:"failureType"`
	ExternalMessage string                     `json:"externalMessage"`
	InternalMessage string                     `json:"internalMessage,omitempty"`
	StackTrace      string                     `json:"stacktrace,omitempty"`
	Retryable       bool                       `json:"retryable"`
	Timestamp       time.Time                  `json:"timestamp"`
	Stream          *protocol.StreamDescriptor `json:"streamDescriptor,omitempty"`
	FromTrace       bool                       `json:"fromTraceMessage,omitempty"`
	ExitCode        *int                       `json:"exitCode,omitempty"`
	// LastErrorLogs are the connector's last ERROR and FATAL log lines
	// before the failure, on its first failure: the cause a generic
	// message hides (findings.errorLog).
	LastErrorLogs []string `json:"lastErrorLogs,omitempty"`
}

// Error makes a Failure an error.
func (f *Failure) Error() string {
	return fmt.Sprintf("%s %s: %s", f.Origin, f.Type, f.ExternalMessage)
}

// failureFromTrace converts an ERROR trace. An unknown failure_type is a
// system_error; a config_error is never retryable.
func failureFromTrace(origin string, t *protocol.Trace, redact *secret.Redactor) Failure {
	e := t.Error
	typ := e.FailureType
	switch typ {
	case protocol.FailureConfig, protocol.FailureSystem, protocol.FailureTransient:
	default:
		typ = protocol.FailureSystem
	}
	msg := e.Message
	if msg == "" {
		msg = "Something went wrong in the " + origin + " connector"
	}
	ts := time.UnixMilli(int64(t.EmittedAt)).UTC()
	if t.EmittedAt == 0 {
		ts = time.Now().UTC()
	}
	return Failure{
		Origin: origin,
		Type:   typ,
		// Redact, then cap: a secret across the cut must not leak its start.
		ExternalMessage: capText(redact.Redact(msg), maxFailureText),
		InternalMessage: capText(redact.Redact(e.InternalMessage), maxFailureText),
		StackTrace:      capText(redact.Redact(e.StackTrace), maxFailureStack),
		Retryable:       typ != protocol.FailureConfig,
		Timestamp:       ts,
		Stream:          e.StreamDescriptor,
		FromTrace:       true,
	}
}

func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Status is an attempt's outcome.
type Status string

// Attempt outcomes.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// SyncError is returned by Sync when an attempt did not succeed. It carries
// the failures in the order they should be shown: connector traces sorted by
// time first, then Ferry's own findings.
type SyncError struct {
	Status   Status
	Failures []Failure
}

func (e *SyncError) Error() string {
	if len(e.Failures) == 0 {
		return string(e.Status)
	}
	msgs := make([]string, 0, len(e.Failures))
	for i := range e.Failures {
		if i == 3 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(e.Failures)-3))
			break
		}
		msgs = append(msgs, e.Failures[i].Error())
	}
	return fmt.Sprintf("sync %s: %s", e.Status, strings.Join(msgs, "; "))
}

// Primary returns the failure to show first.
func (e *SyncError) Primary() *Failure {
	if len(e.Failures) == 0 {
		return nil
	}
	return &e.Failures[0]
}

// Retryable reports whether a retry may help: a cancel or any config_error
// means no (G9).
func (e *SyncError) Retryable() bool {
	if e.Status == StatusCancelled {
		return false
	}
	for _, f := range e.Failures {
		if f.Type == protocol.FailureConfig {
			return false
		}
	}
	return true
}

// IsConfigError reports whether err holds a config_error failure.
func IsConfigError(err error) bool {
	var se *SyncError
	if !errors.As(err, &se) {
		return false
	}
	for _, f := range se.Failures {
		if f.Type == protocol.FailureConfig {
			return true
		}
	}
	return false
}

// sortFailures orders trace failures by time, keeping Ferry's own after.
func sortFailures(fs []Failure) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].FromTrace != fs[j].FromTrace {
			return fs[i].FromTrace
		}
		if fs[i].FromTrace {
			return fs[i].Timestamp.Before(fs[j].Timestamp)
		}
		return false
	})
}

package cdk

import (
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// Error is an error with an Airbyte failure type and a user-facing message.
// The kit turns it into an ERROR trace: Message becomes the trace's message
// and the wrapped error its internal_message.
type Error struct {
	// FailureType is protocol.FailureConfig, FailureSystem or
	// FailureTransient.
	FailureType string
	// Message is shown to the user. Empty means the wrapped error's text.
	Message string
	// Stream, when set, names the stream the failure belongs to.
	Stream *protocol.StreamDescriptor
	// Err is the cause, for internal_message and errors.Is/As.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.FailureType
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ConfigError reports a problem with the user's configuration: a wrong
// path, bad credentials, a missing permission. In check it yields a FAILED
// connection status (exit 0); elsewhere an ERROR trace with failure_type
// config_error, which Ferry does not retry.
func ConfigError(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{FailureType: protocol.FailureConfig, Message: err.Error(), Err: err}
}

// TransientError reports a failure that may pass on retry (a network blip,
// a rate limit).
func TransientError(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{FailureType: protocol.FailureTransient, Message: err.Error(), Err: err}
}

// SystemError reports a failure of the connector itself. It is also what
// an unclassified error becomes.
func SystemError(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{FailureType: protocol.FailureSystem, Message: err.Error(), Err: err}
}

// FailureType returns the failure type of err: the one of the first *Error
// in its chain, else system_error.
func FailureType(err error) string {
	var e *Error
	if errors.As(err, &e) && e.FailureType != "" {
		return e.FailureType
	}
	return protocol.FailureSystem
}

// IsConfigError reports whether err is classified as a config_error.
func IsConfigError(err error) bool { return FailureType(err) == protocol.FailureConfig }

// errorTrace builds the ERROR trace for err. The user-facing message is the
// first *Error's Message when there is one, else the error's text; the full
// text goes to internal_message when it says more.
func errorTrace(err error, stack string, at protocol.Millis) *protocol.Message {
	msg := err.Error()
	internal := ""
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		msg = e.Message
	}
	if full := err.Error(); full != msg {
		internal = full
	}
	m := protocol.NewErrorTrace(msg, internal, FailureType(err), at)
	m.Trace.Error.StackTrace = stack
	if e != nil && e.Stream != nil {
		d := *e.Stream
		m.Trace.Error.StreamDescriptor = &d
	}
	return m
}

package protocol

import "encoding/json"

// Trace types.
const (
	TraceError        = "ERROR"
	TraceEstimate     = "ESTIMATE"
	TraceStreamStatus = "STREAM_STATUS"
	TraceAnalytics    = "ANALYTICS"
)

// Failure types of an ERROR trace.
const (
	FailureSystem    = "system_error"
	FailureConfig    = "config_error"
	FailureTransient = "transient_error"
)

// Stream statuses of a STREAM_STATUS trace.
const (
	StreamStarted    = "STARTED"
	StreamRunning    = "RUNNING"
	StreamComplete   = "COMPLETE"
	StreamIncomplete = "INCOMPLETE"
)

// Trace is an AirbyteTraceMessage.
type Trace struct {
	Type         string        `json:"type"`
	EmittedAt    Millis        `json:"emitted_at"`
	Error        *ErrorTrace   `json:"error,omitempty"`
	Estimate     *Estimate     `json:"estimate,omitempty"`
	StreamStatus *StreamStatus `json:"stream_status,omitempty"`
	Analytics    *Analytics    `json:"analytics,omitempty"`
	Extra        Extra         `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (t *Trace) UnmarshalJSON(b []byte) error {
	type plain Trace
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*t = Trace(p)
	t.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (t Trace) MarshalJSON() ([]byte, error) {
	type plain Trace
	return marshalWithExtra(plain(t), t.Extra)
}

// ErrorTrace is an AirbyteErrorTraceMessage.
type ErrorTrace struct {
	Message          string            `json:"message"`
	InternalMessage  string            `json:"internal_message,omitempty"`
	StackTrace       string            `json:"stack_trace,omitempty"`
	FailureType      string            `json:"failure_type,omitempty"`
	StreamDescriptor *StreamDescriptor `json:"stream_descriptor,omitempty"`
	Extra            Extra             `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (e *ErrorTrace) UnmarshalJSON(b []byte) error {
	type plain ErrorTrace
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*e = ErrorTrace(p)
	e.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (e ErrorTrace) MarshalJSON() ([]byte, error) {
	type plain ErrorTrace
	return marshalWithExtra(plain(e), e.Extra)
}

// Estimate is an AirbyteEstimateTraceMessage.
type Estimate struct {
	Name         string `json:"name"`
	Type         string `json:"type"` // STREAM or SYNC
	Namespace    string `json:"namespace,omitempty"`
	RowEstimate  *int64 `json:"row_estimate,omitempty"`
	ByteEstimate *int64 `json:"byte_estimate,omitempty"`
	Extra        Extra  `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (e *Estimate) UnmarshalJSON(b []byte) error {
	type plain Estimate
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*e = Estimate(p)
	e.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (e Estimate) MarshalJSON() ([]byte, error) {
	type plain Estimate
	return marshalWithExtra(plain(e), e.Extra)
}

// StreamStatus is an AirbyteStreamStatusTraceMessage.
type StreamStatus struct {
	StreamDescriptor StreamDescriptor  `json:"stream_descriptor"`
	Status           string            `json:"status"`
	Reasons          []json.RawMessage `json:"reasons,omitempty"`
	Extra            Extra             `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *StreamStatus) UnmarshalJSON(b []byte) error {
	type plain StreamStatus
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = StreamStatus(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s StreamStatus) MarshalJSON() ([]byte, error) {
	type plain StreamStatus
	return marshalWithExtra(plain(s), s.Extra)
}

// Analytics is an AirbyteAnalyticsTraceMessage.
type Analytics struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Extra Extra  `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (a *Analytics) UnmarshalJSON(b []byte) error {
	type plain Analytics
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*a = Analytics(p)
	a.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (a Analytics) MarshalJSON() ([]byte, error) {
	type plain Analytics
	return marshalWithExtra(plain(a), a.Extra)
}

// NewStreamStatus builds a STREAM_STATUS trace message.
func NewStreamStatus(d StreamDescriptor, status string, at Millis) *Message {
	return &Message{Type: TypeTrace, Trace: &Trace{
		Type:         TraceStreamStatus,
		EmittedAt:    at,
		StreamStatus: &StreamStatus{StreamDescriptor: d, Status: status},
	}}
}

// NewErrorTrace builds an ERROR trace message.
func NewErrorTrace(message, internal, failureType string, at Millis) *Message {
	return &Message{Type: TypeTrace, Trace: &Trace{
		Type:      TraceError,
		EmittedAt: at,
		Error: &ErrorTrace{
			Message:         message,
			InternalMessage: internal,
			FailureType:     failureType,
		},
	}}
}

// NewLog builds a LOG message.
func NewLog(level, message string) *Message {
	return &Message{Type: TypeLog, Log: &Log{Level: level, Message: message}}
}

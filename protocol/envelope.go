package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// ErrNotMessage is wrapped by ScanEnvelope errors for lines that are not an
// Airbyte message at all (not a JSON object, or no "type").
var ErrNotMessage = errors.New("not an Airbyte message")

// Envelope is what Ferry needs to route a line without decoding its payload.
type Envelope struct {
	Type Type
	// Stream and Namespace are set for RECORD lines.
	Stream    string
	Namespace string
	// PartitionID is a RECORD's partition_id, set in socket mode
	// (docs/protocol.md 5.6); empty when the record has none.
	PartitionID string
	// Raw is the original line. It aliases the reader's buffer.
	Raw []byte
	// Spans locates a RECORD's data, emitted_at and meta in Raw when
	// Spans.Valid is set.
	Spans RecordSpans
}

// Descriptor returns the record's stream descriptor.
func (e *Envelope) Descriptor() StreamDescriptor {
	return StreamDescriptor{Name: e.Stream, Namespace: e.Namespace}
}

// ScanEnvelope validates a line's JSON syntax and finds its message type and,
// for a RECORD, its stream and namespace, without decoding the record body.
// A line that is not a JSON object with a string "type" gives an error that
// wraps ErrNotMessage. An unknown type is not an error: check Type.Known.
//
// It reads the line once, and allocates only the stream and namespace
// strings (and the type of an unknown message).
func ScanEnvelope(line []byte) (Envelope, error) {
	var env Envelope
	if scanEnvelopeFast(line, nil, &env) {
		return env, nil
	}
	return scanEnvelope(line, nil)
}

// ScanEnvelopeAfter is ScanEnvelope for a reader of many records: where
// the record's stream, namespace or partition_id is the same as prev's
// (the previous envelope), it reuses prev's string instead of allocating
// another.
func ScanEnvelopeAfter(line []byte, prev *Envelope) (Envelope, error) {
	var env Envelope
	if scanEnvelopeFast(line, prev, &env) {
		return env, nil
	}
	return scanEnvelope(line, prev)
}

// scanEnvelope is the full scan: every line the fast scan does not vouch
// for comes here, and it alone words the errors.
func scanEnvelope(line []byte, prev *Envelope) (Envelope, error) {
	env := Envelope{Raw: line}
	s := jsonscan.Scanner{Buf: line}
	s.SkipSpace()
	if !s.Eat('{') {
		return env, fmt.Errorf("%w: not a JSON object", ErrNotMessage)
	}
	var stream, namespace, partition []byte // raw JSON strings from "record"
	err := s.Members(func(key []byte) error {
		switch string(key) {
		case "type":
			raw, esc, ok, err := s.RawString()
			if err != nil {
				return err
			}
			if ok {
				env.Type = internType(raw, esc)
				return nil
			}
		case "record":
			s.SkipSpace()
			if s.Pos < len(s.Buf) && s.Buf[s.Pos] == '{' {
				s.Pos++
				var err error
				stream, namespace, partition, err = recordHeader(&s)
				return err
			}
		}
		return s.SkipValue(0)
	})
	if err != nil {
		return env, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	s.SkipSpace()
	if s.Pos != len(s.Buf) {
		return env, fmt.Errorf("%w: trailing data after the JSON object", ErrNotMessage)
	}
	if env.Type == "" {
		return env, fmt.Errorf("%w: no \"type\"", ErrNotMessage)
	}
	if env.Type == TypeRecord {
		if prev == nil {
			prev = &Envelope{}
		}
		env.Stream = jsonStringAfter(stream, prev.Stream)
		env.Namespace = jsonStringAfter(namespace, prev.Namespace)
		env.PartitionID = jsonStringAfter(partition, prev.PartitionID)
	}
	return env, nil
}

// jsonStringAfter is jsonStringValue, returning prev without allocating
// when the value is prev written without escapes.
func jsonStringAfter(raw []byte, prev string) string {
	if len(raw) >= 2 && prev != "" {
		if body := raw[1 : len(raw)-1]; string(body) == prev && bytes.IndexByte(body, '\\') < 0 {
			return prev
		}
	}
	return jsonStringValue(raw)
}

// recordHeader scans the members of a record object after its '{',
// validating them and returning the raw "stream", "namespace" and
// "partition_id" strings. Later duplicates win, as in encoding/json.
func recordHeader(s *jsonscan.Scanner) (stream, namespace, partition []byte, err error) {
	err = s.Members(func(key []byte) error {
		switch string(key) {
		case "stream", "namespace", "partition_id":
			raw, _, ok, err := s.RawString()
			if err != nil {
				return err
			}
			if ok {
				switch string(key) {
				case "stream":
					stream = raw
				case "namespace":
					namespace = raw
				default:
					partition = raw
				}
				return nil
			}
		}
		return s.SkipValue(1)
	})
	return stream, namespace, partition, err
}

// internType returns a message type without allocating for known types.
func internType(raw []byte, escaped bool) Type {
	if !escaped {
		body := raw[1 : len(raw)-1]
		for _, t := range knownTypes {
			if string(body) == string(t) {
				return t
			}
		}
	}
	return Type(jsonStringValue(raw))
}

var knownTypes = []Type{TypeRecord, TypeState, TypeLog, TypeTrace, TypeControl,
	TypeSpec, TypeConnectionStatus, TypeCatalog, TypeDestinationCatalog}

// jsonStringValue returns the value of a valid raw JSON string, or "" for
// nil.
func jsonStringValue(raw []byte) string {
	if len(raw) < 2 {
		return ""
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body)
	}
	var v string
	_ = json.Unmarshal(raw, &v) // raw was validated by the scanner
	return v
}

// Decode fully decodes one line into a Message. Unknown members survive in
// Extra. It checks the envelope rules of docs/protocol.md 2.1: a known type needs
// its payload. An unknown type decodes without error; check Type.Known.
func Decode(line []byte) (*Message, error) {
	var m Message
	// Not json.Unmarshal, which would validate the line once more before
	// calling UnmarshalJSON, whose scanner validates it anyway.
	if err := m.UnmarshalJSON(line); err != nil {
		return nil, err
	}
	if m.Type == "" {
		return nil, fmt.Errorf("%w: no \"type\"", ErrNotMessage)
	}
	if err := m.checkPayload(); err != nil {
		return &m, err
	}
	return &m, nil
}

// checkPayload verifies that a known type carries its payload.
func (m *Message) checkPayload() error {
	missing := false
	switch m.Type {
	case TypeRecord:
		missing = m.Record == nil
	case TypeState:
		missing = m.State == nil
	case TypeLog:
		missing = m.Log == nil
	case TypeSpec:
		missing = m.Spec == nil
	case TypeConnectionStatus:
		missing = m.ConnectionStatus == nil
	case TypeCatalog:
		missing = m.Catalog == nil
	case TypeTrace:
		missing = m.Trace == nil
	case TypeControl:
		missing = m.Control == nil
	case TypeDestinationCatalog:
		missing = len(m.DestinationCatalog) == 0
	}
	if missing {
		return fmt.Errorf("%s message without its payload", m.Type)
	}
	return nil
}

// NonProtocolLog turns a stdout line that is not an Airbyte message into a
// LOG message tagged with the connector's name, as Airbyte does. Lines that
// look like a record are logged at WARN, since dropping one loses data.
// The text is capped at maxLogLineBytes and made valid UTF-8.
func NonProtocolLog(connector string, line []byte) *Log {
	level := LevelInfo
	if LooksLikeRecord(line) {
		level = LevelWarn
	}
	text := line
	truncated := false
	if len(text) > maxLogLineBytes {
		text, truncated = text[:maxLogLineBytes], true
	}
	msg := connector + ": " + string(bytes.ToValidUTF8(text, []byte("\uFFFD")))
	if truncated {
		msg += fmt.Sprintf(" ... [%d bytes truncated]", len(line)-maxLogLineBytes)
	}
	return &Log{Level: level, Message: msg}
}

// maxLogLineBytes caps one non-protocol line in the log (docs/protocol.md 1.4).
const maxLogLineBytes = 16 << 10

// LooksLikeRecord reports whether a malformed line seems to carry a record.
func LooksLikeRecord(line []byte) bool {
	return bytes.Contains(line, []byte(`"RECORD"`))
}

// ValidUTF8 reports whether b is valid UTF-8.
func ValidUTF8(b []byte) bool { return utf8.Valid(b) }

// Writer writes JSONL messages through a buffer. It is not safe for
// concurrent use.
type Writer struct {
	bw *bufio.Writer
}

// NewWriter returns a Writer with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteMessage encodes m as one line.
func (w *Writer) WriteMessage(m *Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return w.WriteLine(b)
}

// WriteLine writes one raw line and its newline.
func (w *Writer) WriteLine(b []byte) error {
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	return w.bw.WriteByte('\n')
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes waiting in the buffer.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

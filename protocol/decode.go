package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Hand-written decoding of the envelope and of records, the two types every
// line goes through. encoding/json validates its whole input on every
// Unmarshal, including the nested call each UnmarshalJSON method makes, so
// a record's data was checked four times and copied twice; here the
// validating scanner reads each member once and only the small payloads
// other than records go through encoding/json. The semantics are those of
// encoding/json with exact key matching: a later duplicate member wins, a
// null leaves a field alone (a json.RawMessage keeps the text "null"), and
// undeclared members (including ones differing from a declared name only
// in case) go to Extra.

// decodeObject scans the object in b, calling member with each key and the
// raw value, and checks that nothing but whitespace follows it.
func decodeObject(b []byte, typeName string, member func(key, raw []byte) error) error {
	s := jsonscan.Scanner{Buf: b}
	s.SkipSpace()
	if !s.Eat('{') {
		if s.Pos < len(b) && bytes.HasPrefix(b[s.Pos:], []byte("null")) {
			s.Pos += 4
			s.SkipSpace()
			if s.Pos == len(b) {
				return nil // null: leave the value alone, as encoding/json does
			}
		}
		return fmt.Errorf("json: cannot unmarshal %s into Go value of type protocol.%s", jsonKind(b), typeName)
	}
	err := s.Members(func(key []byte) error {
		s.SkipSpace()
		start := s.Pos
		if err := s.Skip(1); err != nil {
			return err
		}
		return member(key, b[start:s.Pos])
	})
	if err != nil {
		return fmt.Errorf("protocol.%s: %w", typeName, err)
	}
	s.SkipSpace()
	if s.Pos != len(b) {
		return fmt.Errorf("protocol.%s: invalid character after top-level value", typeName)
	}
	return nil
}

// jsonKind names the kind of JSON value b starts with, for errors.
func jsonKind(b []byte) string {
	b = jsonscan.TrimSpace(b)
	if len(b) == 0 {
		return "empty input"
	}
	switch c := b[0]; {
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == '-' || ('0' <= c && c <= '9'):
		return "number"
	}
	return "invalid JSON"
}

// decodeString sets *dst from a raw JSON string; null leaves it alone.
func decodeString(dst *string, raw []byte, field string) error {
	switch {
	case raw[0] == '"':
		if body := raw[1 : len(raw)-1]; bytes.IndexByte(body, '\\') < 0 && ValidUTF8(body) {
			*dst = string(body)
			return nil
		}
		return json.Unmarshal(raw, dst) // escapes, or bytes to replace as encoding/json does
	case string(raw) == "null":
		return nil
	}
	return fmt.Errorf("json: cannot unmarshal %s into Go struct field %s of type string", jsonKind(raw), field)
}

// rawCopy returns a private copy of a raw value, as json.RawMessage does.
func rawCopy(raw []byte) json.RawMessage {
	return append(json.RawMessage(nil), raw...)
}

// decodeMessage decodes an AirbyteMessage.
func decodeMessage(m *Message, b []byte) error {
	var extra Extra
	err := decodeObject(b, "Message", func(key, raw []byte) error {
		null := string(raw) == "null"
		switch string(key) {
		case "type":
			var t string
			if err := decodeString(&t, raw, "Message.type"); err != nil {
				return err
			}
			if !null {
				m.Type = Type(t)
			}
			return nil
		case "record":
			if null {
				m.Record = nil
				return nil
			}
			if m.Record == nil {
				m.Record = new(Record)
			}
			return decodeRecord(m.Record, raw)
		case "destination_catalog":
			m.DestinationCatalog = rawCopy(raw)
			return nil
		case "log":
			return decodePayload(&m.Log, raw)
		case "spec":
			return decodePayload(&m.Spec, raw)
		case "connectionStatus":
			return decodePayload(&m.ConnectionStatus, raw)
		case "catalog":
			return decodePayload(&m.Catalog, raw)
		case "state":
			return decodePayload(&m.State, raw)
		case "trace":
			return decodePayload(&m.Trace, raw)
		case "control":
			return decodePayload(&m.Control, raw)
		}
		if extra == nil {
			extra = make(Extra)
		}
		extra[string(key)] = rawCopy(raw)
		return nil
	})
	if err != nil {
		return err
	}
	m.Extra = extra
	return nil
}

// decodePayload decodes a payload member through encoding/json, as a
// pointer field: null clears it.
func decodePayload[T any](dst **T, raw []byte) error {
	if string(raw) == "null" {
		*dst = nil
		return nil
	}
	if *dst == nil {
		*dst = new(T)
	}
	return json.Unmarshal(raw, *dst)
}

// decodeRecord decodes an AirbyteRecordMessage.
func decodeRecord(r *Record, b []byte) error {
	var extra Extra
	err := decodeObject(b, "Record", func(key, raw []byte) error {
		switch string(key) {
		case "namespace":
			return decodeString(&r.Namespace, raw, "Record.namespace")
		case "stream":
			return decodeString(&r.Stream, raw, "Record.stream")
		case "partition_id":
			return decodeString(&r.PartitionID, raw, "Record.partition_id")
		case "data":
			r.Data = rawCopy(raw)
			return nil
		case "file_reference":
			r.FileReference = rawCopy(raw)
			return nil
		case "emitted_at":
			return r.EmittedAt.UnmarshalJSON(raw)
		case "meta":
			return decodePayload(&r.Meta, raw)
		}
		if extra == nil {
			extra = make(Extra)
		}
		extra[string(key)] = rawCopy(raw)
		return nil
	})
	if err != nil {
		return err
	}
	r.Extra = extra
	return nil
}

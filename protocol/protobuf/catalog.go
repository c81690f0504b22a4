package protobuf

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
	"github.com/ferrysync/ferry/protocol/pb"
)

// Catalog holds the RecordSchema of every stream of a catalog, for
// converting whole messages. It is immutable and safe for concurrent use.
type Catalog struct {
	// byNamespace maps namespace, then name, to a schema; both lookups can
	// take a []byte converted in place without allocating.
	byNamespace map[string]map[string]*RecordSchema
}

// NewCatalog builds the schemas of the given streams.
func NewCatalog(streams []protocol.Stream) (*Catalog, error) {
	c := &Catalog{byNamespace: make(map[string]map[string]*RecordSchema)}
	for i := range streams {
		st := &streams[i]
		s, err := NewRecordSchema(st.JSONSchema)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", st.Descriptor(), err)
		}
		names := c.byNamespace[st.Namespace]
		if names == nil {
			names = make(map[string]*RecordSchema)
			c.byNamespace[st.Namespace] = names
		}
		names[st.Name] = s
	}
	return c, nil
}

// NewConfiguredCatalog builds the schemas of a configured catalog's
// streams. Both sides must derive them from identical property sets
// (docs/protocol.md 5.5).
func NewConfiguredCatalog(cc *protocol.ConfiguredCatalog) (*Catalog, error) {
	streams := make([]protocol.Stream, len(cc.Streams))
	for i := range cc.Streams {
		streams[i] = cc.Streams[i].Stream
	}
	return NewCatalog(streams)
}

// Schema returns the schema of a stream, or nil.
func (c *Catalog) Schema(d protocol.StreamDescriptor) *RecordSchema {
	return c.byNamespace[d.Namespace][d.Name]
}

// AppendMessageProto converts one JSONL message line to the wire bytes of
// an AirbyteMessageProtobuf (without a length prefix) and appends them to
// dst. A RECORD becomes a positional record; any other message, including
// one of an unknown type, travels as airbyte_protocol_message.
func (c *Catalog) AppendMessageProto(dst, line []byte) ([]byte, ConvertStats, error) {
	return c.appendMessage(dst, line, false)
}

func (c *Catalog) appendMessage(dst, line []byte, framed bool) ([]byte, ConvertStats, error) {
	e := getEncoder(nil) // the schema comes from the record's stream
	defer putEncoder(e)
	s := jsonscan.Scanner{Buf: line}
	s.SkipSpace()
	if !s.Eat('{') {
		return dst, e.stats, fmt.Errorf("%w: not a JSON object", protocol.ErrNotMessage)
	}
	// One pass over the line: "type" comes first in what connectors write,
	// so the record is converted as it is scanned; otherwise it is
	// converted once the type is known.
	var typ typeClass
	var record jsonscan.Span
	converted := false
	convertedAt := -1
	var convErr error
	err := s.Members(func(key []byte) error {
		switch string(key) {
		case "type":
			raw, esc, ok, err := s.RawString()
			if err != nil || ok {
				if ok {
					typ = classifyType(raw, esc)
				}
				return err
			}
		case "record":
			s.SkipSpace()
			start := s.Pos
			if typ == typeRecord && !converted && s.Pos < len(s.Buf) && s.Buf[s.Pos] == '{' {
				// A conversion error is not a syntax error: on one, rescan
				// so the line's own syntax is still checked first.
				converted = true
				if convErr = e.scanRecord(&s, c); convErr == nil {
					record, convertedAt = jsonscan.Span{Start: start, End: s.Pos}, start
					return nil
				}
				s.Pos = start
			}
			if err := s.Skip(0); err != nil {
				return err
			}
			record = jsonscan.Span{Start: start, End: s.Pos}
			return nil
		}
		return s.Skip(0)
	})
	if err != nil {
		return dst, e.stats, fmt.Errorf("%w: %v", protocol.ErrNotMessage, err)
	}
	s.SkipSpace()
	if s.Pos != len(line) {
		return dst, e.stats, fmt.Errorf("%w: trailing data after the JSON object", protocol.ErrNotMessage)
	}
	switch {
	case typ == typeMissing:
		return dst, e.stats, fmt.Errorf("%w: no \"type\"", protocol.ErrNotMessage)
	case typ != typeRecord:
		out, err := appendProtocolMessage(dst, jsonscan.TrimSpace(line), framed)
		return out, ConvertStats{}, err
	case record.End == 0 || string(line[record.Start:record.End]) == "null":
		return dst, e.stats, errors.New("RECORD message without its payload")
	}
	if record.Start != convertedAt {
		// The record came before the type, a conversion failed, or a
		// duplicate "record" member replaced the converted one: convert
		// the last one now.
		e.reset()
		if err := e.fromJSON(line[record.Start:record.End], c); err != nil {
			return dst, e.stats, err
		}
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	return appendRecordEnvelope(dst, e, framed), e.stats, nil
}

// typeClass is what the codec needs to know of a message's "type": the
// converter treats RECORD apart and passes every other type through.
type typeClass uint8

const (
	typeMissing typeClass = iota // absent, or ""
	typeRecord
	typeOther
)

// classifyType classifies a raw "type" string without allocating.
func classifyType(raw []byte, escaped bool) typeClass {
	body := raw[1 : len(raw)-1]
	if escaped {
		var buf [16]byte
		v, ok := jsonscan.Unquote(buf[:0], raw)
		if !ok {
			return typeOther // not valid text: no known type, but present
		}
		body = v
	}
	switch {
	case len(body) == 0:
		return typeMissing
	case string(body) == string(protocol.TypeRecord):
		return typeRecord
	}
	return typeOther
}

// AppendMessageJSON converts the wire bytes of an AirbyteMessageProtobuf
// (without its length prefix) to one JSONL message line, without the
// newline, appended to dst. A probe gives ErrProbe and appends nothing.
func (c *Catalog) AppendMessageJSON(dst, msg []byte) ([]byte, error) {
	out, _, err := c.AppendMessageJSONSpans(dst, msg)
	return out, err
}

// AppendMessageJSONSpans is AppendMessageJSON that also says where the
// record's data, emitted_at and meta sit in the line it appends (offsets
// from the line's start), as the JSONL envelope scan does, so that a
// destination reads a converted record without scanning it.
func (c *Catalog) AppendMessageJSONSpans(dst, msg []byte) ([]byte, protocol.RecordSpans, error) {
	d := decoderPool.Get().(*recordDecoder)
	defer func() { d.reset(); decoderPool.Put(d) }()
	d.reset()
	return c.appendMessageJSON(d, dst, msg)
}

// Converter is AppendMessageJSONSpans for one goroutine that converts
// many messages: it keeps its scratch from one message to the next
// instead of taking it from a pool each time. The zero Converter is
// ready to use.
type Converter struct {
	d recordDecoder
}

// AppendMessageJSONSpans is Catalog.AppendMessageJSONSpans on c's
// scratch.
func (v *Converter) AppendMessageJSONSpans(c *Catalog, dst, msg []byte) ([]byte, protocol.RecordSpans, error) {
	v.d.reset()
	return c.appendMessageJSON(&v.d, dst, msg)
}

// appendMessageJSON is AppendMessageJSONSpans on d, which has been reset.
func (c *Catalog) appendMessageJSON(d *recordDecoder, dst, msg []byte) ([]byte, protocol.RecordSpans, error) {
	if out, spans, ok := c.appendRecordFast(d, dst, msg); ok {
		return out, spans, nil
	}
	return c.appendMessageGeneral(d, dst, msg)
}

// appendMessageGeneral is appendMessageJSON for any message.
func (c *Catalog) appendMessageGeneral(d *recordDecoder, dst, msg []byte) ([]byte, protocol.RecordSpans, error) {
	var spans protocol.RecordSpans
	var member protowire.Number
	var text []byte
	for b := msg; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return dst, spans, err
		}
		b = b[n:]
		if f.typ != protowire.BytesType || f.num < 1 || f.num > 3 {
			continue // unknown
		}
		if member == 1 && f.num != 1 {
			// The record is replaced: proto.Unmarshal still rejects it if
			// it is malformed, so check it before it is dropped.
			if err := d.validate(); err != nil {
				return dst, spans, err
			}
		}
		switch f.num {
		case 1:
			if member != 1 {
				d.reset() // a oneof switch drops the earlier member
			}
			if err := d.merge(f.b); err != nil {
				return dst, spans, err
			}
		case 2:
			if !utf8.Valid(f.b) {
				return dst, spans, errInvalidUTF8
			}
			text = f.b
		case 3:
			if err := checkMessage(f.b); err != nil {
				return dst, spans, err
			}
		}
		member = f.num
	}
	switch member {
	case 1:
		s := d.schemaOf(c, d.namespace, d.stream)
		if s == nil {
			desc := protocol.StreamDescriptor{Name: string(d.stream), Namespace: string(d.namespace)}
			return dst, spans, fmt.Errorf("record of stream %s: %w", desc, ErrUnknownStream)
		}
		d.base = len(dst)
		dst = append(dst, `{"type":"RECORD","record":`...)
		out, err := d.appendJSON(dst, s)
		if err != nil {
			return dst[:len(dst)-len(`{"type":"RECORD","record":`)], spans, err
		}
		return append(out, '}'), d.spans, nil
	case 2:
		out, err := appendRawJSON(dst, text)
		if err != nil {
			return dst, spans, fmt.Errorf("airbyte_protocol_message: %w", err)
		}
		return out, spans, nil
	case 3:
		return dst, spans, ErrProbe
	}
	return dst, spans, errors.New("empty protobuf message: no record, protocol message or probe")
}

// MessageToProto converts one JSONL message line to the generated type.
func (c *Catalog) MessageToProto(line []byte) (*pb.AirbyteMessageProtobuf, ConvertStats, error) {
	b, stats, err := c.AppendMessageProto(nil, line)
	if err != nil {
		return nil, stats, err
	}
	m := new(pb.AirbyteMessageProtobuf)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, stats, err
	}
	return m, stats, nil
}

// MessageFromProto converts a message of the generated type to one JSONL
// line. A probe gives ErrProbe.
func (c *Catalog) MessageFromProto(m *pb.AirbyteMessageProtobuf) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return c.AppendMessageJSON(nil, b)
}

// RecordToProto converts a record to the generated type.
func (s *RecordSchema) RecordToProto(r *protocol.Record) (*pb.AirbyteRecordMessageProtobuf, ConvertStats, error) {
	b, stats, err := s.AppendRecordProtoFrom(nil, r)
	if err != nil {
		return nil, stats, err
	}
	p := new(pb.AirbyteRecordMessageProtobuf)
	if err := proto.Unmarshal(b, p); err != nil {
		return nil, stats, err
	}
	return p, stats, nil
}

// RecordFromProto converts a record of the generated type back to a Record.
func (s *RecordSchema) RecordFromProto(p *pb.AirbyteRecordMessageProtobuf) (*protocol.Record, error) {
	b, err := proto.Marshal(p)
	if err != nil {
		return nil, err
	}
	js, err := s.AppendRecordJSON(nil, b)
	if err != nil {
		return nil, err
	}
	r := new(protocol.Record)
	if err := json.Unmarshal(js, r); err != nil {
		return nil, err
	}
	return r, nil
}

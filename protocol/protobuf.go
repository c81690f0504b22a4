package protocol

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol/pb"
)

// The protobuf codec of socket mode (PROTOCOL.md 5.4, 5.5).
//
// A socket carries AirbyteMessageProtobuf messages, each preceded by its
// length as a base-128 varint (protobuf's writeDelimitedTo). A record
// travels as AirbyteRecordMessageProtobuf with positional values; every
// other message travels as its JSON text in airbyte_protocol_message; a
// probe is an empty message, framed as 02 1a 00.
//
// The codec works on wire bytes directly (ProtoReader.ReadFrame,
// ProtoCatalog.AppendMessageProto and AppendMessageJSON), which allocates
// nothing per message once warm. The generated pb types are available for
// convenience (ProtoReader.Read, MessageToProto, MessageFromProto); they are
// converted through the same wire path, so both give identical results.

// DefaultMaxProtoMessageBytes is the default limit on one protobuf message,
// Airbyte's own default (LOAD/file/ProtobufDataChannelReader.kt).
const DefaultMaxProtoMessageBytes = 256 << 20

// ProbeFrame is a framed probe message: length 2, then field 3 (probe) with
// an empty body.
var ProbeFrame = []byte{0x02, 0x1a, 0x00}

// ErrProbe is returned by AppendMessageJSON and MessageFromProto for a probe:
// a heartbeat with no JSON form, which callers skip.
var ErrProbe = errors.New("probe message")

// ErrUnknownStream is wrapped when a record's stream is not in the
// ProtoCatalog, so its values cannot be placed.
var ErrUnknownStream = errors.New("stream not in the catalog")

// MessageTooLargeError reports a message whose declared length is over the
// reader's limit. Nothing was allocated for it; the reader skips its bytes
// on the next read, so a caller may go on, though a length that large
// usually means the stream is corrupt.
type MessageTooLargeError struct {
	Limit   int    // the configured maximum, in bytes
	Size    uint64 // the declared length
	Message int64  // 1-based message number
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("protobuf message %d declares %d bytes, over the %d-byte limit", e.Message, e.Size, e.Limit)
}

// protoReaderBufferSize is the bufio buffer: messages that fit are returned
// without a copy.
const protoReaderBufferSize = 64 << 10

// ProtoReader reads varint-length-delimited protobuf messages with bounded
// memory: a message larger than the limit is an error before anything is
// allocated, and a large message's buffer grows only as its bytes arrive,
// so a lying length prefix cannot make the reader allocate more than about
// twice what was actually received.
type ProtoReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	skip uint64 // bytes of an over-limit message still to discard
	n    int64
}

// NewProtoReader returns a ProtoReader with the given message limit;
// max <= 0 means DefaultMaxProtoMessageBytes.
func NewProtoReader(r io.Reader, max int) *ProtoReader {
	if max <= 0 {
		max = DefaultMaxProtoMessageBytes
	}
	return &ProtoReader{br: bufio.NewReaderSize(r, protoReaderBufferSize), max: max}
}

// Buffered returns the number of bytes readable without blocking on the
// underlying reader; a consumer batching messages hands a batch on when it
// is 0.
func (r *ProtoReader) Buffered() int { return r.br.Buffered() }

// MessageNumber returns the number of messages read so far, including
// rejected ones.
func (r *ProtoReader) MessageNumber() int64 { return r.n }

// ReadFrame returns the bytes of the next message, without its length
// prefix. The slice is valid only until the next call. At a clean end of
// input it returns io.EOF; input that ends inside a message gives
// io.ErrUnexpectedEOF.
func (r *ProtoReader) ReadFrame() ([]byte, error) {
	if cap(r.buf) > 16<<20 {
		r.buf = nil // do not pin one huge message's memory
	}
	for r.skip > 0 {
		chunk := int(min(r.skip, 1<<30))
		n, err := r.br.Discard(chunk)
		r.skip -= uint64(n)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	size, err := r.readLength()
	if err != nil {
		return nil, err
	}
	r.n++
	if size > uint64(r.max) {
		r.skip = size
		return nil, &MessageTooLargeError{Limit: r.max, Size: size, Message: r.n}
	}
	n := int(size)
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		_, _ = r.br.Discard(n) // cannot fail: Peek has buffered n bytes
		return b, nil
	}
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		// Grow geometrically with what has arrived, not with the claim.
		chunk := min(n-len(r.buf), max(len(r.buf), protoReaderBufferSize))
		start := len(r.buf)
		r.buf = append(r.buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(r.br, r.buf[start:]); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	return r.buf, nil
}

// readLength reads the varint length prefix.
func (r *ProtoReader) readLength() (uint64, error) {
	var x uint64
	for i := 0; ; i++ {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && i == 0 {
				return 0, io.EOF
			}
			return 0, unexpectedEOF(err)
		}
		if i == 9 && c > 1 {
			return 0, fmt.Errorf("protobuf message %d: %w: length varint overflows 64 bits", r.n+1, errBadWire)
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, nil
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Read returns the next message as the generated type. It allocates; the
// hot path is ReadFrame with ProtoCatalog.AppendMessageJSON.
func (r *ProtoReader) Read() (*pb.AirbyteMessageProtobuf, error) {
	b, err := r.ReadFrame()
	if err != nil {
		return nil, err
	}
	m := new(pb.AirbyteMessageProtobuf)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("protobuf message %d: %w", r.n, err)
	}
	return m, nil
}

// ProtoWriter writes length-delimited protobuf messages through a buffer.
// It is not safe for concurrent use.
type ProtoWriter struct {
	bw *bufio.Writer
}

// NewProtoWriter returns a ProtoWriter with a 64 KiB buffer.
func NewProtoWriter(w io.Writer) *ProtoWriter {
	return &ProtoWriter{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteFrame writes the wire bytes of one AirbyteMessageProtobuf with its
// length prefix.
func (w *ProtoWriter) WriteFrame(msg []byte) error {
	b := protowire.AppendVarint(w.bw.AvailableBuffer(), uint64(len(msg)))
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	_, err := w.bw.Write(msg)
	return err
}

// Write writes a message given as the generated type.
func (w *ProtoWriter) Write(m *pb.AirbyteMessageProtobuf) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return w.WriteFrame(b)
}

// WriteProbe writes a probe message.
func (w *ProtoWriter) WriteProbe() error {
	_, err := w.bw.Write(ProbeFrame)
	return err
}

// WriteProtocolMessage writes a JSON AirbyteMessage (any type but a record
// to be sent positionally) as airbyte_protocol_message.
func (w *ProtoWriter) WriteProtocolMessage(line []byte) error {
	b, err := appendProtocolMessage(w.bw.AvailableBuffer(), line, true)
	if err != nil {
		return err
	}
	_, err = w.bw.Write(b)
	return err
}

// WriteRecord converts a record with its stream's schema and writes it.
func (w *ProtoWriter) WriteRecord(s *RecordSchema, r *Record) (ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromRecord(r); err != nil {
		return e.stats, err
	}
	return e.stats, w.writeEncoded(e)
}

// WriteRecordJSON converts the JSON text of a record object (the `record`
// member of a RECORD message) and writes it.
func (w *ProtoWriter) WriteRecordJSON(s *RecordSchema, record []byte) (ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromJSON(record, nil); err != nil {
		return e.stats, err
	}
	return e.stats, w.writeEncoded(e)
}

// WriteMessage converts one JSONL message line with the catalog and writes
// it: a RECORD positionally, anything else as airbyte_protocol_message.
func (w *ProtoWriter) WriteMessage(c *ProtoCatalog, line []byte) (ConvertStats, error) {
	b, stats, err := c.appendMessage(w.bw.AvailableBuffer(), line, true)
	if err != nil {
		return stats, err
	}
	_, err = w.bw.Write(b)
	return stats, err
}

func (w *ProtoWriter) writeEncoded(e *recordEncoder) error {
	if err := e.finish(); err != nil {
		return err
	}
	b := appendRecordEnvelope(w.bw.AvailableBuffer(), e, true)
	_, err := w.bw.Write(b)
	return err
}

// Flush writes buffered data to the underlying writer.
func (w *ProtoWriter) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes waiting in the buffer.
func (w *ProtoWriter) Buffered() int { return w.bw.Buffered() }

// appendRecordEnvelope writes an AirbyteMessageProtobuf holding the
// prepared record, with its length prefix when framed.
func appendRecordEnvelope(dst []byte, e *recordEncoder, framed bool) []byte {
	size := e.size()
	if framed {
		total := 1 + protowire.SizeVarint(uint64(size)) + size
		dst = appendVarint(dst, uint64(total))
	}
	dst = append(dst, 1<<3|byte(protowire.BytesType))
	dst = appendVarint(dst, uint64(size))
	return e.appendTo(dst)
}

// appendProtocolMessage writes an AirbyteMessageProtobuf holding a JSON
// message as airbyte_protocol_message.
func appendProtocolMessage(dst, line []byte, framed bool) ([]byte, error) {
	if !utf8.Valid(line) {
		return dst, errors.New("protocol message is not valid UTF-8")
	}
	if framed {
		total := 1 + protowire.SizeBytes(len(line))
		dst = protowire.AppendVarint(dst, uint64(total))
	}
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	return protowire.AppendBytes(dst, line), nil
}

// ProtoCatalog holds the RecordSchema of every stream of a catalog, for
// converting whole messages. It is immutable and safe for concurrent use.
type ProtoCatalog struct {
	// byNamespace maps namespace, then name, to a schema; both lookups can
	// take a []byte converted in place without allocating.
	byNamespace map[string]map[string]*RecordSchema
}

// NewProtoCatalog builds the schemas of the given streams.
func NewProtoCatalog(streams []Stream) (*ProtoCatalog, error) {
	c := &ProtoCatalog{byNamespace: make(map[string]map[string]*RecordSchema)}
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

// NewConfiguredProtoCatalog builds the schemas of a configured catalog's
// streams. Both sides must derive them from identical property sets
// (PROTOCOL.md 5.5).
func NewConfiguredProtoCatalog(cc *ConfiguredCatalog) (*ProtoCatalog, error) {
	streams := make([]Stream, len(cc.Streams))
	for i := range cc.Streams {
		streams[i] = cc.Streams[i].Stream
	}
	return NewProtoCatalog(streams)
}

// Schema returns the schema of a stream, or nil.
func (c *ProtoCatalog) Schema(d StreamDescriptor) *RecordSchema {
	return c.byNamespace[d.Namespace][d.Name]
}

// AppendMessageProto converts one JSONL message line to the wire bytes of
// an AirbyteMessageProtobuf (without a length prefix) and appends them to
// dst. A RECORD becomes a positional record; any other message, including
// one of an unknown type, travels as airbyte_protocol_message.
func (c *ProtoCatalog) AppendMessageProto(dst, line []byte) ([]byte, ConvertStats, error) {
	return c.appendMessage(dst, line, false)
}

func (c *ProtoCatalog) appendMessage(dst, line []byte, framed bool) ([]byte, ConvertStats, error) {
	e := getEncoder(nil) // the schema comes from the record's stream
	defer putEncoder(e)
	s := scanner{b: line}
	s.ws()
	if !s.eat('{') {
		return dst, e.stats, fmt.Errorf("%w: not a JSON object", ErrNotMessage)
	}
	// One pass over the line: "type" comes first in what connectors write,
	// so the record is converted as it is scanned; otherwise it is
	// converted once the type is known.
	var typ Type
	var record span
	converted := false
	convertedAt := -1
	var convErr error
	err := s.members(func(key []byte) error {
		switch string(key) {
		case "type":
			raw, esc, ok, err := s.rawString()
			if err != nil || ok {
				if ok {
					typ = internType(raw, esc)
				}
				return err
			}
		case "record":
			s.ws()
			start := s.i
			if typ == TypeRecord && !converted && s.i < len(s.b) && s.b[s.i] == '{' {
				// A conversion error is not a syntax error: on one, rescan
				// so the line's own syntax is still checked first.
				converted = true
				if convErr = e.scanRecord(&s, c); convErr == nil {
					record, convertedAt = span{start, s.i}, start
					return nil
				}
				s.i = start
			}
			if err := s.skipValue(0); err != nil {
				return err
			}
			record = span{start, s.i}
			return nil
		}
		return s.skipValue(0)
	})
	if err != nil {
		return dst, e.stats, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	s.ws()
	if s.i != len(line) {
		return dst, e.stats, fmt.Errorf("%w: trailing data after the JSON object", ErrNotMessage)
	}
	switch {
	case typ == "":
		return dst, e.stats, fmt.Errorf("%w: no \"type\"", ErrNotMessage)
	case typ != TypeRecord:
		out, err := appendProtocolMessage(dst, trimSpace(line), framed)
		return out, ConvertStats{}, err
	case record.end == 0 || string(line[record.start:record.end]) == "null":
		return dst, e.stats, errors.New("RECORD message without its payload")
	}
	if record.start != convertedAt {
		// The record came before the type, a conversion failed, or a
		// duplicate "record" member replaced the converted one: convert
		// the last one now.
		e.reset()
		if err := e.fromJSON(line[record.start:record.end], c); err != nil {
			return dst, e.stats, err
		}
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	return appendRecordEnvelope(dst, e, framed), e.stats, nil
}

// AppendMessageJSON converts the wire bytes of an AirbyteMessageProtobuf
// (without its length prefix) to one JSONL message line, without the
// newline, appended to dst. A probe gives ErrProbe and appends nothing.
func (c *ProtoCatalog) AppendMessageJSON(dst, msg []byte) ([]byte, error) {
	d := decoderPool.Get().(*recordDecoder)
	defer func() { d.reset(); decoderPool.Put(d) }()
	d.reset()
	var member protowire.Number
	var text []byte
	for b := msg; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return dst, err
		}
		b = b[n:]
		if f.typ != protowire.BytesType || f.num < 1 || f.num > 3 {
			continue // unknown
		}
		if member == 1 && f.num != 1 {
			// The record is replaced: proto.Unmarshal still rejects it if
			// it is malformed, so check it before it is dropped.
			if err := d.validate(); err != nil {
				return dst, err
			}
		}
		switch f.num {
		case 1:
			if member != 1 {
				d.reset() // a oneof switch drops the earlier member
			}
			if err := d.merge(f.b); err != nil {
				return dst, err
			}
		case 2:
			if !utf8.Valid(f.b) {
				return dst, errInvalidUTF8
			}
			text = f.b
		case 3:
			if err := checkMessage(f.b); err != nil {
				return dst, err
			}
		}
		member = f.num
	}
	switch member {
	case 1:
		s := c.byNamespace[string(d.namespace)][string(d.stream)]
		if s == nil {
			desc := StreamDescriptor{Name: string(d.stream), Namespace: string(d.namespace)}
			return dst, fmt.Errorf("record of stream %s: %w", desc, ErrUnknownStream)
		}
		dst = append(dst, `{"type":"RECORD","record":`...)
		out, err := d.appendJSON(dst, s)
		if err != nil {
			return dst[:len(dst)-len(`{"type":"RECORD","record":`)], err
		}
		return append(out, '}'), nil
	case 2:
		out, err := appendRawJSON(dst, text)
		if err != nil {
			return dst, fmt.Errorf("airbyte_protocol_message: %w", err)
		}
		return out, nil
	case 3:
		return dst, ErrProbe
	}
	return dst, errors.New("empty protobuf message: no record, protocol message or probe")
}

// MessageToProto converts one JSONL message line to the generated type.
func (c *ProtoCatalog) MessageToProto(line []byte) (*pb.AirbyteMessageProtobuf, ConvertStats, error) {
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
func (c *ProtoCatalog) MessageFromProto(m *pb.AirbyteMessageProtobuf) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return c.AppendMessageJSON(nil, b)
}

// RecordToProto converts a record to the generated type.
func (s *RecordSchema) RecordToProto(r *Record) (*pb.AirbyteRecordMessageProtobuf, ConvertStats, error) {
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
func (s *RecordSchema) RecordFromProto(p *pb.AirbyteRecordMessageProtobuf) (*Record, error) {
	b, err := proto.Marshal(p)
	if err != nil {
		return nil, err
	}
	js, err := s.AppendRecordJSON(nil, b)
	if err != nil {
		return nil, err
	}
	r := new(Record)
	if err := json.Unmarshal(js, r); err != nil {
		return nil, err
	}
	return r, nil
}

package protobuf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
)

// Writer writes length-delimited protobuf messages through a buffer.
// It is not safe for concurrent use.
type Writer struct {
	bw *bufio.Writer
}

// NewWriter returns a Writer with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteFrame writes the wire bytes of one AirbyteMessageProtobuf with its
// length prefix.
func (w *Writer) WriteFrame(msg []byte) error {
	b := protowire.AppendVarint(w.bw.AvailableBuffer(), uint64(len(msg)))
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	_, err := w.bw.Write(msg)
	return err
}

// Write writes a message given as the generated type.
func (w *Writer) Write(m *pb.AirbyteMessageProtobuf) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return w.WriteFrame(b)
}

// WriteProbe writes a probe message.
func (w *Writer) WriteProbe() error {
	_, err := w.bw.Write(ProbeFrame)
	return err
}

// WriteProtocolMessage writes a JSON AirbyteMessage (any type but a record
// to be sent positionally) as airbyte_protocol_message.
func (w *Writer) WriteProtocolMessage(line []byte) error {
	b, err := appendProtocolMessage(w.bw.AvailableBuffer(), line, true)
	if err != nil {
		return err
	}
	_, err = w.bw.Write(b)
	return err
}

// WriteRecord converts a record with its stream's schema and writes it.
func (w *Writer) WriteRecord(s *RecordSchema, r *protocol.Record) (ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromRecord(r); err != nil {
		return e.stats, err
	}
	return e.stats, w.writeEncoded(e)
}

// WriteRecordJSON converts the JSON text of a record object (the `record`
// member of a RECORD message) and writes it.
func (w *Writer) WriteRecordJSON(s *RecordSchema, record []byte) (ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromJSON(record, nil); err != nil {
		return e.stats, err
	}
	return e.stats, w.writeEncoded(e)
}

// WriteMessage converts one JSONL message line with the catalog and writes
// it: a RECORD positionally, anything else as airbyte_protocol_message.
func (w *Writer) WriteMessage(c *Catalog, line []byte) (ConvertStats, error) {
	b, stats, err := c.appendMessage(w.bw.AvailableBuffer(), line, true)
	if err != nil {
		return stats, err
	}
	_, err = w.bw.Write(b)
	return stats, err
}

func (w *Writer) writeEncoded(e *recordEncoder) error {
	if err := e.finish(); err != nil {
		return err
	}
	b := appendRecordEnvelope(w.bw.AvailableBuffer(), e, true)
	_, err := w.bw.Write(b)
	return err
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes waiting in the buffer.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

// envelopeRoom is the most the lengths and the tag before a record body
// take: two varints and a byte.
var envelopeRoom [2*binary.MaxVarintLen64 + 1]byte

// envelopeGuess is the body size the room before a record is made for
// when there is no previous record to go by: any body of 128 bytes to 16
// KiB needs the same room, so such a record, the costly kind to move,
// does not move.
const envelopeGuess = 1 << 10

// appendRecordEnvelope writes an AirbyteMessageProtobuf holding the
// prepared record, with its length prefix when framed. The body is
// written once, after room for the lengths a body of envelopeGuess bytes
// needs; they go in front of it when its size is known. A body whose
// lengths take more or less room moves to fit them.
func appendRecordEnvelope(dst []byte, e *recordEncoder, framed bool) []byte {
	var hdr [len(envelopeRoom)]byte
	dst, _ = appendRecordEnvelopeRoom(dst, e, framed, len(envelopeHeader(hdr[:0], envelopeGuess, framed)))
	return dst
}

// appendRecordEnvelopeRoom is appendRecordEnvelope leaving room bytes for
// the lengths: when they take exactly that, as a guess from the stream's
// previous record mostly makes them, the body does not move. It returns
// the room they took, the next record's guess.
func appendRecordEnvelopeRoom(dst []byte, e *recordEncoder, framed bool, room int) ([]byte, int) {
	start := len(dst)
	dst = append(dst, envelopeRoom[:room]...)
	body := len(dst)
	dst = e.appendTo(dst)
	size := len(dst) - body
	var hdr [len(envelopeRoom)]byte
	h := envelopeHeader(hdr[:0], size, framed)
	n := len(h)
	switch {
	case n > room: // the body moves up
		dst = append(dst, envelopeRoom[:n-room]...)
		copy(dst[start+n:], dst[body:body+size])
	case n < room:
		copy(dst[start+n:], dst[body:])
	}
	copy(dst[start:], h)
	return dst[:start+n+size], n
}

// envelopeHeader appends the lengths and the tag before a record body of
// size bytes.
func envelopeHeader(h []byte, size int, framed bool) []byte {
	if framed {
		h = appendVarint(h, uint64(1+protowire.SizeVarint(uint64(size))+size))
	}
	h = append(h, 1<<3|byte(protowire.BytesType))
	return appendVarint(h, uint64(size))
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

package protobuf

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol/pb"
)

// DefaultMaxMessageBytes is the default limit on one protobuf message,
// Airbyte's own default (LOAD/file/ProtobufDataChannelReader.kt).
const DefaultMaxMessageBytes = 256 << 20

// ProbeFrame is a framed probe message: length 2, then field 3 (probe) with
// an empty body.
var ProbeFrame = []byte{0x02, 0x1a, 0x00}

// ErrProbe is returned by AppendMessageJSON and MessageFromProto for a probe:
// a heartbeat with no JSON form, which callers skip.
var ErrProbe = errors.New("probe message")

// ErrUnknownStream is wrapped when a record's stream is not in the
// Catalog, so its values cannot be placed.
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

// readerBufferSize is the bufio buffer: messages that fit are returned
// without a copy.
const readerBufferSize = 64 << 10

// Reader reads varint-length-delimited protobuf messages with bounded
// memory: a message larger than the limit is an error before anything is
// allocated, and a large message's buffer grows only as its bytes arrive,
// so a lying length prefix cannot make the reader allocate more than about
// twice what was actually received.
type Reader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	skip uint64 // bytes of an over-limit message still to discard
	n    int64
}

// NewReader returns a Reader with the given message limit;
// max <= 0 means DefaultMaxMessageBytes.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &Reader{br: bufio.NewReaderSize(r, readerBufferSize), max: max}
}

// Buffered returns the number of bytes readable without blocking on the
// underlying reader; a consumer batching messages hands a batch on when it
// is 0.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// MessageNumber returns the number of messages read so far, including
// rejected ones.
func (r *Reader) MessageNumber() int64 { return r.n }

// ReadFrame returns the bytes of the next message, without its length
// prefix. The slice is valid only until the next call. At a clean end of
// input it returns io.EOF; input that ends inside a message gives
// io.ErrUnexpectedEOF.
func (r *Reader) ReadFrame() ([]byte, error) {
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
	if cap(r.buf) >= n {
		r.buf = r.buf[:n]
		if _, err := io.ReadFull(r.br, r.buf); err != nil {
			return nil, unexpectedEOF(err)
		}
		return r.buf, nil
	}
	return r.readLarge(n)
}

// frameChunk is the size of the chunks a large message waits in.
const frameChunk = 1 << 20

// readLarge reads a message larger than the buffer. Its bytes wait in
// chunks allocated as they arrive, so a lying length prefix costs no more
// than what was sent; once all have arrived they are copied into a buffer
// of the message's exact size. That is twice the message in all, where
// growing one buffer as bytes arrive cost every step's copy besides.
func (r *Reader) readLarge(n int) ([]byte, error) {
	chunks := make([][]byte, 0, n/frameChunk+1)
	for got := 0; got < n; {
		c := make([]byte, min(n-got, frameChunk))
		if _, err := io.ReadFull(r.br, c); err != nil {
			return nil, unexpectedEOF(err)
		}
		chunks = append(chunks, c)
		got += len(c)
	}
	r.buf = make([]byte, 0, n)
	for i, c := range chunks {
		r.buf = append(r.buf, c...)
		chunks[i] = nil // let the chunk go as soon as it is copied
	}
	return r.buf, nil
}

// readLength reads the varint length prefix.
func (r *Reader) readLength() (uint64, error) {
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
// hot path is ReadFrame with Catalog.AppendMessageJSON.
func (r *Reader) Read() (*pb.AirbyteMessageProtobuf, error) {
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

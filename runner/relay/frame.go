// Package relay carries the bytes of a source's Unix sockets over one
// stream: the standard output of the relay container (cmd/ferry-relay),
// which Ferry attaches to through the Docker Engine API. It is how bridged
// mode works when Ferry cannot reach the socket volume itself, e.g. when
// Ferry runs in a container of its own (docs/design.md, bridged mode).
//
// The stream is a sequence of frames:
//
//	kind   1 byte   'C' connected, 'D' data, 'E' end of the socket, 'X' error
//	socket 2 bytes  the socket's index (0-based), big-endian
//	length 4 bytes  the payload's length, big-endian
//	payload
//
// The frames of one socket keep the order of its bytes, and a socket's
// data never travels in another socket's frames, so Ferry reads each socket
// as if it were connected to it: what bridged mode's ordering rules need
// (a partition lives on one socket).
//
// The package imports only the standard library: the relay binary is a
// few megabytes FROM scratch.
package relay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame kinds.
const (
	KindConnected byte = 'C'
	KindData      byte = 'D'
	KindEnd       byte = 'E'
	KindError     byte = 'X'
)

// HeaderSize is the length of a frame header.
const HeaderSize = 7

// MaxPayload bounds one frame's payload. The relay writes data frames of at
// most ChunkSize; the bound only protects Ferry from a corrupt stream.
const MaxPayload = 1 << 20

// ChunkSize is the most the relay reads from a socket into one frame: big
// enough that the header and the write per frame cost little, small enough
// that sockets interleave.
const ChunkSize = 128 << 10

// MaxSockets is the most sockets one relay carries (a socket count is
// capped at 1024 by mode selection).
const MaxSockets = 1 << 16

// putHeader writes a frame header into h.
func putHeader(h []byte, kind byte, socket int, n int) {
	h[0] = kind
	binary.BigEndian.PutUint16(h[1:3], uint16(socket))
	binary.BigEndian.PutUint32(h[3:7], uint32(n))
}

// frame is one decoded frame; payload is valid until the next read.
type frame struct {
	kind    byte
	socket  int
	payload []byte
}

// frameReader decodes frames.
type frameReader struct {
	r   io.Reader
	hdr [HeaderSize]byte
	buf []byte
}

// next reads one frame. It returns io.EOF at a clean end between frames
// and io.ErrUnexpectedEOF inside one.
func (fr *frameReader) next() (frame, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return frame{}, err
	}
	f := frame{kind: fr.hdr[0], socket: int(binary.BigEndian.Uint16(fr.hdr[1:3]))}
	n := binary.BigEndian.Uint32(fr.hdr[3:7])
	switch f.kind {
	case KindConnected, KindData, KindEnd, KindError:
	default:
		return frame{}, fmt.Errorf("relay stream: unknown frame kind %q", f.kind)
	}
	if n > MaxPayload {
		return frame{}, fmt.Errorf("relay stream: a frame of %d bytes, over the limit of %d", n, MaxPayload)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	f.payload = fr.buf[:n]
	if _, err := io.ReadFull(fr.r, f.payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, err
	}
	return f, nil
}

// Package podpump is stdio mode's pump inside a Kubernetes pod (runner/kube):
// a container of Ferry's relay image (cmd/ferry-relay pump) reads the
// source's stdout from a FIFO, forwards the records to the destination's
// stdin, another FIFO, and sends Ferry everything else. The records never
// cross the pod's boundary; Ferry keeps the books from what the pump
// reports, as if it pumped them itself (README, "Stdio mode keeps the records in the pod").
//
// Ferry and the pump speak frames over the pump container's stdio, which
// Ferry attaches to through the Kubernetes API:
//
//	kind    1 byte
//	length  4 bytes, big-endian
//	payload
//
// From the pump (its stdout): UpCounts, UpLine, UpState, UpNote, UpFault,
// UpBlocked, UpUnblocked, UpUnread, UpEnd. From Ferry (its stdin):
// DownPlan first, then DownWrite, DownResume, DownClose, DownSourceEnded,
// DownDestinationEnded. The pump exits when its stdin ends.
//
// The package imports only the standard library, the protocol package and
// x/sys: the relay binary stays small.
package podpump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Frames from the pump to Ferry.
const (
	// UpCounts: records forwarded since the last counts, as JSON
	// [[rule index, records, bytes], ...]. Sent before any other frame
	// that follows those records, and whenever the pump waits for the
	// source.
	UpCounts byte = 'C'
	// UpLine: a source line that is neither a RECORD nor a STATE, or not
	// a protocol message at all; Ferry handles it as its own pump would.
	UpLine byte = 'L'
	// UpState: a STATE line. Every record before it reached the
	// destination's stdin; the pump forwards nothing more until
	// DownResume, so what Ferry writes for the state comes first.
	UpState byte = 'S'
	// UpNote: a Note (JSON).
	UpNote byte = 'N'
	// UpFault: a Fault (JSON) that fails the attempt; the pump forwards
	// no more records and drains the source.
	UpFault byte = 'F'
	// UpBlocked: a write to the destination has been blocked for
	// BlockedAfter; UpUnblocked: it returned.
	UpBlocked   byte = 'B'
	UpUnblocked byte = 'b'
	// UpUnread answers DownDestinationEnded: the bytes written to the
	// destination's stdin that it never read, in decimal.
	UpUnread byte = 'U'
	// UpEnd: the source's output ended; every frame about it came first.
	UpEnd byte = 'Z'
)

// Frames from Ferry to the pump.
const (
	// DownPlan: the Plan (JSON), first and once.
	DownPlan byte = 'P'
	// DownWrite: bytes for the destination's stdin (states, COMPLETE
	// statuses), written in order with the records.
	DownWrite byte = 'W'
	// DownResume: Ferry handled the last UpState.
	DownResume byte = 'R'
	// DownClose: the end of the destination's input.
	DownClose byte = 'X'
	// DownSourceEnded: the source's container has ended, so its output
	// ends once the pump has read what it wrote.
	DownSourceEnded byte = 'E'
	// DownDestinationEnded: the destination's container has ended; the
	// pump answers UpUnread and writes nothing more.
	DownDestinationEnded byte = 'D'
	// DownHalt: Ferry stopped the data path (a failure of its own): no
	// more record goes to the destination, as Ferry's own pump would
	// stop forwarding. Ferry's writes (DownWrite) still go.
	DownHalt byte = 'H'
)

// headerSize is the length of a frame header.
const headerSize = 5

// maxFrame bounds a frame's payload, against a corrupt stream: a line is
// at most the plan's MaxLine, which the runner bounds far below this.
const maxFrame = 1 << 30

// Note is something the pump dropped, for the attempt's log.
type Note struct {
	// Warn is logged as a warning; otherwise it is a finding's note.
	Warn    bool   `json:"warn,omitempty"`
	Message string `json:"message"`
}

// Writer writes frames; it is safe for concurrent use, each frame whole.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	hdr [headerSize]byte
	err error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Send writes one frame. After a failed write every Send fails the same.
func (fw *Writer) Send(kind byte, payload []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err != nil {
		return fw.err
	}
	fw.hdr[0] = kind
	binary.BigEndian.PutUint32(fw.hdr[1:], uint32(len(payload)))
	if len(payload) <= 4096 {
		// One write for small frames: the common case, and a frame is
		// then never split between two writes of a pipe.
		buf := make([]byte, 0, headerSize+len(payload))
		buf = append(append(buf, fw.hdr[:]...), payload...)
		_, fw.err = fw.w.Write(buf)
		return fw.err
	}
	if _, fw.err = fw.w.Write(fw.hdr[:]); fw.err == nil {
		_, fw.err = fw.w.Write(payload)
	}
	return fw.err
}

// Reader reads frames.
type Reader struct {
	r   io.Reader
	hdr [headerSize]byte
	buf []byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next reads one frame; payload is valid until the next call. It returns
// io.EOF at a clean end between frames and io.ErrUnexpectedEOF inside one.
func (fr *Reader) Next() (kind byte, payload []byte, err error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("pump stream: a frame of %d bytes, over the limit of %d", n, maxFrame)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	payload = fr.buf[:n]
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	if cap(fr.buf) > 1<<20 && n < 64<<10 {
		fr.buf = nil // a huge line passed: do not keep its buffer
	}
	return fr.hdr[0], payload, nil
}

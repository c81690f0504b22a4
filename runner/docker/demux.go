package docker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ferrysync/ferry/runner"
)

// demux splits an attach stream (no TTY) into the container's stdout and
// stderr. An out that takes its output as a stream (runner.OutputTaker,
// the sync engine's) gets a reader of the stdout frames' payloads, read
// in place from the connection; others get the bytes written, as
// stdcopy.StdCopy does. On a failure the rest of the stream is drained.
func demux(out, errOut io.Writer, stream io.Reader) error {
	if out == nil {
		out = io.Discard
	}
	if errOut == nil {
		errOut = io.Discard
	}
	var err error
	if t, ok := out.(runner.OutputTaker); ok {
		err = t.TakeOutput(&frameReader{s: stream, errOut: errOut})
	} else {
		_, err = stdcopy.StdCopy(out, errOut, stream)
	}
	if err != nil {
		io.Copy(io.Discard, stream)
	}
	return err
}

// frameReader reads the payloads of an attach stream's stdout frames and
// writes those of its stderr frames to errOut as it meets them, so the two
// keep their order as StdCopy keeps it. Each frame is an 8-byte header
// (the stream: 0 stdin, 1 stdout, 2 stderr, 3 an error of the engine's;
// three zero bytes; the payload's size, big-endian) and the payload.
type frameReader struct {
	s      io.Reader
	errOut io.Writer
	left   int // unread bytes of the current stdout frame
	hdr    [8]byte
}

func (f *frameReader) Read(p []byte) (int, error) {
	for f.left == 0 {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.s.Read(p)
	f.left -= n
	if errors.Is(err, io.EOF) && f.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads a frame's header and handles every frame that is not stdout.
// A stream that ends between frames ends cleanly (io.EOF).
func (f *frameReader) next() error {
	if _, err := io.ReadFull(f.s, f.hdr[:]); err != nil {
		return err // io.EOF between frames, io.ErrUnexpectedEOF within a header
	}
	size := int64(binary.BigEndian.Uint32(f.hdr[4:]))
	switch stdcopy.StdType(f.hdr[0]) {
	case stdcopy.Stdin, stdcopy.Stdout:
		f.left = int(size)
		return nil
	case stdcopy.Stderr:
		if n, err := io.CopyN(f.errOut, f.s, size); err != nil {
			if errors.Is(err, io.EOF) && n < size {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		return nil
	case stdcopy.Systemerr:
		msg, err := io.ReadAll(io.LimitReader(f.s, size))
		if err != nil {
			return err
		}
		return fmt.Errorf("error from the engine in the stream: %s", msg)
	}
	return fmt.Errorf("unknown stream %d in an attach stream's frame header", f.hdr[0])
}

package runner

import (
	"errors"
	"os"
	"syscall"
)

// pipeSize is the kernel buffer asked for on Linux: 1 MiB instead of 64
// KiB means fewer wake-ups per byte between connector, Ferry and connector.
const pipeSize = 1 << 20

// newPipe returns an OS pipe. Sync joins the connectors with OS pipes
// rather than io.Pipe: a runtime that starts processes (the local runtime)
// hands the file to the child, so the connector writes straight into the
// pipe Ferry reads, with no copying goroutine in between. Both ends are
// pollable, so closing one wakes a goroutine blocked on the other.
func newPipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	growPipe(w)
	return r, w, nil
}

// isBrokenPipe reports a write to a pipe nobody reads any more: the
// destination exited.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, errDestinationExited)
}

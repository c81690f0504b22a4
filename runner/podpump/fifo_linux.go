package podpump

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fifoSize is the FIFOs' buffer, as Ferry's own pipes (best effort).
const fifoSize = 1 << 20

// MakeFIFO creates the FIFO at path, readable and writable by every user
// (the connectors run as any uid), unless it exists. The pump and the
// shim both call it: whichever comes first makes it.
func MakeFIFO(path string) error {
	if err := unix.Mkfifo(path, 0o666); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("make FIFO %s: %w", path, err)
	}
	// The umask may have cut the mode.
	if err := os.Chmod(path, 0o666); err != nil && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("make FIFO %s: %w", path, err)
	}
	return nil
}

// openBoth makes the FIFO at path and opens both of its ends for the
// pump, non-blocking (the read end first: a write-only non-blocking open
// fails without a reader).
func openBoth(path string) (rfd, wfd int, err error) {
	if err := MakeFIFO(path); err != nil {
		return -1, -1, err
	}
	rfd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("open %s: %w", path, err)
	}
	wfd, err = unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(rfd)
		return -1, -1, fmt.Errorf("open %s: %w", path, err)
	}
	return rfd, wfd, nil
}

// OpenSource opens the FIFO the source writes its stdout to. The pump
// also holds a writer of its own, so that the reader sees no end before
// release is called: a source that has not opened its end yet, or whose
// shim is still starting, is not an ended source. Ferry tells the pump
// when the source's container has ended (DownSourceEnded).
func OpenSource(path string) (r *os.File, release func(), err error) {
	rfd, wfd, err := openBoth(path)
	if err != nil {
		return nil, nil, err
	}
	unix.FcntlInt(uintptr(rfd), unix.F_SETPIPE_SZ, fifoSize) //nolint:errcheck // best effort
	// Non-blocking: os.NewFile makes it pollable, so a Close wakes a read.
	r = os.NewFile(uintptr(rfd), path)
	w := os.NewFile(uintptr(wfd), path)
	return r, func() { w.Close() }, nil
}

// OpenDestination opens the FIFO the destination reads its stdin from,
// for writing. The pump holds a reader of its own too, so a write never
// fails for want of a reader (the destination not started yet) and the
// bytes the destination left unread can be counted after it ended
// (unread); Ferry tells the pump when it ended (DownDestinationEnded),
// and closing w then wakes a write blocked on the FIFO.
func OpenDestination(path string) (w *os.File, unread func() (int, error), err error) {
	rfd, wfd, err := openBoth(path)
	if err != nil {
		return nil, nil, err
	}
	unix.FcntlInt(uintptr(wfd), unix.F_SETPIPE_SZ, fifoSize) //nolint:errcheck // best effort
	w = os.NewFile(uintptr(wfd), path)
	unread = func() (int, error) { return unix.IoctlGetInt(rfd, unix.TIOCINQ) }
	// The destination's shim opens its end only once the pump's is
	// open (OpenInput): were it first, it would read an end at once.
	if err := os.WriteFile(readyPath(path), nil, 0o644); err != nil {
		w.Close()
		unix.Close(rfd)
		return nil, nil, fmt.Errorf("mark %s ready: %w", path, err)
	}
	return w, unread, nil
}

func readyPath(fifo string) string { return fifo + ".ready" }

// fifoPoll is how often a connector's shim looks again for the pump's end
// of a FIFO. Nothing signals a FIFO's other end opening, and a blocking
// open could not be interrupted by a stop.
const fifoPoll = 10 * time.Millisecond

// OpenOutput opens the FIFO a connector writes its stdout to, once the
// pump's reader is there, as a blocking file for the connector. It gives
// up when stop is closed.
func OpenOutput(path string, stop <-chan struct{}) (*os.File, error) {
	if err := MakeFIFO(path); err != nil {
		return nil, err
	}
	for {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			return blocking(fd, path)
		}
		if !errors.Is(err, unix.ENXIO) { // ENXIO: no reader yet
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if !wait(stop) {
			return nil, errStopped
		}
	}
}

// OpenInput opens the FIFO a connector reads its stdin from, once the
// pump has opened its writer (OpenDestination marks it), as a blocking
// file for the connector. A plain blocking open would wait for a writer
// forever if the pump's had come and gone already (a destination that
// starts after the whole input was written); opening it read-write first
// makes the read-only open return at once, and the connector then reads
// what the pump left, then the end. It gives up when stop is closed.
func OpenInput(path string, stop <-chan struct{}) (*os.File, error) {
	for {
		if _, err := os.Stat(readyPath(path)); err == nil {
			break
		}
		if !wait(stop) {
			return nil, errStopped
		}
	}
	hold, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(hold)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return blocking(fd, path)
}

var errStopped = errors.New("stopped while waiting for the pump")

// ErrStopped reports whether err is OpenInput's or OpenOutput's stop.
func ErrStopped(err error) bool { return errors.Is(err, errStopped) }

func wait(stop <-chan struct{}) bool {
	t := time.NewTimer(fifoPoll)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// blocking clears O_NONBLOCK, as connectors expect of their stdio.
func blocking(fd int, path string) (*os.File, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

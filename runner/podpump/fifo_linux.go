package podpump

import (
	"errors"
	"fmt"
	"os"

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

// OpenSource opens the FIFO the source writes its stdout to. The pump
// also holds a writer of its own, so that the reader sees no end before
// release is called: a source that has not opened its end yet, or whose
// shim is still starting, is not an ended source. Ferry tells the pump
// when the source's container has ended (DownSourceEnded).
func OpenSource(path string) (r *os.File, release func(), err error) {
	if err := MakeFIFO(path); err != nil {
		return nil, nil, err
	}
	rfd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	wfd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(rfd)
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
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
	if err := MakeFIFO(path); err != nil {
		return nil, nil, err
	}
	rfd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	wfd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(rfd)
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	unix.FcntlInt(uintptr(wfd), unix.F_SETPIPE_SZ, fifoSize) //nolint:errcheck // best effort
	w = os.NewFile(uintptr(wfd), path)
	unread = func() (int, error) { return unix.IoctlGetInt(rfd, unix.TIOCINQ) }
	return w, unread, nil
}

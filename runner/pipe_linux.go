package runner

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe enlarges the pipe's buffer; failing to is harmless (the system
// limit may be lower), so the error is ignored.
func growPipe(f *os.File) {
	if sc, err := f.SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) }) //nolint:errcheck
	}
}

// unreadBytes returns how many bytes wait unread in a pipe (FIONREAD, named
// TIOCINQ on Linux).
func unreadBytes(f *os.File) int {
	n := 0
	if sc, err := f.SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }) //nolint:errcheck
	}
	return n
}

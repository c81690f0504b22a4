package podpump

import (
	"os"

	"golang.org/x/sys/unix"
)

// unreadOf is the bytes waiting in a pipe.
func unreadOf(f *os.File) int {
	n, _ := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ)
	return n
}

// openForTest opens a FIFO as a connector's shim does.
func openForTest(path string, read bool) (*os.File, error) {
	flag := os.O_WRONLY
	if read {
		flag = os.O_RDONLY
	}
	return os.OpenFile(path, flag, 0)
}

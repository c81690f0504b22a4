package local

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// waitLeader blocks until the process has exited but leaves it unreaped
// (waitid with WNOWAIT), so it returns a nil state. While the leader is a
// zombie its pid, and so its process group id, cannot be reused, which makes
// the group kill that follows safe.
func waitLeader(p *os.Process) (*os.ProcessState, error) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return nil, err
		}
	}
}

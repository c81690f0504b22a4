package local

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal makes the kernel SIGKILL the connector when Ferry
// dies (kill -9 included), so a crashed daemon leaves no orphan process:
// unlike containers, processes carry no labels a later sweep could find.
// The signal follows the OS thread that started the child; Go keeps that
// thread alive unless a goroutine locked to it exits, which Ferry never
// does.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

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

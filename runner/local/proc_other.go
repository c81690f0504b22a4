//go:build unix && !linux

package local

import (
	"os"
	"syscall"
)

// waitLeader reaps the process where waitid(WNOWAIT) is not available. The
// group kill that follows then has a tiny window in which the pid could have
// been reused.
func waitLeader(p *os.Process) (*os.ProcessState, error) { return p.Wait() }

// setParentDeathSignal is Linux-only; elsewhere orphans need a manual kill.
func setParentDeathSignal(*syscall.SysProcAttr) {}

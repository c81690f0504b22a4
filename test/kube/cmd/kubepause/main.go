// Command kubepause is the test cluster's pod sandbox image: the process
// that holds a pod's namespaces open. No registry is reachable here, so the
// cluster cannot pull the usual one; kubecluster imports this binary as an
// image instead, made by `kubepause archive REF` (a docker-save tar of a
// FROM-scratch image holding this very binary, on stdout).
//
// As a pod's first process it is the pid-1 of the pod (when the pod shares
// its process namespace): it reaps children and exits on SIGINT or SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "archive" {
		if err := writeArchive(os.Stdout, os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "kubepause:", err)
			os.Exit(1)
		}
		return
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

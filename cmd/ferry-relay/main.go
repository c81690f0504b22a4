// Command ferry-relay is the relay of bridged mode (package
// runner/relay): Ferry starts it in a container that mounts the attempt's
// socket volume, with the socket paths as arguments, and reads the
// sockets' bytes, framed, on its standard output. It exits 0 when every
// socket ended cleanly.
package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/ferrysync/ferry/runner/kube/shim"
	"github.com/ferrysync/ferry/runner/podpump"
	"github.com/ferrysync/ferry/runner/relay"
)

func main() {
	if len(os.Args) >= 2 {
		if code, ok := podCommand(os.Args[1], os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: ferry-relay SOCKET_PATH...")
		os.Exit(2)
	}
	// Unbuffered on purpose: each frame is one write, so a frame Ferry
	// waits for (connected, end) is never stuck in a buffer.
	r := &relay.Relay{Paths: os.Args[1:], Out: os.Stdout}
	fmt.Fprintf(os.Stderr, "ferry-relay: carrying %d sockets\n", len(r.Paths))
	if err := r.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "ferry-relay: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ferry-relay: every socket ended (%s)\n", cpuUsed())
}

// cpuUsed reports the relay's CPU time, which says what relaying costs
// (the container is gone by the time anyone could ask the engine).
func cpuUsed() string {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return "cpu time unknown"
	}
	return fmt.Sprintf("cpu %.2fs user, %.2fs system", tv(ru.Utime), tv(ru.Stime))
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// podCommand runs the commands of a Kubernetes pod's connector containers;
// ok is false for anything else (socket paths are absolute, so they never
// collide with these names).
func podCommand(name string, args []string) (code int, ok bool) {
	switch name {
	case "install":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "usage: ferry-relay install DIR")
			return 2, true
		}
		if err := shim.Install(args[0], "ferry-relay"); err != nil {
			fmt.Fprintf(os.Stderr, "ferry-relay install: %v\n", err)
			return 1, true
		}
		return 0, true
	case "shim":
		var opt shim.Options
	flags:
		for len(args) > 0 {
			switch {
			case args[0] == "--stdin":
				opt.KeepStdin, args = true, args[1:]
			case args[0] == "--stdout-fifo" && len(args) > 1:
				opt.StdoutFIFO, args = args[1], args[2:]
			case args[0] == "--stdin-fifo" && len(args) > 1:
				opt.StdinFIFO, args = args[1], args[2:]
			case args[0] == "--":
				args = args[1:]
				break flags
			default:
				break flags
			}
		}
		return shim.Run(args, opt, os.Stdin, os.Stdout, os.Stderr), true
	case "pump":
		return runPump(args), true
	case "signal":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "usage: ferry-relay signal TERM|KILL")
			return 2, true
		}
		if err := shim.Signal(args[0]); err != nil {
			fmt.Fprintf(os.Stderr, "ferry-relay signal: %v\n", err)
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// runPump is stdio mode's in-pod pump (package runner/podpump):
// ferry-relay pump SOURCE_FIFO DESTINATION_FIFO.
func runPump(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ferry-relay pump SOURCE_FIFO DESTINATION_FIFO")
		return 2
	}
	src, release, err := podpump.OpenSource(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry-pump: %v\n", err)
		return 1
	}
	dst, unread, err := podpump.OpenDestination(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry-pump: %v\n", err)
		return 1
	}
	p := &podpump.Pump{Source: src, Destination: dst, Unread: unread, SourceEnded: release,
		Control: os.Stdin, Out: os.Stdout}
	if err := p.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "ferry-pump: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "ferry-pump: done (%s)\n", cpuUsed())
	return 0
}

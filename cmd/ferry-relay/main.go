// Command ferry-relay is the relay of bridged mode (package
// runner/relay): Ferry starts it in a container that mounts the attempt's
// socket volume, with the socket paths as arguments, and reads the
// sockets' bytes, framed, on its standard output. It exits 0 when every
// socket ended cleanly.
package main

import (
	"fmt"
	"os"

	"github.com/ferrysync/ferry/runner/relay"
)

func main() {
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
	fmt.Fprintln(os.Stderr, "ferry-relay: every socket ended")
}

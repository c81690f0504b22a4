package cdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"
)

// The source is the server of socket mode (docs/protocol.md 5.3): it binds every
// path and accepts exactly one client on each.

// prepareSocketPath removes a stale socket file left at path by an earlier
// run, so bind does not fail with "address already in use". It refuses to
// remove anything that is not a socket: a misconfigured path must never
// delete a user's file.
func prepareSocketPath(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return SystemError("socket %s: %v", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return SystemError("socket %s: the path exists and is not a socket (%s); refusing to remove it", path, fi.Mode().Type())
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return SystemError("socket %s: remove the stale socket: %v", path, err)
	}
	return nil
}

// listenSockets binds every path, then waits for one client on each,
// concurrently, for at most timeout. Each listener is closed once its
// client is in (which also unlinks its file), so no second client can
// connect. On failure every listener and accepted connection is closed.
// The connections returned belong to the caller.
func listenSockets(ctx context.Context, paths []string, timeout time.Duration) ([]*net.UnixConn, error) {
	lns := make([]*net.UnixListener, 0, len(paths))
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, p := range paths {
		if err := prepareSocketPath(p); err != nil {
			closeAll()
			return nil, err
		}
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err != nil {
			closeAll()
			return nil, SystemError("socket %s: listen: %v", p, err)
		}
		lns = append(lns, ln)
	}
	deadline := time.Now().Add(timeout)
	conns := make([]*net.UnixConn, len(paths))
	errs := make([]error, len(paths))
	// Every deadline is set before the watcher starts: set after, it
	// could overwrite the watcher's "now" when the stop came first (a
	// SIGTERM while the source was starting), and Accept would wait the
	// whole timeout for a destination that was stopped too.
	for _, ln := range lns {
		ln.SetDeadline(deadline)
	}
	// A cancelled context (SIGTERM) interrupts every Accept by moving its
	// deadline to now; the stop channel releases this watcher otherwise.
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case <-ctx.Done():
			for _, ln := range lns {
				ln.SetDeadline(time.Now())
			}
		case <-stop:
		}
	})
	var wg sync.WaitGroup
	for i, ln := range lns {
		wg.Go(func() {
			defer ln.Close()
			c, err := ln.AcceptUnix()
			if err != nil {
				errs[i] = acceptError(ctx, paths[i], timeout, err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return conns, nil
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if failed > 1 {
		return nil, fmt.Errorf("%w (and %d more sockets)", first, failed-1)
	}
	return nil, first
}

// acceptError explains why no destination connected.
func acceptError(ctx context.Context, path string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("socket %s: stopped while waiting for the destination: %w", path, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return SystemError("socket %s: no destination connected within %v (set %s to wait longer)", path, timeout, EnvSocketTimeout)
	}
	return SystemError("socket %s: accept: %v", path, err)
}

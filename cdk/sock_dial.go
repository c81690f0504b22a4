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

// socketPoll is how often a destination looks for a socket that is not
// there yet, as Airbyte's client does (LOAD/file/ClientSocket.kt). The
// first looks come sooner (from socketPollFirst, doubling), because the
// source usually starts listening within milliseconds of the destination
// starting, and a whole second is a long wait for a short sync.
var (
	socketPoll      = time.Second
	socketPollFirst = 5 * time.Millisecond
)

// dialSockets connects to every path concurrently. The destination is the
// client of socket mode: the source may start listening after it, so each
// path is polled until it is a socket that accepts a connection, for at
// most timeout. On failure every connection made is closed; on success
// they belong to the caller.
func dialSockets(ctx context.Context, paths []string, timeout time.Duration) ([]*net.UnixConn, error) {
	return dialSocketsUntil(ctx, paths, timeout, nil)
}

// errSourceGone ends the wait for the source's sockets.
var errSourceGone = errors.New("the source ended")

// dialSocketsUntil is dialSockets that also stops polling once gone is
// closed: the source is gone and will never listen. A connection under
// way is not interrupted (cancelling a dial that the source accepted
// would lose it), only the wait between two tries.
func dialSocketsUntil(ctx context.Context, paths []string, timeout time.Duration, gone <-chan struct{}) ([]*net.UnixConn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conns := make([]*net.UnixConn, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { conns[i], errs[i] = dialOne(ctx, p, timeout, gone) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		if n := countErrors(errs); n > 1 {
			return nil, fmt.Errorf("%w (and %d more sockets)", errs[i], n-1)
		}
		return nil, err
	}
	return conns, nil
}

// dialOne polls for one socket until it connects, ctx ends or gone is
// closed.
func dialOne(ctx context.Context, path string, timeout time.Duration, gone <-chan struct{}) (*net.UnixConn, error) {
	var last error
	wait := socketPollFirst
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-gone:
			return nil, fmt.Errorf("socket %s: %w", path, errSourceGone)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why := "it never appeared"
				if last != nil {
					why = "last error: " + last.Error()
				}
				return nil, SystemError("socket %s: the source did not accept a connection within %v (%s; set %s to wait longer)",
					path, timeout, why, EnvSocketTimeout)
			}
			return nil, fmt.Errorf("socket %s: stopped while waiting for the source: %w", path, context.Cause(ctx))
		case <-t.C:
		}
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			last = nil // not there yet: the normal wait
		case err != nil:
			last = err
		case fi.Mode()&fs.ModeSocket == 0:
			last = fmt.Errorf("%s is not a socket (%s)", path, fi.Mode().Type())
		default:
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", path)
			if err == nil {
				return c.(*net.UnixConn), nil
			}
			last = err // a stale file, or the source has not listened yet
		}
		t.Reset(wait)
		wait = min(2*wait, socketPoll)
	}
}

func countErrors(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}

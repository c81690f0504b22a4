package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DialInterval is how often the relay tries a socket until the source
// listens on it.
const DialInterval = 50 * time.Millisecond

// Relay is the relay container's work: connect to every socket, carry its
// bytes to Out in frames, and report each socket's end. It has no timeout
// of its own: Ferry stops the container when it stops waiting.
type Relay struct {
	Paths []string
	Out   io.Writer
	// Dial connects to one socket; nil means a Unix socket dial.
	Dial func(path string) (io.ReadCloser, error)
	// Sleep waits between dial tries; nil means time.Sleep(DialInterval).
	Sleep func()

	mu     sync.Mutex // serialises frames on Out
	outErr error
}

// Run carries every socket to its end. It returns an error when a socket
// broke or Out could not be written; the sockets that still work carry on
// until their end either way, so the error of one never hides another's
// data from Ferry, which decides what a broken socket means.
func (r *Relay) Run() error {
	if len(r.Paths) == 0 || len(r.Paths) > MaxSockets {
		return fmt.Errorf("want 1 to %d socket paths, got %d", MaxSockets, len(r.Paths))
	}
	// Every socket is connected before any data travels: Ferry starts
	// reading the sockets once all are connected, so a data frame of one
	// socket ahead of another's connected frame would wait for a reader
	// that waits for that frame. The source meanwhile fills the sockets'
	// buffers and waits, as it would for a slow destination.
	conns := make([]io.ReadCloser, len(r.Paths))
	var wg sync.WaitGroup
	for i, p := range r.Paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i] = r.connect(p)
		}()
	}
	wg.Wait()
	errs := make([]error, len(r.Paths))
	for i := range conns {
		if err := r.frame(KindConnected, i, nil); err != nil {
			for _, c := range conns {
				c.Close()
			}
			return err
		}
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			errs[i] = r.carry(i, r.Paths[i], c)
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, r.outErr)...)
}

// carry copies socket i into data frames until its end.
func (r *Relay) carry(i int, path string, c io.Reader) error {
	buf := make([]byte, HeaderSize+ChunkSize)
	for {
		n, err := c.Read(buf[HeaderSize:])
		if n > 0 {
			putHeader(buf, KindData, i, n)
			if werr := r.write(buf[:HeaderSize+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return r.frame(KindEnd, i, nil)
		}
		if err != nil {
			msg := fmt.Sprintf("reading %s: %v", path, err)
			r.frame(KindError, i, []byte(msg)) //nolint:errcheck // the read error is the one to report
			return errors.New(msg)
		}
	}
}

// connect dials path until the source listens.
func (r *Relay) connect(path string) io.ReadCloser {
	dial, sleep := r.Dial, r.Sleep
	if dial == nil {
		dial = func(p string) (io.ReadCloser, error) { return net.Dial("unix", p) }
	}
	if sleep == nil {
		sleep = func() { time.Sleep(DialInterval) }
	}
	for {
		if c, err := dial(path); err == nil {
			return c
		}
		sleep()
	}
}

// frame writes a frame with a small payload.
func (r *Relay) frame(kind byte, i int, payload []byte) error {
	b := make([]byte, HeaderSize+len(payload))
	putHeader(b, kind, i, len(payload))
	copy(b[HeaderSize:], payload)
	return r.write(b)
}

// write puts one whole frame on Out: frames of different sockets never
// interleave their bytes.
func (r *Relay) write(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outErr != nil {
		return r.outErr
	}
	if _, err := r.Out.Write(b); err != nil {
		r.outErr = fmt.Errorf("writing to Ferry: %w", err)
		return r.outErr
	}
	return nil
}

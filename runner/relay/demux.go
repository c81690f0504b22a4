package relay

import (
	"errors"
	"fmt"
	"io"
)

// Demux is Ferry's end of the relay: it reads the relay's frames and hands
// each socket's bytes to that socket's reader, in order. Reading one
// socket slower than the others holds the whole stream, as a full socket
// buffer would hold the source; bridged mode's merger never waits on one
// socket, so that cannot deadlock. For the same reason every socket must
// have its reader once data flows: the relay sends all connected frames
// before any data.
type Demux struct {
	sockets []*socket
	done    chan struct{}
	err     error // set before done is closed
}

type socket struct {
	r         *io.PipeReader
	w         *io.PipeWriter
	connected chan struct{}
	ended     bool // an end or error frame arrived
	discard   bool // its reader is gone: drop its data
}

// NewDemux returns a Demux for n sockets.
func NewDemux(n int) *Demux {
	d := &Demux{done: make(chan struct{})}
	for range n {
		r, w := io.Pipe()
		d.sockets = append(d.sockets, &socket{r: r, w: w, connected: make(chan struct{})})
	}
	return d
}

// Socket returns socket i's bytes. Closing it drops the rest of them.
func (d *Demux) Socket(i int) io.ReadCloser { return d.sockets[i].r }

// Connected is closed when the relay connected to socket i.
func (d *Demux) Connected(i int) <-chan struct{} { return d.sockets[i].connected }

// Done is closed when the relay's stream ended; Err then says why.
func (d *Demux) Done() <-chan struct{} { return d.done }

// Err is why the stream ended: nil after every socket's end, else the
// stream's error. Call it after Done.
func (d *Demux) Err() error { return d.err }

// Run reads the relay's stream until it ends. Every socket without an end
// frame then fails with the reason, so its reader never waits forever. r
// must end when the relay exits (Run's contract for stdio).
func (d *Demux) Run(r io.Reader) error {
	fr := &frameReader{r: r}
	var err error
	for {
		var f frame
		if f, err = fr.next(); err != nil {
			break
		}
		if err = d.dispatch(f); err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	for i, s := range d.sockets {
		if s.ended {
			continue
		}
		why := err
		if why == nil {
			why = errors.New("the relay ended before it")
		}
		s.w.CloseWithError(fmt.Errorf("socket %d: %w", i+1, why))
		if err == nil {
			err = fmt.Errorf("the relay's stream ended before socket %d ended", i+1)
		}
	}
	d.err = err
	close(d.done)
	// Keep draining, so the relay never blocks on a reader that is gone.
	io.Copy(io.Discard, r) //nolint:errcheck // draining only
	return err
}

// dispatch applies one frame.
func (d *Demux) dispatch(f frame) error {
	if f.socket >= len(d.sockets) {
		return fmt.Errorf("relay stream: a frame for socket %d of %d", f.socket+1, len(d.sockets))
	}
	s := d.sockets[f.socket]
	if s.ended {
		return fmt.Errorf("relay stream: a frame for socket %d after its end", f.socket+1)
	}
	switch f.kind {
	case KindConnected:
		select {
		case <-s.connected:
			return fmt.Errorf("relay stream: socket %d connected twice", f.socket+1)
		default:
			close(s.connected)
		}
	case KindData:
		if s.discard {
			return nil
		}
		if _, err := s.w.Write(f.payload); err != nil {
			s.discard = true // its reader closed it: Ferry stopped reading
		}
	case KindEnd:
		s.ended = true
		s.w.Close()
	case KindError:
		s.ended = true
		s.w.CloseWithError(fmt.Errorf("the relay: %s", f.payload))
	}
	return nil
}

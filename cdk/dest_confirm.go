package cdk

import (
	"context"
	"errors"
	"io"

	"github.com/ferrysync/ferry/protocol"
)

// Ferry's confirmation of finished streams in socket mode (guarantee G5,
// docs/protocol.md 5.9). A source sends its COMPLETE statuses down the sockets
// as soon as it has read a stream, before it exits; if it then fails (an
// exit 1 after its last record, or a kill), finalising an overwrite on
// its word would replace the old data with an attempt that failed. Only
// Ferry sees the source's exit code, so with EnvCompleteOnStdin Ferry
// writes a COMPLETE status on the destination's stdin for every stream
// that may be finalised, after the source exited 0, and then closes stdin.
// A socket COMPLETE is then provisional: at the end of input a stream is
// finalised when Ferry confirmed it, and stdin closing without a
// confirmation means it is not complete.

// confirmations reads Ferry's confirmations from stdin until its end.
type confirmations struct {
	done chan struct{}
	// Written by the reader goroutine, read only once done is closed.
	complete map[protocol.StreamDescriptor]bool
	ignored  int // other input on stdin
	err      error
}

// readConfirmations starts reading r. Stdin carries a few lines at the
// end of the sync, so it is read as it comes, and Ferry's write never
// waits on the destination.
func readConfirmations(r io.Reader, maxLine int) *confirmations {
	c := &confirmations{done: make(chan struct{}), complete: map[protocol.StreamDescriptor]bool{}}
	go c.read(r, maxLine)
	return c
}

func (c *confirmations) read(r io.Reader, maxLine int) {
	defer close(c.done)
	if r == nil {
		return
	}
	// The read ends with stdin, which Ferry closes once the source is gone
	// whatever its fate, or with the process.
	in := NewStdioIntake(r, maxLine)
	for {
		b, err := in.Next(context.Background())
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.err = err
			}
			return
		}
		for i := range b.Inputs {
			if st := b.Inputs[i].Status; st != nil && st.Status == protocol.StreamComplete {
				c.complete[st.StreamDescriptor] = true
			} else {
				c.ignored++
			}
		}
		b.Release()
	}
}

// confirmComplete waits for the end of stdin and decides which streams
// finish as complete: those Ferry confirmed, whatever came on the sockets.
func (ws *writeSession) confirmComplete(ctx context.Context) error {
	c := ws.confirm
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	log := ws.r.log
	if c.err != nil {
		// Nothing read after a broken line can be trusted to be complete.
		log.Warn("reading Ferry's COMPLETE statuses on stdin failed: no stream is finalised", "error", c.err)
		clear(c.complete)
	}
	if c.ignored > 0 {
		log.Warn("ignored input on stdin other than COMPLETE statuses (socket mode)", "messages", c.ignored)
	}
	for _, s := range ws.order {
		confirmed := c.complete[s.desc]
		if s.complete && !confirmed {
			log.Info("the source reported the stream COMPLETE but Ferry did not confirm it (the source did not succeed)", "stream", s.desc.String())
		}
		s.complete = confirmed
	}
	return nil
}

package runner

import (
	"errors"
	"io"
	"os"
	"sync"
)

// OutputTaker is a Stdio.Out that can take a connector's output as a
// stream to read instead of having it written in. A runtime whose output
// arrives on a stream of its own (Docker's attach) hands that stream over
// with TakeOutput, and Ferry's reader reads it in place: the bytes skip a
// pipe, that is a copy into the kernel and one out of it, and the system
// calls and wake-ups between. Runtimes that write (Write) or hand a child
// the pipe itself (PipeFile) work as before; a runtime uses one of the
// three, never two.
type OutputTaker interface {
	io.Writer
	// TakeOutput returns once the reader is done with r: with nil at r's
	// end, with r's error when a read failed. The reader reads r to its
	// end even when the attempt stops early, as it drains a pipe.
	TakeOutput(r io.Reader) error
}

// PipeFile is a Stdio.Out backed by an OS pipe that a runtime starting
// processes gives to the child as its stdout, so no goroutine copies.
type PipeFile interface {
	PipeFile() *os.File
}

// sourceOutput is the source's stdout in stdio, socket and bridged mode:
// an OS pipe, or the runtime's own stream when the runtime hands it over.
// The runtime's side is Writer, the data path's Reader.
type sourceOutput struct {
	pipeR, pipeW *os.File
	once         sync.Once
	given        chan io.Reader // once: the runtime's stream, or nil for the pipe
	done         chan error     // the end of a given stream, for TakeOutput
	closed       chan struct{}  // closed by closeWriter
	closeOnce    sync.Once
}

func newSourceOutput(r, w *os.File) *sourceOutput {
	return &sourceOutput{pipeR: r, pipeW: w, given: make(chan io.Reader, 1), done: make(chan error, 1), closed: make(chan struct{})}
}

// choose settles, once, what the reader reads; it reports whether r (a
// stream, not nil) was taken.
func (o *sourceOutput) choose(r io.Reader) bool {
	took := false
	o.once.Do(func() {
		o.given <- r
		took = r != nil
	})
	return took
}

// closeWriter ends the output when the source's Run has returned: the
// reader of a pipe then reads its end; a stream has ended already.
func (o *sourceOutput) closeWriter() {
	o.choose(nil)
	o.pipeW.Close()
	o.closeOnce.Do(func() { close(o.closed) })
}

// Writer is the runtime's side.
func (o *sourceOutput) Writer() io.Writer { return outputWriter{o} }

// Reader is the data path's side.
func (o *sourceOutput) Reader() io.Reader { return &outputReader{o: o} }

type outputWriter struct{ o *sourceOutput }

func (w outputWriter) Write(p []byte) (int, error) {
	w.o.choose(nil)
	return w.o.pipeW.Write(p)
}

func (w outputWriter) PipeFile() *os.File {
	w.o.choose(nil)
	return w.o.pipeW
}

func (w outputWriter) TakeOutput(r io.Reader) error {
	if !w.o.choose(r) {
		_, err := io.Copy(w.o.pipeW, r)
		return err
	}
	return <-w.o.done
}

// outputReader reads the pipe or the stream the runtime handed over. The
// end of a stream reaches the data path when the end of a pipe would:
// once the source's Run has returned (closeWriter), not when the stream
// ends, as the runtime still waits for the exit and removes the container
// after that, which must not count against SourceExit. A stream's failure
// ends the output as a closed pipe would: the reader sees its end, and
// TakeOutput returns the error for the runtime to report. So both ways
// give the data path the same outcomes.
type outputReader struct {
	o      *sourceOutput
	cur    io.Reader
	stream bool
	ended  bool
}

func (r *outputReader) Read(p []byte) (int, error) {
	if r.cur == nil {
		s := <-r.o.given
		r.cur, r.stream = s, s != nil
		if s == nil {
			r.cur = r.o.pipeR
		}
	}
	if r.ended {
		<-r.o.closed
		return 0, io.EOF
	}
	n, err := r.cur.Read(p)
	if err != nil && r.stream {
		r.ended = true
		if errors.Is(err, io.EOF) {
			r.o.done <- nil
		} else {
			r.o.done <- err
		}
		if n > 0 {
			return n, nil // the end comes with the next read
		}
		<-r.o.closed
		err = io.EOF
	}
	return n, err
}

package runnertest

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/podpump"
)

// Pumped wraps a runtime into a runner.PumpRuntime that runs the in-pod
// pump (package podpump) in the test's process, between pipes, as the
// Kubernetes runtime runs it in a pod between FIFOs: stdio mode's data
// path with the pump can then be tested on any runtime. Like the FIFOs,
// the destination's stdin keeps a reader of the wrapper's own, so the
// pump can count what the destination left unread.
type Pumped struct {
	runner.Runtime
	// BreakAfter, when positive, makes the pump's output fail after that
	// many bytes, as when its container is killed mid-attempt.
	BreakAfter int64
}

// RunPair runs the two connectors with one Run each.
func (p Pumped) RunPair(ctx context.Context, source, destination runner.PairMember) {
	for _, m := range []runner.PairMember{source, destination} {
		go func() {
			st, err := p.Run(m.Stop, m.Spec, m.Stdio)
			m.Exited(st, err)
		}()
	}
}

// RunPumped implements runner.PumpRuntime.
func (p Pumped) RunPumped(ctx context.Context, source, destination, pump runner.PairMember) {
	srcR, srcW, err1 := os.Pipe()
	dstR, dstW, err2 := os.Pipe()
	if err1 != nil || err2 != nil {
		for _, m := range []runner.PairMember{source, destination, pump} {
			m.Exited(runner.ExitStatus{}, firstErr(err1, err2))
		}
		return
	}
	// The pump may ask for the unread bytes until the very end; the
	// pipe is closed only after, under the same lock.
	var mu sync.Mutex
	closed := false
	unread := func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return 0, os.ErrClosed
		}
		return unix.IoctlGetInt(int(dstR.Fd()), unix.TIOCINQ)
	}
	done := make(chan struct{}, 3)
	go func() {
		defer func() { done <- struct{}{} }()
		source.Stdio.Out = srcW
		st, err := p.Run(source.Stop, source.Spec, source.Stdio)
		srcW.Close()
		source.Exited(st, err)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		destination.Stdio.In = dstR
		st, err := p.Run(destination.Stop, destination.Spec, destination.Stdio)
		destination.Exited(st, err)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		out := pump.Stdio.Out
		if p.BreakAfter > 0 {
			out = &breakingWriter{w: out, left: p.BreakAfter}
		}
		pu := &podpump.Pump{Source: srcR, Destination: dstW, Control: pump.Stdio.In, Out: out,
			Unread: unread}
		err := pu.Run()
		if pump.Stdio.Err != nil && err != nil {
			io.WriteString(pump.Stdio.Err, "ferry-pump: "+err.Error()+"\n") //nolint:errcheck // a log
		}
		// The pump's ends of the FIFOs close with it: a source still
		// writing fails, the destination reads to its end.
		srcR.Close()
		dstW.Close()
		st := runner.ExitStatus{}
		if err != nil {
			st.Code = 1
		}
		pump.Exited(st, nil)
	}()
	for range 3 {
		<-done
	}
	mu.Lock()
	closed = true
	dstR.Close()
	mu.Unlock()
	dstW.Close()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// breakingWriter fails once left bytes are written.
type breakingWriter struct {
	w    io.Writer
	left int64
}

func (b *breakingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		return 0, errors.New("the pump's container was killed")
	}
	b.left -= int64(len(p))
	return b.w.Write(p)
}

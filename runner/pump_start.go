package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/podpump"
)

// pumpRun is the in-pod pump's end, once it has ended.
type pumpRun struct {
	stderr *tailWriter
	exited chan struct{}
	result connectorResult
}

// start runs the source, the destination and the pump through a
// PumpRuntime. The source's end reaches the pump (DownSourceEnded); the
// destination's reaches it too (destinationEnded); the pump's end closes
// the frames Ferry reads.
func (p *podStdioPath) start(s *syncRun, runCtx, srcCtx, dstCtx context.Context, srcSpec, dstSpec ConnectorSpec, pp *pipes, w *wiring) (src, dst <-chan connectorResult) {
	s.srcStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "source stderr"))
	s.dstStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "destination stderr"))
	pr := &pumpRun{stderr: newTailWriter(s.log.LineWriter(protocol.LevelInfo, "pump")), exited: make(chan struct{})}
	p.run = pr
	srcDone := make(chan connectorResult, 1)
	dstDone := make(chan connectorResult, 1)
	source := PairMember{Spec: srcSpec, Stdio: Stdio{Err: s.srcStderr}, Stop: srcCtx,
		Exited: func(st ExitStatus, err error) {
			close(w.srcExited)
			s.live.sourceExited()
			s.srcStderr.Close()
			p.ctl.Send(podpump.DownSourceEnded, nil) //nolint:errcheck // a pump that is gone ends the frames
			srcDone <- connectorResult{st, err}
		}}
	destination := PairMember{Spec: dstSpec, Stdio: Stdio{Out: pp.dstOutW, Err: s.dstStderr}, Stop: dstCtx,
		Exited: func(st ExitStatus, err error) {
			s.dstStderr.Close()
			pp.dstOutW.Close()
			p.destinationEnded(w, st, err)
			dstDone <- connectorResult{st, err}
		}}
	image := s.cfg.RelayImage
	if image == "" {
		image = DefaultRelayImage
	}
	pump := PairMember{Spec: ConnectorSpec{Name: s.cfg.containerName("pump"), Image: image, Role: RolePump,
		Labels: s.cfg.Labels(RolePump), NetworkMode: "none", OpenStdin: true, StopTimeout: relayStopGrace,
		Resources: Resources{MemoryBytes: pumpMemory(s.maxLine)}},
		Stdio: Stdio{In: pp.dstInR, Out: pp.srcOutW, Err: pr.stderr}, Stop: runCtx,
		Exited: func(st ExitStatus, err error) {
			pr.stderr.Close()
			pr.result = connectorResult{st, err}
			close(pr.exited)
			// Ferry's writes to a pump that is gone fail instead of
			// blocking, and its frames end.
			pp.dstInR.Close()
			pp.srcOutW.Close()
		}}
	go s.rt.(PumpRuntime).RunPumped(runCtx, source, destination, pump)
	return srcDone, dstDone
}

// ended describes how the pump ended, for a failure; "" while it runs or
// when it ended well.
func (p *podStdioPath) ended() string {
	pr := p.run
	select {
	case <-pr.exited:
	default:
		return ""
	}
	r := pr.result
	switch {
	case r.err != nil:
		return r.err.Error()
	case r.status.Success():
		return ""
	}
	msg := r.status.String()
	if t := pr.stderr.Tail(); t != "" {
		msg += "; last stderr lines:\n" + t
	}
	return msg
}

// finish ends the pump's stdin once both connectors have ended, waits for
// the pump, and reports a failure of its own that cost the attempt.
func (p *podStdioPath) finish(s *syncRun, toPump interface{ Close() error }, runCtx context.Context) {
	toPump.Close()
	<-p.run.exited
	s.log.Printf(protocol.LevelInfo, "ferry", "the pump sent Ferry %d bytes (states, logs, counts); the records stayed in the pod", p.frameBytes.Load())
	r := p.run.result
	if runCtx.Err() != nil || errors.Is(r.err, ErrCancelled) || r.status.Signalled || s.findings.failing() {
		return
	}
	if msg := p.ended(); msg != "" {
		typ := protocol.FailureSystem
		var nf *ImageNotFoundError
		if errors.As(r.err, &nf) {
			typ = protocol.FailureConfig
		}
		s.findings.fail(Failure{Origin: protocol.OriginReplication, Type: typ, ExternalMessage: fmt.Sprintf("the in-pod pump failed: %s", msg)})
	}
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/relay"
)

// relayLink reaches the source's sockets through the relay container
// (package relay): it mounts the attempt's socket volume, connects to the
// sockets, and writes their bytes, framed, on its stdout, which the Demux
// splits back into one reader per socket.
type relayLink struct {
	d *relay.Demux
	n int
}

func (l *relayLink) sockets() int      { return l.n }
func (l *relayLink) name(i int) string { return fmt.Sprintf("airbyte_socket_%d.sock", i+1) }
func (l *relayLink) try(i int) (io.ReadCloser, bool, error) {
	select {
	case <-l.d.Connected(i):
		return l.d.Socket(i), true, nil
	default:
	}
	select {
	case <-l.d.Done():
		err := l.d.Err()
		if err == nil {
			err = errors.New("it exited")
		}
		return nil, false, fmt.Errorf("the relay ended before connecting to %s: %w", l.name(i), err)
	default:
		return nil, false, nil
	}
}

// relayStopGrace is the relay's SIGTERM grace: it holds no data of its own.
const relayStopGrace = 5 * time.Second

// relayMemory bounds the relay container: a few buffers per socket.
const relayMemory = 256 << 20

// relayRun is one relay container while it runs.
type relayRun struct {
	link   *relayLink
	stop   context.CancelFunc
	done   chan struct{}
	status ExitStatus
	err    error
	stderr *tailWriter
}

// startRelay starts the relay on the attempt's socket volume. ctx stops it.
func (p *bridgedPath) startRelay(ctx context.Context) *relayRun {
	a := p.a
	n := p.m.Sockets
	d := relay.NewDemux(n)
	rctx, stop := context.WithCancel(ctx)
	r := &relayRun{link: &relayLink{d: d, n: n}, stop: stop, done: make(chan struct{}),
		stderr: newTailWriter(a.log.LineWriter(protocol.LevelInfo, "relay"))}
	image := a.cfg.RelayImage
	if image == "" {
		image = DefaultRelayImage
	}
	spec := ConnectorSpec{Name: a.cfg.containerName("relay"), Image: image, Args: SocketPaths(n),
		Role: RoleRelay, Labels: a.cfg.Labels(RoleRelay), SocketVolume: p.volume,
		NetworkMode: "none", StopTimeout: relayStopGrace, Resources: Resources{MemoryBytes: relayMemory}}
	outR, outW := io.Pipe()
	go func() {
		d.Run(outR) //nolint:errcheck // the error reaches the sockets' readers
	}()
	go func() {
		defer close(r.done)
		r.status, r.err = p.rt.Run(rctx, spec, Stdio{Out: outW, Err: r.stderr})
		r.stderr.Close()
		if r.err != nil {
			outW.CloseWithError(fmt.Errorf("could not run the relay: %w", r.err))
		} else {
			outW.Close()
		}
	}()
	return r
}

// finish stops the relay if it still runs and reports its failure, when
// its end cost data the bridge had not already reported missing.
func (r *relayRun) finish(a *attempt, bridgeErr error) {
	r.stop()
	<-r.done
	switch {
	case r.err != nil && errors.Is(r.err, ErrCancelled):
	case r.err != nil:
		typ := protocol.FailureSystem
		var nf *ImageNotFoundError
		if errors.As(r.err, &nf) {
			typ = protocol.FailureConfig
		}
		if bridgeErr == nil {
			a.findings.fail(Failure{Origin: protocol.OriginReplication, Type: typ, ExternalMessage: "could not run the relay: " + r.err.Error()})
		}
	case !r.status.Success() && !r.status.Signalled && bridgeErr == nil:
		msg := "the relay failed: " + r.status.String()
		if t := r.stderr.Tail(); t != "" {
			msg += "; last stderr lines:\n" + t
		}
		a.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem, ExternalMessage: msg})
	}
}

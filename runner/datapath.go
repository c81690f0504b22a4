package runner

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// dataPath is how records travel in one data-channel mode (docs/design.md, mode
// selection). Everything that differs between modes is here, one
// implementation per mode; Sync's orchestration is the same for all.
type dataPath interface {
	// mode is the data channel, as recorded on the attempt.
	mode() Mode
	// prepare creates what the connectors share (the socket volume) and
	// returns its name and what removes it.
	prepare(ctx context.Context) (volume string, cleanup func(), err error)
	// forward reads the source's output until it ends, or until it must
	// stop (recorded already), moving records to the destination or only
	// keeping the books. ctx stops the source alone.
	forward(ctx context.Context, w *wiring) error
	// destinationEnded reacts to the destination's end, before Ferry reads
	// its exit status.
	destinationEnded(w *wiring, st ExitStatus, err error)
	// endInput ends the destination's stdin once the source is done,
	// after COMPLETE statuses when complete is set: the source exited 0
	// (G5). It returns what failed to reach a destination that reads its
	// records there.
	endInput(in *destinationInput, complete bool) error
	// outputIsProgress reports whether the destination's output is the
	// sign of progress (records never pass Ferry).
	outputIsProgress() bool
	// speaksSockets reports whether role's connector moves records over
	// the socket volume (it then gets the DATA_CHANNEL_* environment).
	speaksSockets(role Role) bool
	// destinationCatalog places the destination's catalog file (and what
	// else it needs to name streams) into files and env.
	destinationCatalog(files map[string][]byte, env map[string]string) error
}

// wiring is what joins the connectors while they run.
type wiring struct {
	srcOut    io.Reader // the source's stdout, Ferry's end
	dstInR    *os.File  // the destination's stdin, the destination's end
	input     *destinationInput
	cancelSrc func()
	cancelDst func()
	srcExited chan struct{} // closed when the source's Run returned
}

// sourceGone reports whether the source's Run has returned.
func (w *wiring) sourceGone() bool {
	select {
	case <-w.srcExited:
		return true
	default:
		return false
	}
}

// stopSource stops the source after the pump stopped early, and drains r
// so that its Run can return.
func (w *wiring) stopSource(err error, r io.Reader) error {
	if err != nil {
		w.cancelSrc()
		go io.Copy(io.Discard, r) //nolint:errcheck // draining only
	}
	return err
}

// newDataPath picks the implementation of m and sets the ledger up for it.
func newDataPath(s *syncRun, m Mode) (dataPath, error) {
	cfg := s.cfg
	switch m.Mode {
	case "", protocol.ModeStdio:
		s.ledger.useTracker(cfg.State, false)
		if _, ok := s.rt.(PumpRuntime); ok {
			return &podStdioPath{a: s.attempt}, nil
		}
		return &stdioPath{a: s.attempt}, nil
	case protocol.ModeSocket:
		if len(cfg.SelectedFields) > 0 {
			return nil, fmt.Errorf("field selection needs stdio mode")
		}
		if m.Sockets <= 0 {
			m.Sockets = 2
		}
		s.ledger.useBook(cfg.State)
		return &socketPath{a: s.attempt, m: m, volume: s.socketVolume}, nil
	case protocol.ModeBridged:
		if m.Sockets <= 0 {
			m.Sockets = 2
		}
		pc, err := protobuf.NewConfiguredCatalog(cfg.Catalog)
		if err != nil {
			return nil, fmt.Errorf("bridged mode: %w", err)
		}
		// The source counts per partition; the destination counts what
		// Ferry delivered per stream, so Ferry's count is the one to send.
		s.ledger.useTracker(cfg.State, true)
		s.ledger.partitioned = true
		switch m.Bridge {
		case "", BridgeDirect:
			m.Bridge = BridgeDirect
		case BridgeRelay:
		default:
			return nil, fmt.Errorf("bridged mode: unknown bridge %q (want %s or %s)", m.Bridge, BridgeDirect, BridgeRelay)
		}
		return &bridgedPath{a: s.attempt, m: m, rt: s.rt, catalog: pc, socketVolume: s.socketVolume}, nil
	}
	return nil, fmt.Errorf("data channel %q is not supported", m.Mode)
}

// stdioPath is legacy stdio mode: every record passes through Ferry, from
// the source's stdout to the destination's stdin.
type stdioPath struct{ a *attempt }

func (p *stdioPath) mode() Mode { return Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL} }

func (p *stdioPath) prepare(context.Context) (string, func(), error) { return "", func() {}, nil }

func (p *stdioPath) forward(_ context.Context, w *wiring) error {
	pu := &pump{a: p.a, out: sourceData, dst: w.input}
	return w.stopSource(pu.run(watchedReader{r: w.srcOut, live: p.a.live}), w.srcOut)
}

func (p *stdioPath) destinationEnded(w *wiring, _ ExitStatus, err error) {
	stdinDestinationEnded(p.a, w, err)
}

func (p *stdioPath) endInput(in *destinationInput, complete bool) error {
	return endRecordInput(p.a, in, complete)
}

func (p *stdioPath) outputIsProgress() bool  { return false }
func (p *stdioPath) speaksSockets(Role) bool { return false }
func (p *stdioPath) destinationCatalog(files map[string][]byte, _ map[string]string) error {
	return p.a.mappedCatalog(files)
}

// endRecordInput ends the input of a destination that reads its records
// on stdin (stdio and bridged mode): the COMPLETE statuses follow the last
// record in the same stream.
func endRecordInput(a *attempt, in *destinationInput, complete bool) error {
	if complete {
		if err := in.writeComplete(); err != nil {
			a.log.Printf(protocol.LevelWarn, "ferry", "could not send COMPLETE statuses: %v", err)
		}
	}
	return in.close()
}

// stdinDestinationEnded handles the end of a destination that reads its
// records on stdin (stdio and bridged mode).
func stdinDestinationEnded(a *attempt, w *wiring, err error) {
	if !w.input.closed.Load() {
		// The destination is gone before the end of its input: the source
		// cannot deliver anything any more, even while idle, so stop it now
		// rather than at the pump's next write (docs/protocol.md 4.4).
		a.destinationWriteFailed(errDestinationExited)
		w.cancelSrc()
		return
	}
	if n := unreadBytes(w.dstInR); n > 0 && err == nil {
		// It exited without reading all of its input (the kernel pipe
		// buffer held it): those records were never written.
		a.findings.fail(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the destination exited without reading the last %d bytes of its input", n)})
	}
}

// socketPath is socket mode: records go from source to destination over
// Unix sockets on a shared volume, and Ferry keeps the books from both
// connectors' stdout.
type socketPath struct {
	a      *attempt
	m      Mode
	volume func(context.Context) (string, func(), error)
}

func (p *socketPath) mode() Mode { return p.m }

func (p *socketPath) prepare(ctx context.Context) (string, func(), error) { return p.volume(ctx) }

func (p *socketPath) forward(_ context.Context, w *wiring) error {
	p.a.live.waitAlways()
	pu := &pump{a: p.a, out: sourceBooks}
	return w.stopSource(pu.run(w.srcOut), w.srcOut)
}

func (p *socketPath) destinationEnded(w *wiring, st ExitStatus, err error) {
	if (err != nil || !st.Success()) && !w.sourceGone() {
		// A destination that failed (or never started) leaves the source
		// waiting for a client on its sockets: stop it now instead of at
		// its connect timeout.
		w.cancelSrc()
	}
}

// endInput confirms the streams the destination may finalise: the
// source's COMPLETE statuses went down the sockets before Ferry knew its
// exit code (G5, docs/protocol.md 5.9).
func (p *socketPath) endInput(in *destinationInput, complete bool) error {
	in.confirmComplete(complete)
	return nil
}

func (p *socketPath) outputIsProgress() bool  { return true }
func (p *socketPath) speaksSockets(Role) bool { return true }
func (p *socketPath) destinationCatalog(files map[string][]byte, env map[string]string) error {
	if err := p.a.rawCatalogAndMapping(files, env); err != nil {
		return err
	}
	// Ferry confirms on stdin which streams may be finalised, once the
	// source exited 0 (G5, docs/protocol.md 5.9); Ferry's kit waits for it.
	env[EnvCompleteOnStdin] = "true"
	return nil
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// Result describes a finished attempt. Sync always returns one, also when
// it returns an error.
type Result struct {
	Status Status `json:"status"`
	// Mode, Format and Sockets record the data channel (docs/design.md, mode
	// selection).
	Mode    string `json:"mode"`
	Format  string `json:"format"`
	Sockets int    `json:"sockets,omitempty"`
	// Bridge is how bridged mode reached the source's sockets: direct or
	// relay.
	Bridge string `json:"bridge,omitempty"`

	Source      ExitStatus `json:"sourceExit"`
	Destination ExitStatus `json:"destinationExit"`
	Stats       Stats      `json:"stats"`
	Failures    []Failure  `json:"failures,omitempty"`
	// Warnings are findings that did not fail the attempt: count
	// mismatches, identical consecutive states, dropped lines.
	Warnings []string `json:"warnings,omitempty"`
	// ProtocolErrors are acknowledgements Ferry refused to commit.
	ProtocolErrors []string `json:"protocolErrors,omitempty"`
	// CommittedState is the whole committed state at the end.
	CommittedState []*protocol.State `json:"-"`
	// CommittedAnyState is set when this attempt committed at least one
	// acknowledged state (G11).
	CommittedAnyState bool      `json:"committedAnyState"`
	Started           time.Time `json:"started"`
	Ended             time.Time `json:"ended"`
}

var errMaxDuration = errors.New("maximum attempt duration reached")

// syncRun is one attempt in progress: the shared books (attempt), the
// runtime, and the data path of its mode.
type syncRun struct {
	*attempt
	rt        Runtime
	path      dataPath
	mode      Mode
	socketVol string
	// The connectors' stderr tails explain exits without an ERROR trace.
	srcStderr, dstStderr *tailWriter
	// srcJudged is set when the source's end was recorded as it happened.
	srcJudged atomic.Bool
}

// Sync runs one attempt: it starts the source and the destination through
// rt, moves records between them on the data path of cfg.Mode, and commits
// the destination's acknowledgements through cfg.Checkpointer. It returns
// a *SyncError when the attempt did not succeed; the Result is always
// filled.
//
// Goroutines and pipes, and who closes what (stdio mode; the other data
// paths differ only inside forward and in what precedes the end of input):
//
//		source ──srcOut──▶ data path (pump) ──dstIn──▶ destination ──dstOut──▶ destination reader
//
//	  - srcOut is an OS pipe, or the runtime's own stream when it hands that
//	    over (OutputTaker: Docker's attach, read in place);
//	  - the source's Exited closes srcOut's writer;
//	  - the pump reads srcOut to EOF; Sync then closes dstIn's writer (end of
//	    input, after COMPLETE statuses when the source succeeded);
//	  - the destination's Exited closes dstOut's writer and dstIn's reader,
//	    so a pump blocked on a dead destination wakes;
//	  - the destination reader reads dstOut to EOF in every case, so late
//	    acknowledgements still commit (G3).
func Sync(ctx context.Context, rt Runtime, cfg Config) (*Result, error) {
	clk := clock.Or(cfg.Clock)
	res := &Result{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL, Started: clk.Now()}
	s, f := newSyncRun(ctx, rt, &cfg, clk)
	if f != nil {
		res.Status, res.Ended, res.Failures = StatusFailed, clk.Now(), []Failure{*f}
		return res, &SyncError{Status: StatusFailed, Failures: res.Failures}
	}
	res.Mode, res.Format, res.Sockets, res.Bridge = s.mode.Mode, s.mode.Format, s.mode.Sockets, s.mode.Bridge
	s.run(ctx, res)
	res.Ended = clk.Now()
	if res.Status != StatusSucceeded {
		return res, &SyncError{Status: res.Status, Failures: res.Failures}
	}
	return res, nil
}

// newSyncRun checks cfg and builds the attempt's parts. A config problem
// is returned as the attempt's only failure.
func newSyncRun(ctx context.Context, rt Runtime, cfg *Config, clk clock.Clock) (*syncRun, *Failure) {
	redact := secret.NewRedactor(cfg.Secrets)
	configFailure := func(err error) *Failure {
		return &Failure{Origin: protocol.OriginReplication, Type: protocol.FailureConfig,
			ExternalMessage: redact.Redact(err.Error()), Timestamp: clk.Now().UTC()}
	}
	if err := cfg.validate(); err != nil {
		return nil, configFailure(err)
	}
	mapper, err := newNameMapper(cfg.Mapping, cfg.Catalog)
	if err != nil {
		return nil, configFailure(err)
	}
	idx, err := newCatalogIndex(cfg.Catalog, mapper, cfg.SelectedFields)
	if err != nil {
		return nil, configFailure(err)
	}
	log := NewAttemptLog(cfg.Log, redact)
	log.now = clk.Now
	a := &attempt{cfg: cfg, timeouts: cfg.Timeouts.withDefaults(), clock: clk, log: log, redact: redact,
		catalog: idx, mapper: mapper, maxLine: cfg.MaxLineBytes,
		findings: newFindings(log, redact, clk), live: newLiveness(clk)}
	if a.maxLine <= 0 {
		a.maxLine = protocol.DefaultMaxLineBytes
	}
	// The ledger commits through a checkpointer that masks secrets, so
	// no state a source echoes its config into is stored as it came.
	lcfg := *cfg
	lcfg.Checkpointer = &redactingCheckpointer{next: cfg.Checkpointer, redact: redact}
	a.ledger = newLedger(ctx, &lcfg, clk, mapper, idx, a.findings.warn)
	s := &syncRun{attempt: a, rt: rt}
	if s.path, err = newDataPath(s, cfg.Mode); err != nil {
		return nil, configFailure(err)
	}
	s.mode = s.path.mode()
	s.mode.Reason = cfg.Mode.Reason
	if cfg.observe != nil {
		cfg.observe(a)
	}
	return s, nil
}

// connectorResult is what a connector's Exited reports.
type connectorResult struct {
	status ExitStatus
	err    error
}

func (s *syncRun) run(parent context.Context, res *Result) {
	vol, cleanup, err := s.path.prepare(parent)
	if err != nil {
		s.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf("could not create the socket volume: %v", err)})
		s.finish(parent, res, false)
		return
	}
	defer cleanup()
	s.socketVol = vol
	srcSpec, err := s.sourceSpec()
	var dstSpec ConnectorSpec
	if err == nil {
		dstSpec, err = s.destinationSpec()
	}
	if err != nil {
		s.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureConfig, ExternalMessage: err.Error()})
		s.finish(parent, res, false)
		return
	}
	s.matchSocketHardening(parent, &srcSpec, &dstSpec)
	s.runConnectors(parent, res, srcSpec, dstSpec)
}

// pipes join the connectors to Ferry.
type pipes struct {
	srcOutR, srcOutW, dstInR, dstInW, dstOutR, dstOutW *os.File
}

func newPipes() (*pipes, error) {
	var p pipes
	var err1, err2, err3 error
	p.srcOutR, p.srcOutW, err1 = newPipe()
	p.dstInR, p.dstInW, err2 = newPipe()
	p.dstOutR, p.dstOutW, err3 = newPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		p.closeAll()
		return nil, fmt.Errorf("could not create pipes: %w", err)
	}
	return &p, nil
}

func (p *pipes) closeAll() {
	for _, f := range []*os.File{p.srcOutR, p.srcOutW, p.dstInR, p.dstInW, p.dstOutR, p.dstOutW} {
		if f != nil {
			f.Close()
		}
	}
}

func (s *syncRun) runConnectors(parent context.Context, res *Result, srcSpec, dstSpec ConnectorSpec) {
	s.logStart()
	// runCtx ends the whole attempt (cancel, timeouts); srcCtx and dstCtx
	// also stop one side alone, e.g. the source when the destination died.
	runCtx, cancelRun := context.WithCancelCause(parent)
	defer cancelRun(nil)
	s.findings.watchCancel(parent)
	s.cancelRun = cancelRun
	s.limitDuration(runCtx)
	srcCtx, cancelSrc := context.WithCancel(runCtx)
	defer cancelSrc()
	dstCtx, cancelDst := context.WithCancel(runCtx)
	defer cancelDst()

	p, err := newPipes()
	if err != nil {
		s.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem, ExternalMessage: err.Error()})
		s.finish(parent, res, false)
		return
	}
	defer p.closeAll() // Exited closes the writers first; a second Close is harmless
	w := &wiring{srcOut: p.srcOutR, dstInR: p.dstInR, input: newDestinationInput(s.attempt, p.dstInW),
		cancelSrc: cancelSrc, cancelDst: cancelDst, srcExited: make(chan struct{})}
	pp, pumped := s.path.(*podStdioPath)
	if pumped {
		pp.wire(w, p.dstInW)
	}
	srcDone, dstDone := s.start(runCtx, srcCtx, dstCtx, srcSpec, dstSpec, p, w)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readDestination(p.dstOutR, s.path.outputIsProgress())
	}()
	stopWatch := s.watch(runCtx)
	defer stopWatch()

	fwdErr := s.path.forward(srcCtx, w)
	src := s.awaitSource(srcDone, fwdErr == nil, cancelSrc)
	res.Source = src.status
	srcOK := fwdErr == nil && src.err == nil && src.status.Success() && !s.findings.sourceFailed(s.cfg.Lenient)
	s.endInput(w.input, srcOK, fwdErr == nil)
	dst := s.awaitDestination(dstDone, cancelDst)
	res.Destination = dst.status
	<-readerDone
	if pumped {
		pp.finish(s, p.dstInW, runCtx)
	}
	stopWatch()

	s.judgeExit(RoleSource, src)
	s.judgeExit(RoleDestination, dst)
	if errors.Is(context.Cause(runCtx), errMaxDuration) && parent.Err() == nil {
		s.findings.fail(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the attempt ran longer than its maximum duration of %s", s.timeouts.MaxDuration)})
	}
	s.finish(parent, res, srcOK)
}

func (s *syncRun) logStart() {
	cfg := s.cfg
	s.log.Printf(protocol.LevelInfo, "ferry", "starting sync: mode %s (%s, %d sockets), source %s, destination %s, %d streams",
		s.mode.Mode, s.mode.Format, s.mode.Sockets, cfg.Source.Image, cfg.Destination.Image, len(cfg.Catalog.Streams))
	if s.mode.Reason != "" {
		s.log.Printf(protocol.LevelInfo, "ferry", "data channel: %s", s.mode.Reason)
	}
	if s.mode.Mode == protocol.ModeBridged {
		s.log.Printf(protocol.LevelInfo, "ferry", "bridge: %s", s.mode.Bridge)
	}
}

// limitDuration cancels the attempt when it runs past its maximum duration.
func (s *syncRun) limitDuration(runCtx context.Context) {
	if s.timeouts.MaxDuration <= 0 {
		return
	}
	t := s.clock.NewTimer(s.timeouts.MaxDuration)
	go func() {
		select {
		case <-t.C():
			s.cancelRun(errMaxDuration)
		case <-runCtx.Done():
			t.Stop()
		}
	}()
}

// start runs both connectors through the runtime and returns where each
// one's end is reported.
func (s *syncRun) start(runCtx, srcCtx, dstCtx context.Context, srcSpec, dstSpec ConnectorSpec, p *pipes, w *wiring) (src, dst <-chan connectorResult) {
	if pp, ok := s.path.(*podStdioPath); ok {
		return pp.start(s, runCtx, srcCtx, dstCtx, srcSpec, dstSpec, p, w)
	}
	s.srcStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "source stderr"))
	s.dstStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "destination stderr"))
	srcDone := make(chan connectorResult, 1)
	dstDone := make(chan connectorResult, 1)
	// The source's output is the pipe, or the runtime's own stream when it
	// hands that over (OutputTaker).
	out := newSourceOutput(p.srcOutR, p.srcOutW)
	w.srcOut = out.Reader()
	source := PairMember{Spec: srcSpec, Stdio: Stdio{Out: out.Writer(), Err: s.srcStderr}, Stop: srcCtx,
		Exited: func(st ExitStatus, err error) {
			close(w.srcExited)
			s.sourceCouldNotRun(w, err)
			s.live.sourceExited()
			s.srcStderr.Close()
			out.closeWriter()
			srcDone <- connectorResult{st, err}
		}}
	destination := PairMember{Spec: dstSpec, Stdio: Stdio{In: p.dstInR, Out: p.dstOutW, Err: s.dstStderr}, Stop: dstCtx,
		Exited: func(st ExitStatus, err error) {
			s.dstStderr.Close()
			p.dstOutW.Close()
			s.path.destinationEnded(w, st, err)
			// Closing the read end makes a pump blocked on a dead
			// destination fail with EPIPE.
			p.dstInR.Close()
			dstDone <- connectorResult{st, err}
		}}
	runPair(runCtx, s.rt, source, destination)
	return srcDone, dstDone
}

// timer returns a channel that fires after d on the attempt's clock, or
// nil (never) when d <= 0: a non-positive timeout disables its check.
func (s *syncRun) timer(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := s.clock.NewTimer(d)
	return t.C(), func() { t.Stop() }
}

// awaitSource waits for the source's exit, for SourceExit at most when its
// output ended on its own (bounded): after a pump error Ferry is stopping
// it already, with its own grace.
func (s *syncRun) awaitSource(done <-chan connectorResult, bounded bool, cancelSrc func()) connectorResult {
	var fire <-chan time.Time
	if bounded {
		var stop func()
		fire, stop = s.timer(s.timeouts.SourceExit)
		defer stop()
	}
	select {
	case r := <-done:
		return r
	case <-fire:
		s.log.Printf(protocol.LevelWarn, "ferry", "the source closed its stdout but did not exit within %s; stopping it", s.timeouts.SourceExit)
		s.findings.fail(Failure{Origin: protocol.OriginSource, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the source closed its output but did not exit within %s", s.timeouts.SourceExit)})
		cancelSrc()
		return <-done
	}
}

// endInput ends the destination's input: COMPLETE statuses first, only
// when the source succeeded (G5).
func (s *syncRun) endInput(in *destinationInput, srcOK, forwarded bool) {
	if err := s.path.endInput(in, srcOK && !s.cfg.NoCompleteStatus); err != nil && forwarded {
		s.destinationWriteFailed(err)
	}
}

// awaitDestination gives the destination EndOfInput to finish after the
// end of its input (G8).
func (s *syncRun) awaitDestination(done <-chan connectorResult, cancelDst func()) connectorResult {
	fire, stop := s.timer(s.timeouts.EndOfInput)
	defer stop()
	select {
	case r := <-done:
		return r
	case <-fire:
		s.findings.stop(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureDestinationTimeout,
			ExternalMessage: fmt.Sprintf("the destination did not exit within %s after the end of its input", s.timeouts.EndOfInput)})
		cancelDst()
		return <-done
	}
}

// judgeExit turns a connector's end into a failure when it is one. A stop
// Ferry caused (cancel, timeout, the other side failing) is not the
// connector's fault; the cause was recorded where it happened.
func (s *syncRun) judgeExit(role Role, r connectorResult) {
	origin, tail := protocol.OriginSource, s.srcStderr
	if role == RoleDestination {
		origin, tail = protocol.OriginDestination, s.dstStderr
	}
	if role == RoleSource && s.srcJudged.Load() {
		return
	}
	if r.err != nil {
		if !errors.Is(r.err, ErrCancelled) {
			s.findings.fail(runFailure(role, r.err))
		}
		return
	}
	if r.status.Success() || r.status.Signalled {
		return
	}
	code := r.status.Code
	msg := fmt.Sprintf("the %s failed: %s", role, r.status)
	if !s.findings.hasTrace(origin) {
		msg = fmt.Sprintf("Something went wrong within the %s connector: %s", role, r.status)
		if t := tail.Tail(); t != "" {
			msg += "; last stderr lines:\n" + t
		}
	}
	s.findings.fail(Failure{Origin: origin, Type: protocol.FailureSystem, ExternalMessage: msg, ExitCode: &code})
}

// runFailure is the failure of a connector that could not be run.
func runFailure(role Role, err error) Failure {
	origin := protocol.OriginSource
	if role == RoleDestination {
		origin = protocol.OriginDestination
	}
	typ := protocol.FailureSystem
	var nf *ImageNotFoundError
	if errors.As(err, &nf) {
		typ = protocol.FailureConfig // retrying cannot help
	}
	return Failure{Origin: origin, Type: typ, ExternalMessage: fmt.Sprintf("could not run the %s: %v", role, err)}
}

// sourceCouldNotRun stops the destination at once, in socket mode, when
// the source's Run failed (a missing image, a container that would not
// start): the destination would wait for the source's sockets until its
// connect timeout, and then its own failure would come first. The
// source's failure is recorded now as the cause, so it is listed first.
// In stdio and bridged mode the end of the source's output ends the
// destination's input, which ends it.
func (s *syncRun) sourceCouldNotRun(w *wiring, err error) {
	if _, sockets := s.path.(*socketPath); !sockets || err == nil || errors.Is(err, ErrCancelled) {
		return
	}
	s.findings.stop(runFailure(RoleSource, err))
	s.srcJudged.Store(true)
	w.cancelDst()
}

// finish makes the final commit and fills the result (G4: success only when
// the final state and stats are durably committed).
func (s *syncRun) finish(parent context.Context, res *Result, srcOK bool) {
	lenient := s.cfg.Lenient
	s.findings.closeBooks(lenient)
	c := s.ledger.close(srcOK, func(msg string) { s.findings.mismatch(msg, s.cfg.FailOnCountMismatch) })
	if c.unmatched > 0 {
		s.findings.protocolError(fmt.Errorf("%d acknowledgements named states the source never sent", c.unmatched))
		if !lenient {
			s.findings.fail(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureSystem,
				ExternalMessage: fmt.Sprintf("the destination acknowledged %d states the source never sent", c.unmatched)})
		}
	}
	if srcOK && c.pending > 0 {
		s.findings.warn("%d forwarded states were never acknowledged; the next run resumes from the last acknowledged one", c.pending)
	}
	if srcOK && c.waiting > 0 {
		s.findings.warn("%d acknowledged states were not committed: an earlier state of their stream was never acknowledged", c.waiting)
	}
	if !c.committedAny && c.stats.StatesEmitted > 0 {
		s.findings.warn("no acknowledged state; the next run restarts from the last committed state")
	}
	if parent.Err() != nil || s.findings.failing() {
		endUnfinished(c.stats.Streams)
	}
	// The final commit runs even after a cancel: acknowledged state must not
	// be lost (G3).
	if err := s.ledger.commitFinal(c); err != nil {
		s.findings.fail(commitFailure(fmt.Errorf("could not commit the final state and stats: %w", err)))
	}
	s.findings.report(res, c.ignoredAcks)
	res.Stats, res.CommittedState, res.CommittedAnyState = c.stats, redactStates(s.redact, c.states), c.committedAny
	switch {
	case parent.Err() != nil:
		res.Status = StatusCancelled
		res.Failures = append([]Failure{{Origin: protocol.OriginPlatform, Type: protocol.FailureManualCancellation,
			ExternalMessage: "the sync was cancelled", Timestamp: s.clock.Now().UTC()}}, res.Failures...)
	case len(res.Failures) > 0:
		res.Status = StatusFailed
	default:
		res.Status = StatusSucceeded
	}
	st := c.stats
	s.log.Printf(protocol.LevelInfo, "ferry", "sync %s: %d records (%d bytes) forwarded, %d committed, %d of %d states committed",
		res.Status, st.RecordsEmitted, st.BytesEmitted, st.RecordsCommitted, st.StatesCommitted, st.StatesEmitted)
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
	"github.com/ferrysync/ferry/secret"
)

// Result describes a finished attempt. Sync always returns one, also when
// it returns an error.
type Result struct {
	Status Status `json:"status"`
	// Mode, Format and Sockets record the data channel (DESIGN.md, mode
	// selection).
	Mode    string `json:"mode"`
	Format  string `json:"format"`
	Sockets int    `json:"sockets,omitempty"`

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

// Data channel names.
const (
	ModeStdio   = "stdio"
	ModeSocket  = "socket"
	ModeBridged = "bridged"
)

// errDestinationExited is what writes to the destination's stdin fail with
// once the destination has exited.
var errDestinationExited = errors.New("the destination exited")

// maxTraceFailures caps the ERROR traces kept as failure reasons (G10).
const maxTraceFailures = 100

// maxNonProtocolLogs caps how many non-protocol stdout lines are logged per
// connector (PROTOCOL.md 4.7); the rest are only counted.
const maxNonProtocolLogs = 1000

// syncRun is one attempt in progress.
type syncRun struct {
	rt       Runtime
	cfg      *Config
	timeouts Timeouts
	log      *AttemptLog
	redact   *secret.Redactor
	mapper   *nameMapper
	catalog  *catalogIndex
	maxLine  int

	// mu guards tracker, stats, failures and the lists below. The pump and
	// the destination reader both take it, briefly, per message.
	mu      sync.Mutex
	tracker *stateTracker // stdio: Ferry's ids and pending states
	book    *socketBook   // socket: the source's ids and staged states
	acks    ackMatcher    // tracker or book
	mode    Mode
	// commitMu serializes commits, so a newer snapshot is never overtaken
	// by an older one.
	commitMu       sync.Mutex
	stats          *statsBook
	traceFailures  []Failure // ERROR traces from both connectors
	lateTraces     []Failure // ERROR traces that came after Ferry stopped the attempt
	droppedTraces  int       // ERROR traces over maxTraceFailures, counted only
	ignoredAcks    int       // acknowledgements older than the committed state
	stopCause      *Failure  // why Ferry stopped the attempt, if it did
	failures       []Failure // Ferry's own findings
	warnings       []string
	protocolErrors []string
	committedAny   bool
	droppedRecords int64 // record-like lines that could not be parsed
	nonProtocol    [2]int64
	lastStateKey   map[protocol.StreamDescriptor][32]byte

	// progress counts source RECORD and STATE lines, for the watchdog.
	progress atomic.Int64
	// writeStart is the unix-nano time a write to the destination began,
	// 0 when no write is in flight.
	writeStart atomic.Int64

	srcStderr, dstStderr *tailWriter
	socketVol            string
	protoCatalog         *protobuf.Catalog // bridged mode with PROTOBUF
	// inputClosed is set once Ferry has closed the destination's stdin.
	inputClosed atomic.Bool
	// srcExited is closed when the source's Run returned.
	srcExited chan struct{}
	// cancelRun ends the attempt; set in runConnectors.
	cancelRun func(error)
	// commitCtx outlives a cancel: acknowledged state is committed anyway.
	commitCtx context.Context
}

// Sync runs one attempt in stdio mode: the source's stdout goes through
// Ferry to the destination's stdin, and the destination's acknowledgements
// are committed through cfg.Checkpointer. It returns a *SyncError when the
// attempt did not succeed; the Result is always filled.
//
// Goroutines and pipes, and who closes what:
//
//		source Run ──srcOut pipe──▶ pump ──dstIn pipe──▶ destination Run ──dstOut pipe──▶ destination reader
//
//	  - the source goroutine closes srcOut's writer when Run returns;
//	  - the pump closes dstIn's writer at end of input (after COMPLETE
//	    statuses when the source exited 0), or when it stops early;
//	  - the destination goroutine closes dstOut's writer when Run returns and
//	    fails dstIn's reader, so a pump blocked on a dead destination wakes;
//	  - the destination reader reads dstOut to EOF in every case, so late
//	    acknowledgements still commit (G3).
func Sync(ctx context.Context, rt Runtime, cfg Config) (*Result, error) {
	started := time.Now()
	res := &Result{Mode: ModeStdio, Format: FormatJSONL, Started: started}
	fail := func(f Failure) (*Result, error) {
		res.Status = StatusFailed
		res.Ended = time.Now()
		res.Failures = []Failure{f}
		return res, &SyncError{Status: StatusFailed, Failures: res.Failures}
	}
	redact := secret.NewRedactor(cfg.Secrets)
	if err := cfg.validate(); err != nil {
		return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig,
			ExternalMessage: redact.Redact(err.Error()), Timestamp: started.UTC()})
	}
	mapper, err := newNameMapper(cfg.Mapping, cfg.Catalog)
	if err != nil {
		return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig, ExternalMessage: err.Error(), Timestamp: started.UTC()})
	}
	idx, err := newCatalogIndex(cfg.Catalog, mapper, cfg.SelectedFields)
	if err != nil {
		return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig, ExternalMessage: err.Error(), Timestamp: started.UTC()})
	}
	s := &syncRun{
		rt:           rt,
		cfg:          &cfg,
		timeouts:     cfg.Timeouts.withDefaults(),
		log:          NewAttemptLog(cfg.Log, redact),
		redact:       redact,
		mapper:       mapper,
		catalog:      idx,
		maxLine:      cfg.MaxLineBytes,
		stats:        newStatsBook(idx),
		mode:         cfg.Mode,
		lastStateKey: make(map[protocol.StreamDescriptor][32]byte),
	}
	if s.maxLine <= 0 {
		s.maxLine = protocol.DefaultMaxLineBytes
	}
	switch s.mode.Mode {
	case "", ModeStdio:
		s.mode = Mode{Mode: ModeStdio, Format: FormatJSONL}
		s.tracker = newStateTracker(idx, cfg.State)
		s.acks = s.tracker
	case ModeSocket:
		if len(cfg.SelectedFields) > 0 {
			return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig, ExternalMessage: "field selection needs stdio mode", Timestamp: started.UTC()})
		}
		if s.mode.Sockets <= 0 {
			s.mode.Sockets = 2
		}
		s.book = newSocketBook(idx, cfg.State)
		s.acks = s.book
		s.stats.fromSourceStats = true
	case ModeBridged:
		if s.mode.Sockets <= 0 {
			s.mode.Sockets = 2
		}
		if s.protoCatalog, err = protobuf.NewConfiguredCatalog(cfg.Catalog); err != nil {
			return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig, ExternalMessage: "bridged mode: " + err.Error(), Timestamp: started.UTC()})
		}
		s.tracker = newStateTracker(idx, cfg.State)
		// The source counts per partition; the destination counts what
		// Ferry delivered per stream, so Ferry's count is the one to send.
		s.tracker.overrideCounts = true
		s.acks = s.tracker
	default:
		return fail(Failure{Origin: OriginReplication, Type: protocol.FailureConfig,
			ExternalMessage: fmt.Sprintf("data channel %q is not supported", s.mode.Mode), Timestamp: started.UTC()})
	}
	res.Mode, res.Format, res.Sockets = s.mode.Mode, s.mode.Format, s.mode.Sockets
	s.run(ctx, res)
	res.Ended = time.Now()
	if res.Status != StatusSucceeded {
		return res, &SyncError{Status: res.Status, Failures: res.Failures}
	}
	return res, nil
}

// connectorResult is what a connector goroutine reports.
type connectorResult struct {
	status ExitStatus
	err    error
}

func (s *syncRun) run(parent context.Context, res *Result) {
	if s.mode.Mode == ModeSocket || s.mode.Mode == ModeBridged {
		newVol := s.socketVolume
		if s.mode.Mode == ModeBridged {
			newVol = func(context.Context) (string, func(), error) { return bridgeDir() }
		}
		vol, cleanup, err := newVol(parent)
		if err != nil {
			s.addFailure(Failure{Origin: OriginReplication, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf("could not create the socket volume: %v", err)})
			s.finish(parent, res, false)
			return
		}
		defer cleanup()
		s.socketVol = vol
	}
	srcSpec, err := s.sourceSpec()
	if err == nil {
		var dstSpec ConnectorSpec
		dstSpec, err = s.destinationSpec()
		if err == nil {
			s.runConnectors(parent, res, srcSpec, dstSpec)
			return
		}
	}
	s.addFailure(Failure{Origin: OriginReplication, Type: protocol.FailureConfig, ExternalMessage: err.Error()})
	s.finish(parent, res, false)
}

func (s *syncRun) runConnectors(parent context.Context, res *Result, srcSpec, dstSpec ConnectorSpec) {
	cfg := s.cfg
	s.commitCtx = context.WithoutCancel(parent)
	s.log.Printf(protocol.LevelInfo, "ferry", "starting sync: mode %s (%s, %d sockets), source %s, destination %s, %d streams",
		s.mode.Mode, s.mode.Format, s.mode.Sockets, cfg.Source.Image, cfg.Destination.Image, len(cfg.Catalog.Streams))
	if s.mode.Reason != "" {
		s.log.Printf(protocol.LevelInfo, "ferry", "data channel: %s", s.mode.Reason)
	}

	// runCtx ends the whole attempt (cancel, timeouts); srcCtx and dstCtx
	// also stop one side alone, e.g. the source when the destination died.
	runCtx, cancelRun := context.WithCancelCause(parent)
	defer cancelRun(nil)
	if s.timeouts.MaxDuration > 0 {
		var cancelMax context.CancelFunc
		runCtx, cancelMax = context.WithTimeoutCause(runCtx, s.timeouts.MaxDuration, errMaxDuration)
		defer cancelMax()
	}
	srcCtx, cancelSrc := context.WithCancel(runCtx)
	defer cancelSrc()
	dstCtx, cancelDst := context.WithCancel(runCtx)
	defer cancelDst()

	srcOutR, srcOutW, err1 := newPipe()
	dstInR, dstInW, err2 := newPipe()
	dstOutR, dstOutW, err3 := newPipe()
	for _, f := range []*os.File{srcOutR, dstInR, dstOutR} {
		if f != nil {
			defer f.Close()
		}
	}
	if err := errors.Join(err1, err2, err3); err != nil {
		for _, f := range []*os.File{srcOutW, dstInW, dstOutW} {
			if f != nil {
				f.Close()
			}
		}
		s.addFailure(Failure{Origin: OriginReplication, Type: protocol.FailureSystem, ExternalMessage: fmt.Sprintf("could not create pipes: %v", err)})
		s.finish(parent, res, false)
		return
	}
	s.srcStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "source stderr"))
	s.dstStderr = newTailWriter(s.log.LineWriter(protocol.LevelInfo, "destination stderr"))

	srcDone := make(chan connectorResult, 1)
	dstDone := make(chan connectorResult, 1)
	readerDone := make(chan struct{})

	s.srcExited = make(chan struct{})
	s.cancelRun = cancelRun
	go func() {
		st, err := s.rt.Run(srcCtx, srcSpec, Stdio{Out: srcOutW, Err: s.srcStderr})
		close(s.srcExited)
		s.srcStderr.Close()
		srcOutW.Close()
		srcDone <- connectorResult{st, err}
	}()
	go func() {
		st, err := s.rt.Run(dstCtx, dstSpec, Stdio{In: dstInR, Out: dstOutW, Err: s.dstStderr})
		s.dstStderr.Close()
		dstOutW.Close()
		if s.mode.Mode == ModeSocket && (err != nil || !st.Success()) && !s.sourceExited() {
			// A socket-mode destination that failed (or never started)
			// leaves the source waiting for a client on its sockets: stop
			// it now instead of at its connect timeout.
			cancelSrc()
		}
		if !s.inputClosed.Load() && s.mode.Mode != ModeSocket {
			// (In socket mode the destination reads no stdin and may end as
			// soon as its sockets do.) The destination is gone before the end
			// of its input: the
			// source cannot deliver anything any more, even while idle, so
			// stop it now rather than at the pump's next write (PROTOCOL.md
			// 4.4).
			s.destinationWriteFailed(errDestinationExited)
			cancelSrc()
		} else if n := unreadBytes(dstInR); n > 0 && err == nil {
			// It exited without reading all of its input (the kernel pipe
			// buffer held it): those records were never written.
			s.addFailure(Failure{Origin: OriginDestination, Type: protocol.FailureSystem,
				ExternalMessage: fmt.Sprintf("the destination exited without reading the last %d bytes of its input", n)})
		}
		// Closing the read end makes a pump blocked on a dead destination
		// fail with EPIPE.
		dstInR.Close()
		dstDone <- connectorResult{st, err}
	}()
	go func() {
		defer close(readerDone)
		s.readDestination(dstOutR, cancelRun)
	}()
	stopWatch := s.watch(runCtx, cancelRun)
	defer stopWatch()

	// The pump runs here until the source's stdout ends or it must stop. In
	// bridged mode it reads the merged socket stream instead, and a second
	// pump keeps the books of the source's stdout.
	p := &pump{s: s, dst: newTimedWriter(dstInW, &s.writeStart), socket: s.mode.Mode == ModeSocket}
	var pumpErr error
	if s.mode.Mode == ModeBridged {
		pumpErr = s.runBridged(srcCtx, cancelSrc, p, srcOutR)
	} else {
		pumpErr = p.run(srcOutR)
		if pumpErr != nil {
			// Stop the source and keep draining its stdout so its Run can return.
			cancelSrc()
			go io.Copy(io.Discard, srcOutR) //nolint:errcheck // draining only
		}
	}

	// Wait for the source's exit, briefly if its stdout closed on its own.
	// After a pump error Ferry is stopping it already, with its own grace.
	var src connectorResult
	exitTimer := timer(s.timeouts.SourceExit)
	if pumpErr != nil {
		exitTimer = nil
	}
	select {
	case src = <-srcDone:
	case <-exitTimer:
		s.log.Printf(protocol.LevelWarn, "ferry", "the source closed its stdout but did not exit within %s; stopping it", s.timeouts.SourceExit)
		s.addFailure(Failure{Origin: OriginSource, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the source closed its output but did not exit within %s", s.timeouts.SourceExit)})
		cancelSrc()
		src = <-srcDone
	}
	res.Source = src.status
	srcOK := pumpErr == nil && src.err == nil && src.status.Success() && !s.sourceFailed()

	// End of input: COMPLETE statuses only when the source succeeded (G5).
	if srcOK && !cfg.NoCompleteStatus && !p.socket {
		if err := p.writeComplete(); err != nil {
			s.log.Printf(protocol.LevelWarn, "ferry", "could not send COMPLETE statuses: %v", err)
		}
	}
	if err := p.close(); err != nil && pumpErr == nil {
		pumpErr = err
		s.destinationWriteFailed(err)
	}

	// The destination gets EndOfInput to finish after EOF (G8).
	var dst connectorResult
	select {
	case dst = <-dstDone:
	case <-timer(s.timeouts.EndOfInput):
		s.stopFor(Failure{Origin: OriginDestination, Type: FailureDestinationTimeout,
			ExternalMessage: fmt.Sprintf("the destination did not exit within %s after the end of its input", s.timeouts.EndOfInput)})
		cancelDst()
		dst = <-dstDone
	}
	res.Destination = dst.status
	<-readerDone
	stopWatch()

	s.judgeExit(RoleSource, src, runCtx)
	s.judgeExit(RoleDestination, dst, runCtx)
	if cause := context.Cause(runCtx); cause != nil && parent.Err() == nil && !errors.Is(cause, context.Canceled) {
		if errors.Is(cause, errMaxDuration) {
			s.addFailure(Failure{Origin: OriginReplication, Type: protocol.FailureSystem,
				ExternalMessage: fmt.Sprintf("the attempt ran longer than its maximum duration of %s", s.timeouts.MaxDuration)})
		}
	}
	s.finish(parent, res, srcOK)
}

var errMaxDuration = errors.New("maximum attempt duration reached")

// timer returns a channel that fires after d, or nil (never) when d <= 0:
// a non-positive timeout disables its check.
func timer(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.After(d)
}

// sourceFailed reports a source-side failure that the exit code does not
// show: an ERROR trace, a dropped record-like line in strict mode, or a
// failure Ferry recorded against the source. A source that failed must not
// get COMPLETE statuses, even after exiting 0 (G5).
func (s *syncRun) sourceFailed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.droppedRecords > 0 && !s.cfg.Lenient {
		return true
	}
	for _, list := range [][]Failure{s.traceFailures, s.failures} {
		for _, f := range list {
			if f.Origin == OriginSource {
				return true
			}
		}
	}
	return false
}

// runBridged runs bridged mode's two readers: the bridge merges the
// source's sockets into the pump, and a bookkeeping pump reads the source's
// stdout (logs, traces, control; its state copies are ignored, since the
// socket copies are the ones ordered with the records).
func (s *syncRun) runBridged(srcCtx context.Context, cancelSrc func(), p *pump, srcOut io.Reader) error {
	paths := SocketPaths(s.mode.Sockets)
	for i, sp := range paths {
		paths[i] = filepath.Join(s.socketVol, filepath.Base(sp))
	}
	mergedR, mergedW := io.Pipe()
	br := &bridge{s: s, paths: paths, catalog: s.protoCatalog, connect: s.timeouts.SocketConnect, srcExited: s.srcExited}
	bridgeDone := make(chan struct{})
	go func() {
		defer close(bridgeDone)
		br.run(srcCtx, mergedW) //nolint:errcheck // failures are recorded by the bridge
	}()
	// The bridge must be finished before the attempt's findings are read.
	defer func() { <-bridgeDone }()
	stdoutDone := make(chan error, 1)
	go func() {
		books := &pump{s: s, socket: true, bridged: true}
		err := books.run(srcOut)
		if err != nil {
			cancelSrc()
			io.Copy(io.Discard, srcOut) //nolint:errcheck // draining only
		}
		stdoutDone <- err
	}()
	err := p.run(mergedR)
	if err != nil {
		cancelSrc()
		go io.Copy(io.Discard, mergedR) //nolint:errcheck // draining only
	}
	if serr := <-stdoutDone; err == nil {
		err = serr
	}
	return err
}

// judgeExit turns a connector's end into a failure when it is one. A stop
// Ferry caused (cancel, timeout, the other side failing) is not the
// connector's fault; the cause was recorded where it happened.
func (s *syncRun) judgeExit(role Role, r connectorResult, runCtx context.Context) {
	origin := OriginSource
	tail := s.srcStderr
	if role == RoleDestination {
		origin, tail = OriginDestination, s.dstStderr
	}
	if r.err != nil {
		if errors.Is(r.err, ErrCancelled) {
			return
		}
		typ := protocol.FailureSystem
		var nf *ImageNotFoundError
		if errors.As(r.err, &nf) {
			typ = protocol.FailureConfig // retrying cannot help
		}
		s.addFailure(Failure{Origin: origin, Type: typ,
			ExternalMessage: fmt.Sprintf("could not run the %s: %v", role, r.err)})
		return
	}
	if r.status.Success() || r.status.Signalled {
		return
	}
	s.mu.Lock()
	hasTrace := false
	for _, f := range s.traceFailures {
		if f.Origin == origin {
			hasTrace = true
		}
	}
	s.mu.Unlock()
	code := r.status.Code
	msg := fmt.Sprintf("the %s failed: %s", role, r.status)
	if !hasTrace {
		msg = fmt.Sprintf("Something went wrong within the %s connector: %s", role, r.status)
		if t := tail.Tail(); t != "" {
			msg += "; last stderr lines:\n" + t
		}
	}
	s.addFailure(Failure{Origin: origin, Type: protocol.FailureSystem, ExternalMessage: msg, ExitCode: &code})
}

// finish makes the final commit and fills the result (G4: success only when
// the final state and stats are durably committed).
func (s *syncRun) finish(parent context.Context, res *Result, srcOK bool) {
	s.mu.Lock()
	if s.droppedRecords > 0 {
		msg := fmt.Sprintf("%d record-like lines from the source could not be parsed and were dropped", s.droppedRecords)
		if s.cfg.Lenient {
			s.warnings = append(s.warnings, msg)
		} else {
			s.failures = append(s.failures, s.complete(Failure{Origin: OriginSource, Type: protocol.FailureSystem, ExternalMessage: msg}))
		}
	}
	if len(s.protocolErrors) > 0 && !s.cfg.Lenient {
		s.failures = append(s.failures, s.complete(Failure{Origin: OriginDestination, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the destination sent %d invalid acknowledgements; first: %s", len(s.protocolErrors), s.protocolErrors[0])}))
	}
	s.checkCounts(srcOK)
	stats := s.stats.snapshot()
	states := s.acks.committedStates()
	pending := s.acks.pendingCount()
	if s.book != nil {
		if n := s.book.unmatched(); n > 0 {
			s.protocolErrors = appendCapped(s.protocolErrors, fmt.Sprintf("%d acknowledgements named states the source never sent", n))
			if !s.cfg.Lenient {
				s.failures = append(s.failures, s.complete(Failure{Origin: OriginDestination, Type: protocol.FailureSystem,
					ExternalMessage: fmt.Sprintf("the destination acknowledged %d states the source never sent", n)}))
			}
		}
	}
	committedAny := s.committedAny
	s.mu.Unlock()

	if srcOK && pending > 0 {
		s.warn("%d forwarded states were never acknowledged; the next run resumes from the last acknowledged one", pending)
	}
	if !committedAny && stats.StatesEmitted > 0 {
		s.warn("no acknowledged state; the next run restarts from the last committed state")
	}
	// The final commit runs even after a cancel: acknowledged state must not
	// be lost (G3).
	err := s.cfg.Checkpointer.Commit(context.WithoutCancel(parent), Checkpoint{States: states, Stats: stats, Final: true})
	if err != nil {
		s.addFailure(Failure{Origin: OriginPersistence, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("could not commit the final state and stats: %v", err)})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sortFailures(s.traceFailures)
	// Ferry's reason for stopping comes first: the traces connectors write
	// when they are terminated are consequences, not causes.
	if s.stopCause != nil {
		res.Failures = append(res.Failures, *s.stopCause)
	}
	res.Failures = append(res.Failures, s.traceFailures...)
	res.Failures = append(res.Failures, s.failures...)
	res.Failures = append(res.Failures, s.lateTraces...)
	if s.ignoredAcks > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%d acknowledgements older than the committed state were ignored", s.ignoredAcks))
	}
	if s.droppedTraces > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("%d more ERROR traces were not kept", s.droppedTraces))
	}
	res.Warnings = s.warnings
	res.ProtocolErrors = s.protocolErrors
	res.Stats = stats
	res.CommittedState = states
	res.CommittedAnyState = committedAny
	switch {
	case parent.Err() != nil:
		res.Status = StatusCancelled
		res.Failures = append([]Failure{{Origin: OriginPlatform, Type: FailureManualCancellation,
			ExternalMessage: "the sync was cancelled", Timestamp: time.Now().UTC()}}, res.Failures...)
	case len(res.Failures) > 0:
		res.Status = StatusFailed
	default:
		res.Status = StatusSucceeded
	}
	s.log.Printf(protocol.LevelInfo, "ferry", "sync %s: %d records (%d bytes) forwarded, %d committed, %d of %d states committed",
		res.Status, stats.RecordsEmitted, stats.BytesEmitted, stats.RecordsCommitted, stats.StatesCommitted, stats.StatesEmitted)
}

// checkCounts compares the source's, Ferry's and the destination's record
// counts per stream (G12). Called with mu held.
func (s *syncRun) checkCounts(srcOK bool) {
	for _, st := range s.stats.streams {
		var msgs []string
		if s.tracker != nil && st.SourceRecordCount > 0 && srcOK && s.tracker.pendingCount() == 0 && st.SourceRecordCount != st.RecordsCommitted && st.StatesEmitted > 0 {
			msgs = append(msgs, fmt.Sprintf("stream %s: the source's states count %d records, Ferry forwarded %d under them", st.Stream, st.SourceRecordCount, st.RecordsCommitted))
		}
		if st.DestinationRecordCount > 0 && st.DestinationRecordCount != st.RecordsCommitted {
			msgs = append(msgs, fmt.Sprintf("stream %s: the destination acknowledged %d records, Ferry forwarded %d under the same states", st.Stream, st.DestinationRecordCount, st.RecordsCommitted))
		}
		for _, m := range msgs {
			if s.cfg.FailOnCountMismatch {
				s.failures = append(s.failures, s.complete(Failure{Origin: OriginReplication, Type: protocol.FailureSystem, ExternalMessage: m}))
			} else {
				s.warnings = append(s.warnings, m)
				s.log.Line(protocol.LevelWarn, "ferry", m)
			}
		}
	}
}

func (s *syncRun) addFailure(f Failure) {
	f = s.complete(f)
	s.log.Line(protocol.LevelError, "ferry", f.ExternalMessage)
	s.mu.Lock()
	s.failures = append(s.failures, f)
	s.mu.Unlock()
}

// complete fills what every failure Ferry records needs: a time, redacted
// text, and whether a retry may help.
func (s *syncRun) complete(f Failure) Failure {
	if f.Timestamp.IsZero() {
		f.Timestamp = time.Now().UTC()
	}
	f.ExternalMessage = s.redact.Redact(f.ExternalMessage)
	f.InternalMessage = s.redact.Redact(f.InternalMessage)
	f.Retryable = f.Type != protocol.FailureConfig
	return f
}

// stopFor records why Ferry stops the attempt (a timeout): that failure is
// shown first, and traces that arrive afterwards are listed last.
func (s *syncRun) stopFor(f Failure) {
	f = s.complete(f)
	s.log.Line(protocol.LevelError, "ferry", f.ExternalMessage)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopCause == nil {
		s.stopCause = &f
		return
	}
	s.failures = append(s.failures, f)
}

func (s *syncRun) warn(format string, args ...any) {
	msg := s.redact.Redact(fmt.Sprintf(format, args...))
	s.log.Line(protocol.LevelWarn, "ferry", msg)
	s.mu.Lock()
	s.warnings = append(s.warnings, msg)
	s.mu.Unlock()
}

// destinationWriteFailed records that the destination stopped taking input.
func (s *syncRun) destinationWriteFailed(err error) {
	msg := fmt.Sprintf("the destination stopped reading its input: %v", err)
	if isBrokenPipe(err) {
		msg = "the destination exited before the end of its input"
	}
	s.addFailure(Failure{Origin: OriginDestination, Type: protocol.FailureSystem, ExternalMessage: msg})
}

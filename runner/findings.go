package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// maxTraceFailures caps the ERROR traces kept as failure reasons (G10).
const maxTraceFailures = 100

// maxNonProtocolLogs caps how many non-protocol stdout lines are logged per
// connector (docs/protocol.md 4.7); the rest are only counted.
const maxNonProtocolLogs = 1000

// findings collects what an attempt found wrong: failures, warnings and the
// destination's protocol errors. Every part of an attempt reports here; it
// has its own lock and is read once, by finish, when the parts are done.
type findings struct {
	log    *AttemptLog
	redact *secret.Redactor
	clock  clock.Clock

	mu             sync.Mutex
	failures       []Failure // Ferry's own findings
	traceFailures  []Failure // ERROR traces from both connectors
	lateTraces     []Failure // ERROR traces after Ferry stopped the attempt
	droppedTraces  int       // ERROR traces over maxTraceFailures, counted only
	stopCause      *Failure  // why Ferry stopped the attempt, if it did
	warnings       []string
	protocolErrors []string
	droppedRecords int64 // record-like lines that could not be used
	nonProtocol    [2]int64
	errorLogs      [2][]string // the last ERROR/FATAL log lines per connector
	// userCancel is set once the caller cancelled the attempt: what the
	// connectors report while they are being stopped (Ferry's kit sends a
	// transient_error "connector stopped by signal") is a consequence of
	// the cancel, not a failure to show beside it.
	// The check reads the context's Err, set synchronously by the cancel,
	// so a trace that follows the cancel is never raced.
	userCancel  context.Context
	afterCancel int // failures and traces dropped as consequences, counted
}

// maxErrorLogs is how many of a connector's last ERROR and FATAL log lines
// go with its failure, and maxErrorLogText how long each may be.
const (
	maxErrorLogs    = 5
	maxErrorLogText = 2000
)

// errorLog keeps the connector's last ERROR and FATAL log lines: when its
// ERROR trace says only "Something went wrong in the connector. See the
// logs for more details.", they are the logs it means.
func (f *findings) errorLog(role Role, l *protocol.Log) {
	if l == nil || !IsErrorLevel(l.Level) {
		return
	}
	side := 0
	if role == RoleDestination {
		side = 1
	}
	// Redact, then cap: a secret across the cut must not leak its start.
	msg := capText(f.redact.Redact(strings.TrimSpace(l.Message+stackSuffix(l.StackTrace))), maxErrorLogText)
	f.mu.Lock()
	defer f.mu.Unlock()
	logs := append(f.errorLogs[side], msg)
	if len(logs) > maxErrorLogs {
		logs = logs[len(logs)-maxErrorLogs:]
	}
	f.errorLogs[side] = logs
}

// undeserializableInput is how older Python CDKs log an input line they
// cannot parse: a destination built before STREAM_STATUS traces existed
// logs every one Ferry sends at the end of input (one per stream).
const undeserializableInput = "ignoring input which can't be deserialized"

// logLevel is the level a connector's log line is kept at. Ferry keeps
// sending STREAM_STATUS at the end of input, since newer destinations need
// COMPLETE to finalise an overwrite; an older destination's complaint
// about it is expected, so it is kept at debug level, not shown as a
// warning (docs/protocol.md 5.9).
func logLevel(role Role, level, msg string) string {
	if role == RoleDestination && strings.Contains(msg, undeserializableInput) {
		return protocol.LevelDebug
	}
	return level
}

// IsErrorLevel reports whether a log level is ERROR or FATAL.
func IsErrorLevel(level string) bool {
	return strings.EqualFold(level, protocol.LevelError) || strings.EqualFold(level, protocol.LevelFatal)
}

// ErrorLogTail returns the last n ERROR and FATAL lines of logs, for a
// failed spec, check or discover.
func ErrorLogTail(logs []protocol.Log, n int) []string {
	var out []string
	for i := len(logs) - 1; i >= 0 && len(out) < n; i-- {
		if IsErrorLevel(logs[i].Level) {
			out = append(out, capText(strings.TrimSpace(logs[i].Message+stackSuffix(logs[i].StackTrace)), maxErrorLogText))
		}
	}
	slices.Reverse(out)
	return out
}

// attachErrorLogs gives each connector's first failure its last error log
// lines; the other failures of the same connector would only repeat them.
func (f *findings) attachErrorLogs(failures []Failure) {
	done := [2]bool{}
	for i := range failures {
		side := -1
		switch failures[i].Origin {
		case protocol.OriginSource:
			side = 0
		case protocol.OriginDestination:
			side = 1
		}
		if side < 0 || done[side] || len(f.errorLogs[side]) == 0 {
			continue
		}
		done[side] = true
		failures[i].LastErrorLogs = slices.Clone(f.errorLogs[side])
	}
}

func newFindings(log *AttemptLog, redact *secret.Redactor, c clock.Clock) *findings {
	return &findings{log: log, redact: redact, clock: c}
}

// complete fills what every failure Ferry records needs: a time, redacted
// text, and whether a retry may help.
func (f *findings) complete(fl Failure) Failure {
	if fl.Timestamp.IsZero() {
		fl.Timestamp = f.clock.Now().UTC()
	}
	fl.ExternalMessage = f.redact.Redact(fl.ExternalMessage)
	fl.InternalMessage = f.redact.Redact(fl.InternalMessage)
	fl.Retryable = fl.Type != protocol.FailureConfig
	return fl
}

// fail records a failure and logs it.
func (f *findings) fail(fl Failure) {
	fl = f.complete(fl)
	f.log.Line(protocol.LevelError, "ferry", fl.ExternalMessage)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.consequenceOfCancel(fl) {
		return
	}
	f.failures = append(f.failures, fl)
}

// watchCancel takes the caller's context: once it is cancelled (a user's
// cancel, a shutdown), the connectors' failures are what stopping them
// caused. Ferry's own failures to keep the books (a commit that failed)
// still count.
func (f *findings) watchCancel(ctx context.Context) {
	f.mu.Lock()
	f.userCancel = ctx
	f.mu.Unlock()
}

// consequenceOfCancel reports, under f.mu, whether fl came from a
// connector being stopped by a cancel, and counts it.
func (f *findings) consequenceOfCancel(fl Failure) bool {
	if f.userCancel == nil || f.userCancel.Err() == nil || (fl.Origin != protocol.OriginSource && fl.Origin != protocol.OriginDestination) {
		return false
	}
	f.afterCancel++
	return true
}

// failing reports whether the attempt has failed so far.
func (f *findings) failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures) > 0 || len(f.traceFailures) > 0 || f.stopCause != nil
}

// endUnfinished marks the streams of an attempt that did not succeed
// that the source left STARTED or RUNNING as INCOMPLETE, as Airbyte does:
// a failed attempt's stream is not running any more, and showing it so
// would tell users it still moves data.
func endUnfinished(streams []StreamStats) {
	for i := range streams {
		switch streams[i].Status {
		case protocol.StreamStarted, protocol.StreamRunning:
			streams[i].Status = protocol.StreamIncomplete
		}
	}
}

// stop records why Ferry stops the attempt (a timeout): that failure is
// shown first, and traces that arrive afterwards are listed last.
func (f *findings) stop(fl Failure) {
	fl = f.complete(fl)
	f.log.Line(protocol.LevelError, "ferry", fl.ExternalMessage)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopCause == nil {
		f.stopCause = &fl
		return
	}
	f.failures = append(f.failures, fl)
}

// warn records a warning and logs it.
func (f *findings) warn(format string, args ...any) {
	msg := f.redact.Redact(fmt.Sprintf(format, args...))
	f.log.Line(protocol.LevelWarn, "ferry", msg)
	f.note(msg)
}

// note records a warning without logging it: the event is logged where it
// happened, or is too frequent to log.
func (f *findings) note(msg string) {
	f.mu.Lock()
	f.warnings = appendCapped(f.warnings, msg)
	f.mu.Unlock()
}

// protocolError records an acknowledgement Ferry refused.
func (f *findings) protocolError(err error) {
	f.log.Printf(protocol.LevelError, "ferry", "refused an acknowledgement: %v", err)
	f.mu.Lock()
	f.protocolErrors = appendCapped(f.protocolErrors, f.redact.Redact(err.Error()))
	f.mu.Unlock()
}

// droppedRecord counts a record that could not be delivered.
func (f *findings) droppedRecord(warning string) {
	f.mu.Lock()
	f.droppedRecords++
	if warning != "" {
		f.warnings = appendCapped(f.warnings, warning)
	}
	f.mu.Unlock()
}

// trace keeps an ERROR trace as a failure reason, up to maxTraceFailures.
func (f *findings) trace(fl Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.consequenceOfCancel(fl):
	case len(f.traceFailures)+len(f.lateTraces) >= maxTraceFailures:
		f.droppedTraces++ // G10: keep the first ones, count the rest
	case f.stopCause != nil:
		f.lateTraces = append(f.lateTraces, fl)
	default:
		f.traceFailures = append(f.traceFailures, fl)
	}
}

// hasTrace reports whether a connector of origin sent an ERROR trace.
func (f *findings) hasTrace(origin string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.traceFailures {
		if t.Origin == origin {
			return true
		}
	}
	return false
}

// sourceFailed reports a source-side failure that the exit code does not
// show: an ERROR trace, a dropped record-like line in strict mode, or a
// failure Ferry recorded against the source. A source that failed must not
// get COMPLETE statuses, even after exiting 0 (G5).
func (f *findings) sourceFailed(lenient bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.droppedRecords > 0 && !lenient {
		return true
	}
	for _, list := range [][]Failure{f.traceFailures, f.failures} {
		for _, fl := range list {
			if fl.Origin == protocol.OriginSource {
				return true
			}
		}
	}
	return false
}

// nonProtocolLine logs a stdout line that is not an Airbyte message, as
// Airbyte does, and counts record-like ones from the source: dropping a
// record loses data (docs/protocol.md 4.7).
func (f *findings) nonProtocolLine(role Role, line []byte) {
	side := 0
	if role == RoleDestination {
		side = 1
	}
	recordLike := role == RoleSource && protocol.LooksLikeRecord(line)
	f.mu.Lock()
	f.nonProtocol[side]++
	n := f.nonProtocol[side]
	if recordLike {
		f.droppedRecords++
	}
	f.mu.Unlock()
	if n <= maxNonProtocolLogs {
		// Redact before NonProtocolLog cuts the line, so a secret across
		// the cut cannot leak its first bytes.
		l := protocol.NonProtocolLog(string(role), []byte(f.redact.Redact(string(line))))
		f.log.Line(logLevel(role, l.Level, string(line)), "ferry", "non-protocol output from the "+l.Message)
	} else if n == maxNonProtocolLogs+1 {
		f.log.Printf(protocol.LevelWarn, "ferry", "more non-protocol output from the %s; no longer logged", role)
	}
}

// closeBooks turns what is only known at the end into failures or
// warnings: dropped record-like lines and refused acknowledgements.
func (f *findings) closeBooks(lenient bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.droppedRecords > 0 {
		msg := fmt.Sprintf("%d record-like lines from the source could not be parsed and were dropped", f.droppedRecords)
		if lenient {
			f.warnings = append(f.warnings, msg)
		} else {
			f.failures = append(f.failures, f.complete(Failure{Origin: protocol.OriginSource, Type: protocol.FailureSystem, ExternalMessage: msg}))
		}
	}
	if len(f.protocolErrors) > 0 && !lenient {
		f.failures = append(f.failures, f.complete(Failure{Origin: protocol.OriginDestination, Type: protocol.FailureSystem,
			ExternalMessage: fmt.Sprintf("the destination sent %d invalid acknowledgements; first: %s", len(f.protocolErrors), f.protocolErrors[0])}))
	}
}

// mismatch reports a count mismatch (G12): a failure when configured, a
// warning otherwise.
func (f *findings) mismatch(msg string, fatal bool) {
	if fatal {
		f.mu.Lock()
		f.failures = append(f.failures, f.complete(Failure{Origin: protocol.OriginReplication, Type: protocol.FailureSystem, ExternalMessage: msg}))
		f.mu.Unlock()
		return
	}
	f.warn("%s", msg)
}

// report fills res with the failures, in the order users should read
// them, and the warnings. Ferry's reason for stopping comes first: the
// traces connectors write when they are terminated are consequences.
func (f *findings) report(res *Result, ignoredAcks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sortFailures(f.traceFailures)
	if f.stopCause != nil {
		res.Failures = append(res.Failures, *f.stopCause)
	}
	res.Failures = append(res.Failures, f.traceFailures...)
	res.Failures = append(res.Failures, f.failures...)
	res.Failures = append(res.Failures, f.lateTraces...)
	f.attachErrorLogs(res.Failures)
	if ignoredAcks > 0 {
		f.warnings = append(f.warnings, fmt.Sprintf("%d acknowledgements older than the committed state were ignored", ignoredAcks))
	}
	if f.droppedTraces > 0 {
		f.warnings = append(f.warnings, fmt.Sprintf("%d more ERROR traces were not kept", f.droppedTraces))
	}
	res.Warnings = f.warnings
	res.ProtocolErrors = f.protocolErrors
}

// appendCapped appends to a findings list, keeping at most 1,000 entries.
func appendCapped(list []string, s string) []string {
	if len(list) >= 1000 {
		return list
	}
	return append(list, s)
}

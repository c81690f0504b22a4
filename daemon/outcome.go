package daemon

import (
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Honest status (G11). A job is a plain success only when its last attempt
// succeeded (both connectors exited 0, final state and stats committed in
// one transaction) AND the attempt committed state AND every record it
// forwarded is covered by an acknowledged state AND no stream the source
// reported on ended short of COMPLETE (runner.HonestyWarnings, which
// ferry sync applies too). Otherwise the job is still "succeeded" (the
// store's statuses are the API's, Airbyte's enum has nothing between, and
// both connectors did finish), but it carries warnings, and it is a
// partial success everywhere alike: the API's job and job list
// (partialSuccess), webhooks, and the exit codes of ferry sync and
// scripts/sync.sh (4).
//
// The warnings are stored as failure reasons of the succeeded attempt,
// marked with metadata {"warning": true} (store.WarningMetadata), no
// failureType and retryable false: failure reasons are what the API
// already shows for an attempt, and the store counts them for lists
// (store.Job.Warnings). A succeeded job whose last attempt has such
// reasons is "succeeded with warnings" (JobWarnings).

// warningMeta marks a failure reason that is a warning.
const warningMeta = store.WarningMetadata

// honestyWarnings returns the G11 findings of a succeeded attempt, then
// the runner's own warnings (runner.HonestyWarnings, which ferry sync
// judges by too).
func honestyWarnings(res *runner.Result) []string { return runner.HonestyWarnings(res) }

// warningReasons stores warnings as marked failure reasons.
func warningReasons(warnings []string, now int64) []store.FailureReason {
	no := false
	out := make([]store.FailureReason, 0, len(warnings))
	for _, w := range warnings {
		out = append(out, store.FailureReason{
			FailureOrigin:   protocol.OriginReplication,
			ExternalMessage: w,
			Retryable:       &no,
			Timestamp:       now,
			Metadata:        map[string]any{warningMeta: true},
		})
	}
	return out
}

// IsWarning reports whether a failure reason is a stored warning.
func IsWarning(f store.FailureReason) bool {
	w, _ := f.Metadata[warningMeta].(bool)
	return w
}

// JobWarnings returns the warnings of a succeeded job's last attempt; a
// succeeded job with none is a plain success. j must carry its attempts
// (store.DB.Job).
func JobWarnings(j *store.Job) []string {
	if j == nil || j.Status != store.JobSucceeded || len(j.Attempts) == 0 {
		return nil
	}
	var out []string
	for _, f := range j.Attempts[len(j.Attempts)-1].FailureReasons {
		if IsWarning(f) {
			out = append(out, f.ExternalMessage)
		}
	}
	return out
}

// PartialSuccess reports whether a finished job moved some but not all of
// what it should have (store.Job.PartialSuccess): webhooks, the API and
// the job list report it alike.
func PartialSuccess(j *store.Job) bool { return j.PartialSuccess() }

// failureReasons converts the runner's failures, adding the metadata the
// API shows (docs/protocol.md 7.2).
func failureReasons(fs []runner.Failure, jobID int64, attempt int) []store.FailureReason {
	out := make([]store.FailureReason, 0, len(fs))
	for _, f := range fs {
		retryable := f.Retryable
		meta := map[string]any{"jobId": jobID, "attemptNumber": attempt}
		if f.FromTrace {
			meta["from_trace_message"] = true
		}
		if f.ExitCode != nil {
			meta["exitCode"] = *f.ExitCode
		}
		if len(f.LastErrorLogs) > 0 {
			meta["lastErrorLogs"] = f.LastErrorLogs
		}
		out = append(out, store.FailureReason{
			FailureOrigin:    knownOrigin(f.Origin),
			FailureType:      f.Type,
			InternalMessage:  f.InternalMessage,
			ExternalMessage:  f.ExternalMessage,
			Stacktrace:       f.StackTrace,
			Retryable:        &retryable,
			Timestamp:        f.Timestamp.UnixMilli(),
			StreamDescriptor: f.Stream,
			Metadata:         meta,
		})
	}
	return out
}

func knownOrigin(o string) string {
	switch o {
	case protocol.OriginSource, protocol.OriginDestination, protocol.OriginReplication, protocol.OriginPersistence, protocol.OriginPlatform:
		return o
	}
	return protocol.OriginUnknown
}

// platformFailure is a failure of Ferry itself, not of a connector.
func platformFailure(typ, msg string, retryable bool, now int64) store.FailureReason {
	return store.FailureReason{
		FailureOrigin:   protocol.OriginPlatform,
		FailureType:     typ,
		ExternalMessage: msg,
		Retryable:       &retryable,
		Timestamp:       now,
	}
}

// hasConfigError reports whether any reason is a config_error.
func hasConfigError(rs []store.FailureReason) bool {
	for _, r := range rs {
		if r.FailureType == protocol.FailureConfig {
			return true
		}
	}
	return false
}

// summary is a one-line description of failure reasons, for logs.
func summary(rs []store.FailureReason) string {
	var msgs []string
	for _, r := range rs {
		if IsWarning(r) {
			continue
		}
		msgs = append(msgs, r.ExternalMessage)
		if len(msgs) == 2 {
			break
		}
	}
	return strings.Join(msgs, "; ")
}

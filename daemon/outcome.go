package daemon

import (
	"fmt"
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Honest status (G11). A job is a plain success only when its last attempt
// succeeded (both connectors exited 0, final state and stats committed in
// one transaction) AND the attempt committed state AND every record it
// forwarded is covered by an acknowledged state AND no stream the source
// reported on ended short of COMPLETE. Otherwise the job is still
// "succeeded" (the store's statuses are the API's, and both connectors
// did finish), but it carries warnings, and webhooks and the API call it a
// partial success.
//
// The warnings are stored as failure reasons of the succeeded attempt,
// marked with metadata {"warning": true}, no failureType and retryable
// false: the store has no column for warnings yet, and failure reasons
// are what the API already shows for an attempt. A succeeded job whose
// last attempt has such reasons is "succeeded with warnings"
// (JobWarnings).

// warningMeta marks a failure reason that is a warning.
const warningMeta = "warning"

// honestyWarnings returns the G11 findings of a succeeded attempt, then
// the runner's own warnings (count mismatches, unacknowledged states).
func honestyWarnings(res *runner.Result) []string {
	var out []string
	if !res.CommittedAnyState {
		out = append(out, "the destination acknowledged no state: nothing this sync wrote is known to be durable, and the next sync starts again from the last committed state")
	}
	reported := false
	for _, st := range res.Stats.Streams {
		if st.Status != "" {
			reported = true
		}
	}
	for _, st := range res.Stats.Streams {
		if res.CommittedAnyState && st.RecordsEmitted > st.RecordsCommitted {
			out = append(out, fmt.Sprintf("stream %s: %d of %d records are not covered by an acknowledged state",
				st.Stream, st.RecordsEmitted-st.RecordsCommitted, st.RecordsEmitted))
		}
		if reported && st.Status != protocol.StreamComplete {
			status := st.Status
			if status == "" {
				status = "none"
			}
			out = append(out, fmt.Sprintf("stream %s: the source did not report it complete (last status: %s)", st.Stream, status))
		}
	}
	for _, w := range res.Warnings {
		if !containsString(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

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
// what it should have: a succeeded job with warnings, or a failed job
// that still committed records. Webhooks report it; the API can too.
func PartialSuccess(j *store.Job) bool {
	switch j.Status {
	case store.JobSucceeded:
		return len(JobWarnings(j)) > 0
	case store.JobFailed:
		return j.RecordsSynced > 0
	}
	return false
}

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

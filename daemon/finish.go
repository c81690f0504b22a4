package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ferrysync/ferry/failpoint"
	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// finish records an attempt's end and decides its job's fate in one store
// transaction: the final state and stats, the attempt's status and
// reasons, and the job's status and retry time (G4). Then it tells
// subscribers and webhooks.
func (d *Daemon) finish(run *activeRun, end attemptEnd, log *slog.Logger) {
	if d.probes.beforeFinish != nil {
		d.probes.beforeFinish()
	}
	failpoint.Hit(failpoint.BeforeFinish)
	c := run.claim
	// Store writes from here on must land even when the attempt was
	// cancelled or the daemon is shutting down.
	ctx := context.WithoutCancel(run.ctx)
	now := d.now()
	res := store.AttemptResult{
		AttemptID:      c.Attempt.ID,
		Status:         end.status,
		Stats:          end.stats,
		FailureReasons: end.reasons,
		FinalStates:    end.final,
	}
	cause := context.Cause(run.ctx)
	switch {
	case end.status == store.AttemptSucceeded:
		res.JobStatus = store.JobSucceeded
	case errors.Is(cause, errShutdown):
		// Not the connector's fault and not the user's wish: the attempt
		// failed and the job is retried as soon as the daemon runs again.
		res.Status = store.AttemptFailed
		res.FailureReasons = append(res.FailureReasons,
			platformFailure(protocol.FailureTransient, errShutdown.Error(), true, now.UnixMilli()))
		res.JobStatus = store.JobIncomplete
	case end.status == store.AttemptCancelled || errors.Is(cause, errUserCancel):
		res.Status = store.AttemptCancelled
		res.JobStatus = store.JobCancelled
	default:
		dec := d.retryDecision(ctx, c, end)
		if dec.Retry {
			res.JobStatus = store.JobIncomplete
			if dec.Backoff > 0 {
				at := now.Add(dec.Backoff)
				res.RetryAt = &at
			}
		} else {
			res.JobStatus = store.JobFailed
			log.Info("no retry", "reason", dec.Reason)
		}
	}
	j, err := d.recordEnd(ctx, res)
	if errors.Is(err, store.ErrStorageFull) && res.Status == store.AttemptSucceeded {
		// The final commit did not land (a full disk): the attempt did not
		// succeed (G4). Record it as failed, without the final state; the
		// state acknowledged before is committed already.
		log.Error("final commit failed", "error", err)
		res.Status, res.FinalStates = store.AttemptFailed, nil
		res.FailureReasons = []store.FailureReason{{FailureOrigin: protocol.OriginPersistence,
			FailureType: protocol.FailureSystem, ExternalMessage: runner.StorageFullMessage + ": could not commit the final state and stats: " + err.Error(),
			Timestamp: now.UnixMilli()}}
		res.JobStatus, res.RetryAt = store.JobIncomplete, nil
		j, err = d.recordEnd(ctx, res)
	}
	// Any other failure to write (the database locked by another writer
	// beyond the busy timeout, a disk briefly full or read-only) is tried
	// again until it lands: an attempt left running in the store blocks
	// its connection, claims and triggers alike, until the next restart.
	// Only a shutdown that ran out of grace gives up, and then the next
	// start's recovery finishes the attempt.
	for wait := time.Second; err != nil && finishRetryable(err); wait = min(2*wait, 30*time.Second) {
		log.Warn("could not record the attempt's end; trying again", "error", err, "in", wait)
		if d.probes.finishRetry != nil {
			d.probes.finishRetry(err)
		}
		select {
		case <-d.attemptsCtx.Done():
			log.Error("record the attempt's end: giving up at shutdown; the next start recovers the attempt", "error", err)
			return
		case <-time.After(wait):
		}
		j, err = d.recordEnd(ctx, res)
	}
	if err != nil {
		// ErrConflict: the attempt is no longer ours (a restart's recovery
		// failed it). Anything else cannot be fixed by trying again.
		log.Error("record the attempt's end", "error", err)
		return
	}
	failpoint.Hit(failpoint.AfterFinish)
	d.reserve.ensure() // after a full disk, once there is room again
	log.Info("attempt ended", "attempt_status", res.Status, "job_status", j.Status,
		"retry_at", formatOptTime(j.RetryAt), "records_committed", j.RecordsSynced, "reasons", summary(res.FailureReasons), "warnings", len(JobWarnings(j)))
	d.hub.publishStatus(j)
	if j.Status.Terminal() {
		d.hooks.jobEnded(j)
	}
}

// recordEnd is store.FinishAttempt; on a full disk it frees the data
// directory's reserve and tries once more, so the attempt's end is
// recorded now rather than whenever someone frees space.
func (d *Daemon) recordEnd(ctx context.Context, res store.AttemptResult) (*store.Job, error) {
	j, err := d.db.FinishAttempt(ctx, res)
	if errors.Is(err, store.ErrStorageFull) && d.reserve.release() {
		j, err = d.db.FinishAttempt(ctx, res)
	}
	return j, err
}

// retryDecision applies the retry policy to the job's attempts so far,
// the one just ended included.
func (d *Daemon) retryDecision(ctx context.Context, c *store.Claim, end attemptEnd) RetryDecision {
	var history []AttemptOutcome
	if j, err := d.db.Job(ctx, c.Job.ID); err == nil {
		for _, a := range j.Attempts {
			if a.ID == c.Attempt.ID {
				continue
			}
			history = append(history, outcomeOf(a))
		}
	}
	history = append(history, AttemptOutcome{
		Progress:    end.progress,
		ConfigError: hasConfigError(end.reasons),
		Cancelled:   end.status == store.AttemptCancelled,
		Failure:     failureKey(end.reasons),
	})
	return d.cfg.Retry.Decide(history)
}

// outcomeOf reads a finished attempt for the retry policy.
func outcomeOf(a *store.Attempt) AttemptOutcome {
	return AttemptOutcome{
		Succeeded:   a.Status == store.AttemptSucceeded,
		Progress:    a.CommittedState,
		ConfigError: hasConfigError(a.FailureReasons),
		Cancelled:   a.Status == store.AttemptCancelled,
		Failure:     failureKey(a.FailureReasons),
	}
}

// failureKey is the retry policy's identity of a failure (FailureKey).
func failureKey(reasons []store.FailureReason) string {
	keys := make([]string, len(reasons))
	for i, r := range reasons {
		keys[i] = r.FailureOrigin + "/" + r.FailureType
	}
	return FailureKey(keys...)
}

func formatOptTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// finishRetryable reports whether FinishAttempt may succeed when tried
// again: not when the attempt is no longer ours (ErrConflict) or the
// result is invalid.
func finishRetryable(err error) bool {
	var ve *store.ValidationError
	return !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && !errors.As(err, &ve)
}

// probes let a test act at points of an attempt's life that no event
// exposes, where it would otherwise have to guess the moment with sleeps.
// They run on the attempt's goroutine, so the daemon goes on only once
// they return. Every field is nil outside tests.
type probes struct {
	// beforeFinish runs once the runner has returned (every checkpoint of
	// the attempt is committed), before its end is recorded.
	beforeFinish func()
	// finishRetry runs when recording the attempt's end failed and is
	// about to be tried again.
	finishRetry func(err error)
	// failCommit, when it returns an error, fails a state commit of the
	// attempt with it, before the store sees the commit.
	failCommit func(cp runner.Checkpoint) error
}

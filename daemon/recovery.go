package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Sweeper removes the containers and volumes labelled with an instance ID
// that keep does not approve, and says how many it removed.
// docker.Runtime implements it; the local runtime needs none, since its
// processes die with their process group and their files with the run.
type Sweeper interface {
	Sweep(ctx context.Context, instanceID string, keep func(labels map[string]string) bool) (int, error)
}

// restartMessage is the failure of an attempt an earlier process left.
const restartMessage = "daemon restarted: the process running this attempt stopped before the attempt ended"

// recover runs once at start, before any attempt (G6). It is lease-based:
// it never touches another replica's live work.
//   - attempts left running by an earlier process of this replica (same
//     id, another boot) are finished as failed ("daemon restarted") at
//     once, without waiting for their lease: the id is this data dir's, so
//     that process is gone. Their jobs are retried under the retry policy,
//     at once: the connector is not to blame, so no backoff. The state
//     their destination acknowledged was committed as it arrived, so the
//     retry resumes from it;
//   - attempts of other replicas are theirs while their lease is live;
//     those whose lease expired are failed ("lease expired on replica X")
//     by the heartbeat's reaper, here or on any replica;
//   - containers and volumes with this replica's labels are removed: no
//     attempt of this process runs yet, so every one of them is a
//     leftover.
func (d *Daemon) recover(ctx context.Context) error {
	attempts, err := d.db.RunningAttempts(ctx)
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	live := map[string]bool{} // job/attempt labels of attempts not ours to judge
	for _, a := range attempts {
		if a.Owner.InstanceID != d.instanceID {
			live[strconv.FormatInt(a.JobID, 10)+"/"+strconv.Itoa(a.Number)] = true
			continue
		}
		if a.Owner.BootID == d.owner.BootID {
			continue // ours, now: cannot happen before Run, kept for safety
		}
		if err := d.failLeftover(ctx, a, restartMessage); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue // another replica's reaper was first
			}
			return fmt.Errorf("recovery: %w", err)
		}
	}
	d.reapExpired(ctx)
	if d.sweeper == nil {
		return nil
	}
	// A sweep failure is logged, not fatal: the engine may be briefly
	// unavailable, and the leftovers are harmless until the next start.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := d.sweeper.Sweep(sctx, d.instanceID, func(labels map[string]string) bool {
		return live[labels[runner.LabelJob]+"/"+labels[runner.LabelAttempt]]
	})
	if err != nil {
		d.log.Error("recovery: sweep leftover containers and volumes", "error", err)
	}
	if n > 0 {
		d.log.Info("recovery: removed leftover containers and volumes", "count", n)
	}
	return nil
}

// failLeftover finishes one attempt whose process is gone (an earlier
// process of this replica, or a replica whose lease expired), taking it
// over from its lease.
func (d *Daemon) failLeftover(ctx context.Context, a *store.Attempt, message string) error {
	now := d.now()
	reasons := []store.FailureReason{platformFailure(protocol.FailureSystem, message, true, now.UnixMilli())}
	res := store.AttemptResult{AttemptID: a.ID, Status: store.AttemptFailed, FailureReasons: reasons, Takeover: true}
	var history []AttemptOutcome
	if j, err := d.db.Job(ctx, a.JobID); err == nil {
		for _, prev := range j.Attempts {
			if prev.ID != a.ID {
				history = append(history, outcomeOf(prev))
			}
		}
	}
	history = append(history, AttemptOutcome{Progress: a.CommittedState, Failure: failureKey(reasons)})
	dec := d.cfg.Retry.Decide(history)
	res.JobStatus = store.JobFailed
	if dec.Retry {
		res.JobStatus = store.JobIncomplete
	}
	j, err := d.db.FinishAttempt(ctx, res)
	if err != nil {
		return fmt.Errorf("fail attempt %d of job %d: %w", a.Number, a.JobID, err)
	}
	d.log.Warn("failed an attempt whose process is gone", "reason", message, "job_id", a.JobID,
		"attempt", a.Number, "replica", a.Owner.InstanceID, "old_pid", a.Owner.PID, "job_status", j.Status,
		"committed_state", a.CommittedState)
	if j.Status.Terminal() {
		d.hooks.jobEnded(j)
	}
	return nil
}

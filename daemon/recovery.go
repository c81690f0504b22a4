package daemon

import (
	"context"
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

// recover runs once at start, before any attempt (G6):
//   - attempts left running by an earlier process of this instance are
//     finished as failed ("daemon restarted"), and their jobs are retried
//     under the retry policy, at once: the connector is not to blame, so no
//     backoff. The state their destination acknowledged was committed as
//     it arrived, so the retry resumes from it;
//   - containers and volumes with this instance's labels are removed: no
//     attempt of this process runs yet, so every one of them is a
//     leftover. Only attempts still marked running by another live owner
//     (another instance on this database) are kept.
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
		if err := d.failLeftover(ctx, a); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
	}
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

// failLeftover finishes one attempt an earlier process left running.
func (d *Daemon) failLeftover(ctx context.Context, a *store.Attempt) error {
	now := d.now()
	reasons := []store.FailureReason{platformFailure(protocol.FailureSystem, restartMessage, true, now.UnixMilli())}
	res := store.AttemptResult{AttemptID: a.ID, Status: store.AttemptFailed, FailureReasons: reasons}
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
	d.log.Warn("recovery: failed an attempt left running by an earlier process", "job_id", a.JobID,
		"attempt", a.Number, "old_pid", a.Owner.PID, "job_status", j.Status, "committed_state", a.CommittedState)
	if j.Status.Terminal() {
		d.hooks.jobEnded(j)
	}
	return nil
}

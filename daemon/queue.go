package daemon

import (
	"context"
	"time"

	"github.com/ferrysync/ferry/store"
)

// The queue is the jobs table itself: a trigger inserts a pending job, a
// failed attempt leaves its job incomplete with a retry time, and the
// dispatcher below claims ready jobs into free worker slots. The store's
// claim skips connections with a running attempt, and its unique index
// refuses a second one, so at most one attempt per connection runs,
// whatever triggered it and whichever process claims (G7).

// activeRun is an attempt this process is running.
type activeRun struct {
	claim *store.Claim
	// ctx is the attempt's context; cancel stops it with a cause
	// (errUserCancel or errShutdown) that decides how the attempt ends.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// snapshot is the job with its attempts as the attempt started, the
	// base of live progress events. Set before the sync starts.
	snapshot *store.Job
	// sampled and sampledAt: whether and when (attempt time) the last
	// throughput sample was stored; recordSample's own state.
	sampled   bool
	sampledAt time.Duration
}

// dispatchLoop claims work on every wake-up and every tick (for retries
// whose backoff has passed) until ctx ends.
func (d *Daemon) dispatchLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.Scheduler.Tick)
	defer tick.Stop()
	for {
		d.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// dispatch fills free worker slots with ready jobs.
func (d *Daemon) dispatch(ctx context.Context) {
	for ctx.Err() == nil {
		select {
		case d.slots <- struct{}{}:
		default:
			return // every worker is busy
		}
		run, err := d.claim(ctx)
		if err != nil || run == nil {
			<-d.slots
			if err != nil && ctx.Err() == nil {
				d.log.Error("claim job", "error", err)
			}
			return
		}
		go func() {
			defer d.attempts.Done()
			defer func() { <-d.slots; d.poke() }()
			d.runAttempt(run)
		}()
	}
}

// claim takes the next ready job and registers its attempt. It holds mu so
// that a Cancel sees the attempt as soon as the store does.
func (d *Daemon) claim(ctx context.Context) (*activeRun, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return nil, nil
	}
	if !d.reserve.ensure() {
		// A full data directory: an attempt would fail at its first
		// commit, or not be able to record its end. Jobs wait, ready.
		return nil, nil
	}
	c, err := d.db.ClaimJob(ctx, d.owner)
	if err != nil || c == nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancelCause(d.attemptsCtx)
	run := &activeRun{claim: c, ctx: runCtx, cancel: cancel}
	d.running[c.Job.ID] = run
	d.attempts.Add(1)
	return run, nil
}

// release forgets a finished attempt.
func (d *Daemon) release(run *activeRun) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[run.claim.Job.ID] == run {
		delete(d.running, run.claim.Job.ID)
	}
	run.cancel(nil)
}

// runningLogPaths lists the logs of attempts in progress, which log
// pruning must keep.
func (d *Daemon) runningLogPaths() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.running))
	for _, r := range d.running {
		out = append(out, store.LogPath(d.cfg.DataDir, r.claim.Job.ID, r.claim.Attempt.Number))
	}
	return out
}

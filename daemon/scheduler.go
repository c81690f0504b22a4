package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/ferrysync/ferry/store"
)

// The scheduler turns due connections into jobs. Each connection's next
// run time is stored (connections.next_run_at), so it is known to the API
// and survives restarts; the store computes it when a schedule is written,
// and the scheduler advances it after each run. The decision itself is the
// pure compiled.plan, tested with fixed times; this file only applies it.

// scheduleLoop checks for due connections every tick until ctx ends.
func (d *Daemon) scheduleLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.Scheduler.Tick)
	defer tick.Stop()
	for {
		d.scheduleTick(ctx, d.now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scheduleTick creates the jobs due at now and stores the next run times,
// on the one replica that holds the scheduler's leader lease.
func (d *Daemon) scheduleTick(ctx context.Context, now time.Time) {
	if !d.leading(ctx) {
		return
	}
	due, err := d.db.DueConnections(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("list due connections", "error", err)
		}
		return
	}
	for _, c := range due {
		d.scheduleOne(ctx, c, now)
	}
}

// scheduleOne applies the plan for one due connection. The job and the
// new next run time are written in one transaction that first compares
// the stored next run time with the one planned from (store.
// AdvanceSchedule), so a run fires once even when a leadership handover
// lets two replicas plan the same tick.
func (d *Daemon) scheduleOne(ctx context.Context, c *store.Connection, now time.Time) {
	log := d.log.With("connection_id", c.ID)
	sched, err := compileSchedule(c.Schedule)
	if err != nil {
		// The store validated it when it was written; a bad stored
		// schedule is dropped so it is not reported every tick.
		log.Error("invalid stored schedule; clearing its next run", "error", err)
		_ = d.db.SetNextRunAt(ctx, c.ID, nil)
		return
	}
	p := sched.plan(c.NextRunAt, now, d.cfg.Scheduler.MissedAfter, false)
	if !p.Changed {
		return
	}
	j, err := d.db.AdvanceSchedule(ctx, c.ID, c.NextRunAt, p.Next, p.Fire)
	if p.Fire && errors.Is(err, store.ErrConflict) {
		// Runs never overlap: the connection is busy (nothing was
		// written), so plan again knowing it.
		p = sched.plan(c.NextRunAt, now, d.cfg.Scheduler.MissedAfter, true)
		if !p.Changed {
			return
		}
		j, err = d.db.AdvanceSchedule(ctx, c.ID, c.NextRunAt, p.Next, false)
	}
	switch {
	case errors.Is(err, store.ErrScheduleMoved):
		log.Info("scheduled run already handled by another scheduler", "due", formatOptTime(c.NextRunAt))
		return
	case err != nil:
		log.Error("advance schedule", "error", err)
		return // the run stays due; the next tick tries again
	}
	if j != nil {
		d.log.Info("job created", "job_id", j.ID, "connection_id", c.ID, "type", j.Type, "trigger", store.TriggerSchedule)
		d.hub.publishStatus(j)
		d.poke()
	}
	if p.Skipped {
		log.Info("scheduled run skipped", "due", formatOptTime(c.NextRunAt), "policy", c.Schedule.MissedRuns)
	}
	log.Debug("next run", "at", formatOptTime(p.Next))
}

// pruneInterval is how often old attempt logs are removed.
const pruneInterval = time.Hour

// pruneLoop applies the attempt log retention at start and every hour.
func (d *Daemon) pruneLoop(ctx context.Context) {
	if d.cfg.Logging.RetentionAge == 0 && d.cfg.Logging.RetentionBytes == 0 {
		return
	}
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	for {
		res, err := store.PruneLogs(d.cfg.LogDir(), d.cfg.Logging.RetentionAge, d.cfg.Logging.RetentionBytes, d.runningLogPaths()...)
		if err != nil {
			d.log.Warn("prune attempt logs", "error", err)
		}
		d.pruneDeletedJobs(ctx)
		if res.RemovedFiles > 0 {
			d.log.Info("pruned attempt logs", "removed_files", res.RemovedFiles, "removed_bytes", res.RemovedBytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

package daemon

import (
	"context"
	"errors"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// JobController is what the web package needs from the daemon to drive
// jobs. Its methods use only store types and plain values, so web can
// declare the same interface where it consumes it without importing
// daemon.
type JobController interface {
	// Trigger creates a pending job for a connection and wakes the queue:
	// a sync, a clear (reset is the same job) of every stream, or a
	// refresh (see plan.go). While the connection has an active (pending,
	// running or incomplete) job it returns an error wrapping
	// store.ErrConflict (HTTP 409); for an unknown connection one
	// wrapping store.ErrNotFound; for a bad job type a
	// *store.ValidationError.
	Trigger(ctx context.Context, connectionID string, jobType store.JobType) (*store.Job, error)
	// Cancel stops a job. A pending or incomplete job is cancelled at once.
	// A running attempt is stopped (SIGTERM, then SIGKILL after the grace
	// period, through its context); the acknowledged state is committed and
	// the job ends cancelled shortly after Cancel returns. It returns the
	// job as updated, store.ErrNotFound, or store.ErrConflict when the
	// job has already ended.
	Cancel(ctx context.Context, jobID int64) (*store.Job, error)
	// Subscribe follows a job live. It calls onStatus with the job as
	// stored, then with every change (an attempt starting, running stats
	// about once a second, an attempt ending, the job ending), and onLog
	// with the lines of the running attempt's log (first the recent ones).
	// Callbacks run on the caller's goroutine, one at a time, so they may
	// write to an http.ResponseWriter. It returns nil after the job's
	// terminal status was delivered, or ctx's error. A slow reader misses
	// log lines (it is told how many), never status, and never slows the
	// sync. It returns store.ErrNotFound for an unknown job.
	Subscribe(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(attempt int, line string)) error
}

var _ JobController = (*Daemon)(nil)

// Trigger implements JobController, with the api trigger.
func (d *Daemon) Trigger(ctx context.Context, connectionID string, jobType store.JobType) (*store.Job, error) {
	return d.trigger(ctx, connectionID, jobType, store.TriggerAPI)
}

// TriggerManual creates a job a person asked for in the UI (the manual
// trigger), so the job list tells it from a script's API call.
func (d *Daemon) TriggerManual(ctx context.Context, connectionID string, jobType store.JobType) (*store.Job, error) {
	return d.trigger(ctx, connectionID, jobType, store.TriggerManual)
}

// TriggerStreams is Trigger for a clear (or reset) of some streams of the
// connection; nil streams means all of them. Each must be in the
// connection's catalog (else a *store.ValidationError), and only clears
// name streams.
func (d *Daemon) TriggerStreams(ctx context.Context, connectionID string, jobType store.JobType, streams []protocol.StreamDescriptor) (*store.Job, error) {
	return d.triggerStreams(ctx, connectionID, jobType, store.TriggerAPI, streams)
}

func (d *Daemon) trigger(ctx context.Context, connID string, typ store.JobType, trig store.JobTrigger) (*store.Job, error) {
	return d.triggerStreams(ctx, connID, typ, trig, nil)
}

func (d *Daemon) triggerStreams(ctx context.Context, connID string, typ store.JobType, trig store.JobTrigger, streams []protocol.StreamDescriptor) (*store.Job, error) {
	j, err := d.db.CreateStreamsJob(ctx, connID, typ, trig, streams)
	if err != nil {
		return nil, err
	}
	d.log.Info("job created", "job_id", j.ID, "connection_id", connID, "type", typ, "trigger", trig, "streams", len(streams))
	d.hub.publishStatus(j)
	d.poke()
	return j, nil
}

// Cancel implements JobController.
func (d *Daemon) Cancel(ctx context.Context, jobID int64) (*store.Job, error) {
	d.mu.Lock()
	j, err := d.db.CancelJob(ctx, jobID)
	if errors.Is(err, store.ErrStorageFull) && d.reserve.release() {
		j, err = d.db.CancelJob(ctx, jobID)
	}
	var run *activeRun
	if err == nil || errors.Is(err, store.ErrStorageFull) {
		run = d.running[jobID]
	}
	d.mu.Unlock()
	if err != nil && run != nil {
		return d.cancelUnrecorded(ctx, run, err)
	}
	if err != nil {
		return nil, err
	}
	// Decide on the stored status, not on whether a worker is still
	// registered: between recording its attempt's end (the job incomplete)
	// and forgetting it, the worker is still in running, while the store
	// has already cancelled the job at once. That job has ended, and only
	// this call can tell subscribers and webhooks.
	switch {
	case j.Status == store.JobRunning && run != nil:
		d.log.Info("cancelling running attempt", "job_id", jobID, "attempt", run.claim.Attempt.Number)
		run.cancel(errUserCancel)
	case j.Status == store.JobCancelled:
		if run != nil {
			run.cancel(errUserCancel)
		}
		d.log.Info("job cancelled", "job_id", jobID)
		d.hub.publishStatus(j)
		d.hooks.jobEnded(j)
	default:
		// Running, but not here: its attempt belongs to an earlier process
		// that is gone (recovery fails it at the next start) or to another
		// daemon on this database, which sees cancel_requested when its
		// attempt ends.
		d.log.Warn("cancel requested for a job running elsewhere", "job_id", jobID)
	}
	return j, nil
}

// cancelUnrecorded stops a running attempt whose cancel the store could
// not record (a full disk): the user's wish holds all the same, and the
// attempt's end records the job cancelled once the store takes writes
// again. The job is returned as stored, still running.
func (d *Daemon) cancelUnrecorded(ctx context.Context, run *activeRun, storeErr error) (*store.Job, error) {
	d.log.Warn("cancel could not be recorded (the data directory is full); stopping the attempt anyway",
		"job_id", run.claim.Job.ID, "error", storeErr)
	run.cancel(errUserCancel)
	j, err := d.db.Job(ctx, run.claim.Job.ID)
	if err != nil {
		return nil, storeErr
	}
	return j, nil
}

// Subscribe implements JobController.
func (d *Daemon) Subscribe(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(attempt int, line string)) error {
	// Subscribe before reading the job, so no event falls between them.
	s := d.hub.subscribe(jobID)
	defer d.hub.unsubscribe(jobID, s)
	j, err := d.db.Job(ctx, jobID)
	if err != nil {
		return err
	}
	onStatus(j)
	if j.Status.Terminal() {
		return nil
	}
	return s.follow(ctx, onStatus, onLog)
}

// ErrConflict is store.ErrConflict, re-exported for callers that check
// Trigger's error without importing store.
var ErrConflict = store.ErrConflict

// IsConflict reports whether err means the connection already has an
// active job.
func IsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

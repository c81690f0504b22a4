package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// attemptEnd is how an attempt ended, before the job's fate is decided.
type attemptEnd struct {
	status  store.AttemptStatus
	reasons []store.FailureReason
	// stats and final are the final commit, written with the status.
	stats *store.Stats
	final []*protocol.State
	// progress: this attempt committed state (for the retry policy).
	progress bool
}

// runAttempt runs one claimed attempt to its end and records it.
func (d *Daemon) runAttempt(run *activeRun) {
	defer d.release(run)
	c := run.claim
	log := d.log.With("job_id", c.Job.ID, "attempt_id", c.Attempt.ID, "attempt", c.Attempt.Number,
		"connection_id", c.Job.ConnectionID, "job_type", c.Job.Type)
	log.Info("attempt started")
	if j, err := d.db.Job(context.WithoutCancel(run.ctx), c.Job.ID); err == nil {
		run.snapshot = j
		d.hub.publishStatus(j)
		if c.Attempt.Number == 1 {
			d.hooks.jobStarted(j)
		}
	}

	var end attemptEnd
	switch {
	case c.ConfigErr != nil:
		// The secrets could not be decrypted: a replaced key file. No
		// retry can fix that.
		end = attemptEnd{status: store.AttemptFailed, reasons: []store.FailureReason{
			platformFailure(protocol.FailureConfig, "cannot decrypt the connection's secrets: "+c.ConfigErr.Error(), false, d.now().UnixMilli())}}
	default:
		end = d.replicate(run, log)
	}
	d.finish(run, end, log)
}

// replicate runs a sync, refresh or clear attempt through the runner. The
// job types differ only in their plan (plan.go): the catalog, the state
// the attempt starts from, the data channel and the runner's entry point.
func (d *Daemon) replicate(run *activeRun, log *slog.Logger) attemptEnd {
	c := run.claim
	ctx := context.WithoutCancel(run.ctx) // for store writes that must land even after a cancel
	fail := func(typ, msg string, retryable bool) attemptEnd {
		log.Error("attempt could not start", "error", msg)
		return attemptEnd{status: store.AttemptFailed, reasons: []store.FailureReason{
			platformFailure(typ, msg, retryable, d.now().UnixMilli())}}
	}
	logPath := store.LogPath(d.cfg.DataDir, c.Job.ID, c.Attempt.Number)
	logFile, err := openAttemptLog(logPath)
	if err != nil {
		return fail(protocol.FailureSystem, err.Error(), true)
	}
	var sink io.Writer = logFile
	var shared *dbLog
	if d.cfg.Shared() {
		// Replicas share the store: the log goes there too, in chunks, so
		// a browser on any replica can follow it (log_chunks.go).
		shared = newDBLog(d.db, c.Attempt.ID, log)
		sink = io.MultiWriter(logFile, shared)
	}
	capped := runner.NewCappedWriter(sink, d.cfg.Logging.AttemptLogMaxBytes)
	defer func() {
		// The tail is written at close; failing to write it loses only log
		// lines, never the attempt's outcome. The chunks are flushed before
		// the attempt's end is recorded, as the file is closed.
		if err := capped.Close(); err != nil {
			log.Warn("write attempt log tail", "error", err)
		}
		if shared != nil {
			shared.Close()
		}
		logFile.Close()
	}()
	p, pf := d.plan(ctx, c)
	if pf != nil {
		return fail(pf.typ, pf.msg, pf.retryable)
	}
	if err := d.db.SetAttemptRun(ctx, c.Attempt.ID, store.AttemptRun{Mode: p.mode.Mode,
		Format: p.mode.Format, SocketCount: p.mode.Sockets, Bridge: attemptBridge(p.mode), LogPath: logPath}); err != nil {
		return fail(protocol.FailureSystem, "record the attempt's data channel and log path: "+err.Error(), true)
	}
	if p.prepare != nil {
		if pf := p.prepare(); pf != nil {
			return fail(pf.typ, pf.msg, pf.retryable)
		}
	}
	if err := d.networkAllowed(c.Connection.NetworkMode); err != nil {
		return fail(protocol.FailureConfig, err.Error(), false)
	}
	cp := newCheckpointer(d.db, c.Attempt.ID, c.State)
	cp.log = d.log.With("job_id", c.Job.ID, "attempt", c.Attempt.Number)
	cp.inject = d.probes.failCommit
	cfg := d.runnerConfig(run, p.srcImage, p.dstImage, p.catalog, cp)
	cfg.Mode = p.mode
	cfg.Log = teeWriter{capped, &logSink{h: d.hub, jobID: c.Job.ID, attempt: c.Attempt.Number}}
	if p.intro != "" {
		// The intro names no secret: no redactor needed.
		runner.NewAttemptLog(cfg.Log, nil).Line(protocol.LevelInfo, "ferry", p.intro)
	}

	res, err := p.run(run.ctx, d.rt, cfg)
	final, stats := cp.finalCommit()
	end := attemptEnd{stats: stats, final: final, progress: res.CommittedAnyState}
	if stats == nil { // the runner failed before its final commit
		s := storeStats(res.Stats)
		end.stats = &s
	}
	switch {
	case err == nil:
		end.status = store.AttemptSucceeded
		end.reasons = warningReasons(p.warnings(ctx, res), d.now().UnixMilli())
	case res.Status == runner.StatusCancelled:
		end.status = store.AttemptCancelled
		end.reasons = failureReasons(res.Failures, c.Job.ID, c.Attempt.Number)
	default:
		end.status = store.AttemptFailed
		end.reasons = failureReasons(res.Failures, c.Job.ID, c.Attempt.Number)
		var se *runner.SyncError
		if !errors.As(err, &se) {
			end.reasons = append(end.reasons, platformFailure(protocol.FailureSystem, err.Error(), true, d.now().UnixMilli()))
		}
	}
	log.Info(string(c.Job.Type)+" ended", "status", res.Status, "records_emitted", res.Stats.RecordsEmitted,
		"records_committed", res.Stats.RecordsCommitted, "committed_state", res.CommittedAnyState,
		"duration", res.Ended.Sub(res.Started).Round(time.Millisecond))
	return end
}

// openAttemptLog creates an attempt's log file, private to Ferry's user:
// logs are masked, but connector output is not ours to publish.
func openAttemptLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create attempt log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create attempt log: %w", err)
	}
	return f, nil
}

// teeWriter writes to both writers and ignores the live sink's errors:
// the file is what counts.
type teeWriter struct {
	file io.Writer
	live io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.live.Write(p)
	return t.file.Write(p)
}

// publishProgress sends subscribers the job with the running attempt's
// live stats. It runs on the runner's progress tick.
func (d *Daemon) publishProgress(run *activeRun, p runner.Progress) {
	base := run.snapshot
	if base == nil || len(base.Attempts) == 0 {
		return
	}
	j := *base
	j.Attempts = append([]*store.Attempt(nil), base.Attempts...)
	last := *j.Attempts[len(j.Attempts)-1]
	last.Stats = storeStats(p.Stats)
	j.Attempts[len(j.Attempts)-1] = &last
	j.RecordsSynced = base.RecordsSynced + p.Stats.RecordsCommitted
	j.BytesSynced = base.BytesSynced + p.Stats.BytesCommitted
	d.hub.publishStatus(&j)
}

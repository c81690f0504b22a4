package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// maxSamples is about how many throughput samples an attempt keeps for
// its chart. Samples are taken every second at first; the gap grows with
// the attempt's age (elapsed/maxSamples), so a day-long attempt stores a
// few thousand rows, not 86,400, and the chart keeps its resolution.
const maxSamples = 300

// recordSample stores the attempt's counts for its throughput chart when
// the last sample is old enough. It runs on the runner's progress tick, a
// single goroutine per attempt. A failed write loses one point of a chart
// and is only logged.
func (d *Daemon) recordSample(run *activeRun, p runner.Progress) {
	gap := max(time.Second, p.Elapsed/maxSamples)
	if run.sampled && p.Elapsed-run.sampledAt < gap {
		return
	}
	run.sampled, run.sampledAt = true, p.Elapsed
	ctx, cancel := context.WithTimeout(context.WithoutCancel(run.ctx), 2*time.Second)
	defer cancel()
	err := d.db.AddSample(ctx, run.claim.Attempt.ID, store.Sample{Elapsed: p.Elapsed,
		RecordsEmitted: p.Stats.RecordsEmitted, BytesEmitted: p.Stats.BytesEmitted,
		RecordsCommitted: p.Stats.RecordsCommitted, BytesCommitted: p.Stats.BytesCommitted})
	if err != nil {
		d.log.Debug("record throughput sample", "job_id", run.claim.Job.ID, "error", err)
	}
}

// pruneDeletedJobs removes the jobs of deleted connections whose logs the
// retention age has expired, and their log directories: a deleted
// connection's history stays readable as long as its logs are kept.
func (d *Daemon) pruneDeletedJobs(ctx context.Context) {
	if d.cfg.Logging.RetentionAge == 0 {
		return
	}
	ids, err := d.db.PruneDeletedJobs(ctx, d.now().Add(-d.cfg.Logging.RetentionAge))
	if err != nil {
		d.log.Warn("prune the jobs of deleted connections", "error", err)
		return
	}
	for _, id := range ids {
		removeJobLogs(d.cfg.LogDir(), id)
	}
	if len(ids) > 0 {
		d.log.Info("pruned the jobs of deleted connections", "jobs", len(ids))
	}
}

// removeJobLogs removes a job's log directory (store.LogPath's parent);
// one already gone is fine.
func removeJobLogs(logDir string, jobID int64) {
	_ = os.RemoveAll(filepath.Join(logDir, strconv.FormatInt(jobID, 10)))
}

package daemon

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Replicas: any number of `ferry serve` processes may share one
// PostgreSQL database, each with its own data dir and Docker engine. Each
// claims work from the one queue and holds what it claimed by a lease
// (store/lease.go) that the heartbeat below renews. A replica that stops
// renewing (killed, paused, cut off) loses its attempts once the lease
// expires: any replica fails them ("lease expired on replica X") and the
// retry policy resumes their jobs from the committed state. SQLite runs
// the same code with one replica.

// errLeaseLost is the cancel cause of an attempt whose lease this replica
// lost: another replica has failed it or will, so it stops at once and
// its end is refused by the store.
var errLeaseLost = errors.New("this replica lost the attempt's lease")

// schedulerLease names the scheduler's leader lease.
const schedulerLease = "scheduler"

// registerReplica records this process among the replicas.
func (d *Daemon) registerReplica(ctx context.Context) error {
	host, _ := os.Hostname()
	return d.db.RegisterReplica(ctx, store.Replica{ID: d.instanceID, Hostname: host, PID: d.owner.PID, BootID: d.owner.BootID})
}

// heartbeatLoop renews this replica's leases and fails attempts whose
// lease expired, every Replica.Heartbeat until ctx ends. It runs until
// after the shutdown, so attempts finishing in the grace keep their leases.
func (d *Daemon) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.Replica.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d.heartbeat(ctx)
	}
}

// heartbeat runs once: renew, stop lost attempts, reap expired ones.
func (d *Daemon) heartbeat(ctx context.Context) {
	if err := d.db.ReplicaHeartbeat(ctx, d.instanceID, d.owner.BootID); err != nil && ctx.Err() == nil {
		d.log.Error("replica heartbeat", "error", err)
	}
	lost, err := d.db.RenewLeases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("renew leases", "error", err)
		}
		return
	}
	for _, id := range lost {
		d.leaseLost(id)
	}
	d.reapExpired(ctx)
}

// leaseLost stops the attempt whose lease was lost.
func (d *Daemon) leaseLost(attemptID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, run := range d.running {
		if run.claim.Attempt.ID == attemptID {
			d.log.Error("lost the lease of a running attempt: stopping it; its late writes are refused",
				"job_id", run.claim.Job.ID, "attempt", run.claim.Attempt.Number)
			run.cancel(errLeaseLost)
		}
	}
}

// reapExpired fails the attempts whose lease expired, whichever replica
// ran them, and removes their containers from this engine.
func (d *Daemon) reapExpired(ctx context.Context) {
	expired, err := d.db.ExpiredLeases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("list expired leases", "error", err)
		}
		return
	}
	for _, a := range expired {
		if d.db.Held(a.ID) {
			continue // ours: the renewal above reported it lost
		}
		msg := "lease expired on replica " + a.Owner.InstanceID
		if err := d.failLeftover(ctx, a, msg); err != nil {
			if !errors.Is(err, store.ErrConflict) { // another replica was first
				d.log.Error("fail an attempt whose lease expired", "job_id", a.JobID, "error", err)
			}
			continue
		}
		d.sweepAttempt(ctx, a)
		d.poke()
	}
}

// sweepAttempt removes one attempt's containers and volumes, if this
// replica's engine has them.
func (d *Daemon) sweepAttempt(ctx context.Context, a *store.Attempt) {
	if d.sweeper == nil {
		return
	}
	job, num := strconv.FormatInt(a.JobID, 10), strconv.Itoa(a.Number)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, _ = d.sweeper.Sweep(sctx, a.Owner.InstanceID, func(labels map[string]string) bool {
		return labels[runner.LabelJob] != job || labels[runner.LabelAttempt] != num
	})
}

// leading reports whether this replica runs the scheduler now: it takes
// or renews the leader lease, so one replica at a time creates scheduled
// jobs, and another takes over within a lease when it stops.
func (d *Daemon) leading(ctx context.Context) bool {
	ok, err := d.db.AcquireLeadership(ctx, schedulerLease, d.instanceID, d.cfg.Replica.Lease)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("scheduler leadership", "error", err)
		}
		return false
	}
	if ok != d.leader {
		d.leader = ok
		d.log.Info("scheduler leadership", "leading", ok)
	}
	return ok
}

// leaveReplicas records a graceful stop and hands the scheduler over.
func (d *Daemon) leaveReplicas() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.db.ReleaseLeadership(ctx, schedulerLease, d.instanceID); err != nil {
		d.log.Warn("release scheduler leadership", "error", err)
	}
	if err := d.db.StopReplica(ctx, d.instanceID, d.owner.BootID); err != nil {
		d.log.Warn("record the replica's stop", "error", err)
	}
}

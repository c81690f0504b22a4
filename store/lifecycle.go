package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// Claim is a job a worker took, with everything its attempt needs, read in
// the transaction that started the attempt.
type Claim struct {
	Job     *Job
	Attempt *Attempt
	// Connection, Source and Destination are as stored (configs masked).
	Connection            *Connection
	Source                *Actor
	Destination           *Actor
	SourceDefinition      *Definition
	DestinationDefinition *Definition
	// SourceConfig and DestinationConfig are the decrypted configs. They
	// are nil when ConfigErr is set: a secret could not be decrypted (for
	// example a replaced key file). The claim is still taken, so the
	// worker finishes the attempt with a config_error instead of the queue
	// stalling on this job.
	SourceConfig      *ResolvedConfig
	DestinationConfig *ResolvedConfig
	ConfigErr         error
	// State is the connection's committed state (for a refresh, the
	// state the refresh committed so far); the attempt starts from it.
	// Generations are the streams' current generations.
	State       []*protocol.State
	Generations []StreamGeneration
}

// ClaimJob takes the oldest job that is ready to run: pending, or
// incomplete with its retry time reached, not cancel-requested, and whose
// connection has no running attempt. In one transaction it marks the job
// running, inserts its next attempt (owned by owner) and reads what the
// attempt needs. It returns nil and no error when no job is ready.
func (db *DB) ClaimJob(ctx context.Context, owner Owner) (*Claim, error) {
	if owner.InstanceID == "" {
		return nil, invalid("owner.instanceId", "is required")
	}
	var c *Claim
	var src, dst *Actor
	var token string
	// PostgreSQL runs claims beside each other (updateShared): each locks
	// the job it takes and skips those others hold, so replicas never wait
	// on one another's claims.
	lock := ""
	if db.dialect == dialectPostgres {
		lock = ` FOR UPDATE OF j SKIP LOCKED`
	}
	err := db.updateShared(ctx, "claim job", func(tx *txn) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT j.id FROM jobs j
			WHERE (j.status = 'pending' OR (j.status = 'incomplete' AND (j.not_before IS NULL OR j.not_before <= ?)))
			AND j.cancel_requested = 0
			AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.connection_id = j.connection_id AND a.status = 'running')
			ORDER BY j.id LIMIT 1`+lock, formatTime(tx.now)).Scan(&id)
		if errNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		c = &Claim{}
		if c.Attempt, err = startAttempt(ctx, tx, id, owner); err != nil {
			return err
		}
		var expires time.Time
		if token, expires, err = takeLease(ctx, tx, c.Attempt.ID); err != nil {
			return err
		}
		c.Attempt.leaseToken, c.Attempt.LeaseExpiresAt = token, &expires
		if c.Job, err = findJob(ctx, tx, id); err != nil {
			return err
		}
		if c.Connection, _, err = findConnection(ctx, tx, c.Job.ConnectionID); err != nil {
			return err
		}
		if src, err = findActor(ctx, tx, KindSource, c.Connection.SourceID); err != nil {
			return err
		}
		if dst, err = findActor(ctx, tx, KindDestination, c.Connection.DestinationID); err != nil {
			return err
		}
		if c.SourceDefinition, err = findDefinition(ctx, tx, src.DefinitionID); err != nil {
			return err
		}
		if c.DestinationDefinition, err = findDefinition(ctx, tx, dst.DefinitionID); err != nil {
			return err
		}
		if c.State, err = attemptInputState(ctx, tx, c.Job); err != nil {
			return err
		}
		c.Generations, err = generations(ctx, tx, c.Job.ConnectionID)
		return err
	})
	if err != nil || c == nil {
		return nil, err
	}
	db.leases.hold(c.Attempt.ID, token)
	// Decrypt after the commit: it needs no database, and a failure must
	// not roll the claim back (see Claim.ConfigErr).
	if c.SourceConfig, err = resolveConfig(db.key, src); err != nil {
		c.SourceConfig, c.ConfigErr = nil, fmt.Errorf("source %s config: %w", src.ID, err)
	} else if c.DestinationConfig, err = resolveConfig(db.key, dst); err != nil {
		c.SourceConfig, c.DestinationConfig = nil, nil
		c.ConfigErr = fmt.Errorf("destination %s config: %w", dst.ID, err)
	}
	c.Source, c.Destination = maskedCopy(src), maskedCopy(dst)
	return c, nil
}

func maskedCopy(a *Actor) *Actor {
	m := *a
	if masked, err := maskEnvelopes(a.Config); err == nil {
		m.Config = masked
	} else {
		m.Config = json.RawMessage(`{}`) // never hand out what could not be masked
	}
	return &m
}

// startAttempt marks job id running and inserts its next attempt.
func startAttempt(ctx context.Context, tx *txn, jobID int64, owner Owner) (*Attempt, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'running', not_before = NULL,
		started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?`,
		formatTime(tx.now), formatTime(tx.now), jobID); err != nil {
		return nil, err
	}
	id, err := insertID(ctx, tx, `INSERT INTO attempts (job_id, connection_id, number, status,
		started_at, updated_at, owner_instance, owner_pid, owner_boot)
		SELECT j.id, j.connection_id,
			(SELECT COALESCE(MAX(number), 0) + 1 FROM attempts WHERE job_id = j.id),
			'running', ?, ?, ?, ?, ? FROM jobs j WHERE j.id = ?`,
		formatTime(tx.now), formatTime(tx.now), owner.InstanceID, owner.PID, owner.BootID, jobID)
	if err != nil {
		return nil, err
	}
	return findAttempt(ctx, tx, id)
}

// AttemptResult is how an attempt ended and what becomes of its job.
type AttemptResult struct {
	AttemptID int64
	// Status is succeeded, failed or cancelled.
	Status AttemptStatus
	// Stats are the attempt's final cumulative stats; nil keeps the last
	// checkpointed ones (crash recovery does not know better).
	Stats          *Stats
	FailureReasons []FailureReason
	// FinalStates are committed in the same transaction, as
	// CommitCheckpoint commits them.
	FinalStates []*protocol.State
	// JobStatus is incomplete (another attempt follows), succeeded,
	// failed or cancelled. A job whose cancel was requested never goes
	// back to incomplete: it becomes cancelled.
	JobStatus JobStatus
	// RetryAt is when the next attempt of an incomplete job may start;
	// nil means at once.
	RetryAt *time.Time
	// Takeover ends an attempt this DB does not hold, whose owner is known
	// to be gone: its lease expired, or it was this replica's earlier
	// process. Without it, only the lease holder may end the attempt.
	Takeover bool
}

// FinishAttempt ends a running attempt in one transaction: it commits the
// final state, sets the attempt's status, stats and failure reasons, and
// the job's status (G4: a job is succeeded only when this commit lands).
// It returns the updated job with its attempts, ErrNotFound, a
// *ValidationError, ErrConflict when the attempt is not running any more
// (recovery may have failed it), or ErrStorageFull, in which case nothing
// changed.
func (db *DB) FinishAttempt(ctx context.Context, r AttemptResult) (*Job, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	var j *Job
	err := db.update(ctx, "finish attempt", func(tx *txn) error {
		a, err := findFencedAttempt(ctx, tx, r.AttemptID, r.Takeover)
		if err != nil {
			return err
		}
		if j, err = findJob(ctx, tx, a.JobID); err != nil {
			return err
		}
		if len(r.FinalStates) > 0 {
			if err := writeStates(ctx, tx, a.ConnectionID, &a.ID, r.FinalStates); err != nil {
				return err
			}
		}
		stats := a.Stats
		if r.Stats != nil {
			stats = *r.Stats
		}
		if err := writeStats(ctx, tx, a.ID, stats, len(r.FinalStates) > 0); err != nil {
			return err
		}
		var failures any
		if len(r.FailureReasons) > 0 {
			b, err := json.Marshal(r.FailureReasons)
			if err != nil {
				return fmt.Errorf("encode failure reasons: %w", err)
			}
			failures = string(b)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET status = ?, failure_reasons = ?,
			ended_at = ?, updated_at = ? WHERE id = ?`,
			r.Status, failures, formatTime(tx.now), formatTime(tx.now), a.ID); err != nil {
			return err
		}
		status, retryAt := r.JobStatus, r.RetryAt
		if status == JobIncomplete && j.CancelRequested {
			status, retryAt = JobCancelled, nil
		}
		var ended any
		if status.Terminal() {
			ended = formatTime(tx.now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, not_before = ?, ended_at = ?,
			updated_at = ? WHERE id = ?`,
			status, nullTime(retryAt), ended, formatTime(tx.now), j.ID); err != nil {
			return err
		}
		if err := endRefresh(ctx, tx, j, status, &a.ID); err != nil {
			return err
		}
		if j, err = findJob(ctx, tx, j.ID); err != nil {
			return err
		}
		if j.Attempts, err = jobAttempts(ctx, tx, j.ID); err != nil {
			return err
		}
		if r.Status == AttemptSucceeded && db.finalCommitHook != nil {
			db.finalCommitHook()
		}
		return nil
	})
	if err == nil || errors.Is(err, ErrConflict) {
		db.leases.drop(r.AttemptID) // ended, by us or by another replica
	}
	return j, err
}

func (r *AttemptResult) validate() error {
	switch r.Status {
	case AttemptSucceeded, AttemptFailed, AttemptCancelled:
	default:
		return invalid("status", "must be succeeded, failed or cancelled")
	}
	switch r.JobStatus {
	case JobIncomplete, JobSucceeded, JobFailed, JobCancelled:
	default:
		return invalid("jobStatus", "must be incomplete, succeeded, failed or cancelled")
	}
	if r.JobStatus == JobSucceeded && r.Status != AttemptSucceeded {
		return invalid("jobStatus", "a job succeeds only with a succeeded attempt")
	}
	if r.RetryAt != nil && r.JobStatus != JobIncomplete {
		return invalid("retryAt", "is only for an incomplete job")
	}
	for i := range r.FailureReasons {
		if err := r.FailureReasons[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

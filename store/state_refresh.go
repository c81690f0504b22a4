package store

import (
	"context"

	"github.com/ferrysync/ferry/protocol"
)

// A refresh re-reads every stream from scratch under a new generation, and
// the old data is replaced only when it succeeds (the destination drops
// older generations only when a stream completes). Its state follows the
// data: what the destination acknowledges during the refresh is committed
// as it arrives (G3), but to the job's staged state (refresh_states), not
// to the connection's. The refresh's attempts start from the staged state,
// so a retry resumes the refresh, not the sync before it. When the job
// succeeds, the staged state replaces the connection's in the transaction
// that records the success; when it fails or is cancelled, the staged
// state is dropped and the connection's state is what it was before the
// refresh, matching the data the destination kept.

func refreshRows(jobID int64) stateRows {
	return stateRows{table: "refresh_states", key: "job_id", id: jobID}
}

// checkpointRows says where an attempt's states go: to its job's staged
// state (staged is then true) when the job is a refresh, else to the
// connection's state.
func checkpointRows(ctx context.Context, tx *txn, connID string, attemptID *int64) (rows stateRows, staged bool, err error) {
	if attemptID == nil {
		return connectionRows(connID), false, nil
	}
	var jobID int64
	var typ JobType
	err = tx.QueryRowContext(ctx, `SELECT j.id, j.type FROM attempts a JOIN jobs j ON j.id = a.job_id
		WHERE a.id = ?`, *attemptID).Scan(&jobID, &typ)
	if errNoRows(err) {
		return stateRows{}, false, notFound("attempt", *attemptID)
	}
	if err != nil {
		return stateRows{}, false, err
	}
	if typ == JobRefresh {
		return refreshRows(jobID), true, nil
	}
	return connectionRows(connID), false, nil
}

// attemptInputState is the state a claimed job's next attempt starts
// from: the connection's committed state, or for a refresh what the
// refresh itself has committed so far (nothing at its first attempt).
func attemptInputState(ctx context.Context, tx *txn, j *Job) ([]*protocol.State, error) {
	if j.Type == JobRefresh {
		return readRows(ctx, tx, refreshRows(j.ID))
	}
	return readState(ctx, tx, j.ConnectionID)
}

// endRefresh settles a refresh job's staged state once the job's new
// status is written: on success it replaces the connection's state
// (recorded in the history as a replace by the attempt), on failure or
// cancellation it is dropped. Other jobs, and a refresh that will be
// tried again, are left alone.
func endRefresh(ctx context.Context, tx *txn, j *Job, status JobStatus, attemptID *int64) error {
	if j.Type != JobRefresh || !status.Terminal() {
		return nil
	}
	if status == JobSucceeded {
		staged, err := readRows(ctx, tx, refreshRows(j.ID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM states WHERE connection_id = ?`, j.ConnectionID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO states (connection_id, kind, namespace, name,
			state, attempt_id, updated_at) SELECT ?, kind, namespace, name, state, attempt_id, ?
			FROM refresh_states WHERE job_id = ?`, j.ConnectionID, formatTime(tx.now), j.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, j.ConnectionID, attemptID, "replace", staged, nil); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM refresh_states WHERE job_id = ?`, j.ID)
	return err
}

// RefreshState returns the state a refresh job has staged so far (see
// above); nil when there is none. It returns ErrNotFound for an unknown
// job.
func (db *DB) RefreshState(ctx context.Context, jobID int64) ([]*protocol.State, error) {
	var out []*protocol.State
	err := db.view(ctx, "get refresh state", func(tx *txn) error {
		if _, err := findJob(ctx, tx, jobID); err != nil {
			return err
		}
		var err error
		out, err = readRows(ctx, tx, refreshRows(jobID))
		return err
	})
	return out, err
}

package store

import (
	"context"
	"errors"
	"time"
)

// ErrScheduleMoved is returned by AdvanceSchedule when the connection's
// stored next run time is no longer the one the caller planned from:
// another scheduler (a replica that held the leader lease before a
// handover) has already handled that run.
var ErrScheduleMoved = errors.New("next run already advanced")

// AdvanceSchedule moves a connection's next run from prev to next (nil
// clears it) only if it is still prev, a compare-and-set, and when fire
// is set creates the scheduled sync job in the same transaction. So a
// scheduled run creates one job even when two replicas both believe they
// lead the scheduler for a moment: the second one's compare fails and it
// creates nothing. It returns ErrScheduleMoved when the compare fails,
// the ErrConflict of CreateJob when the connection is busy (nothing is
// written then), and the job created (nil without fire).
func (db *DB) AdvanceSchedule(ctx context.Context, connID string, prev, next *time.Time, fire bool) (*Job, error) {
	var j *Job
	err := db.update(ctx, "advance schedule", func(tx *txn) error {
		q := `UPDATE connections SET next_run_at = ? WHERE id = ? AND next_run_at IS NULL`
		args := []any{nullTime(next), connID}
		if prev != nil {
			q = `UPDATE connections SET next_run_at = ? WHERE id = ? AND next_run_at = ?`
			args = append(args, formatTime(*prev))
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrScheduleMoved
		}
		if !fire {
			return nil
		}
		j, err = createJob(ctx, tx, connID, JobSync, TriggerSchedule, nil)
		return err
	})
	return j, err
}

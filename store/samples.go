package store

import (
	"context"
	"time"
)

// Throughput samples. The attempt row holds only the latest counts, so a
// finished job could not show how its throughput went; the daemon records
// a sample of the cumulative counts on the runner's progress tick and the
// job page draws the chart from them. They live in their own table rather
// than in the attempt row, so the once-a-second write is one small insert
// instead of rewriting a growing JSON column, and a page reads them only
// when it draws a chart.

// Sample is an attempt's cumulative counts at a moment of its run.
type Sample struct {
	// Elapsed is the time since the attempt started.
	Elapsed          time.Duration
	RecordsEmitted   int64
	BytesEmitted     int64
	RecordsCommitted int64
	BytesCommitted   int64
}

// AddSample records a sample of a running attempt; a second sample at the
// same Elapsed replaces the first. It returns ErrNotFound, or ErrConflict
// when the attempt is no longer running.
func (db *DB) AddSample(ctx context.Context, attemptID int64, s Sample) error {
	return db.update(ctx, "add sample", func(tx *txn) error {
		if _, err := findRunningAttempt(ctx, tx, attemptID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO attempt_samples (attempt_id, at_ms,
			records_emitted, bytes_emitted, records_committed, bytes_committed) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (attempt_id, at_ms) DO UPDATE SET records_emitted = excluded.records_emitted,
			bytes_emitted = excluded.bytes_emitted, records_committed = excluded.records_committed,
			bytes_committed = excluded.bytes_committed`,
			attemptID, s.Elapsed.Milliseconds(), s.RecordsEmitted, s.BytesEmitted, s.RecordsCommitted, s.BytesCommitted)
		return err
	})
}

// JobSamples returns the samples of a job's attempts by attempt number,
// each attempt's oldest first. A job without samples gives an empty map;
// an unknown job too (the page that asks has read the job already).
func (db *DB) JobSamples(ctx context.Context, jobID int64) (map[int][]Sample, error) {
	out := map[int][]Sample{}
	err := db.view(ctx, "list samples", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT a.number, s.at_ms, s.records_emitted, s.bytes_emitted,
			s.records_committed, s.bytes_committed FROM attempt_samples s JOIN attempts a ON a.id = s.attempt_id
			WHERE a.job_id = ? ORDER BY a.number, s.at_ms`, jobID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n int
			var ms int64
			var s Sample
			if err := rows.Scan(&n, &ms, &s.RecordsEmitted, &s.BytesEmitted, &s.RecordsCommitted, &s.BytesCommitted); err != nil {
				return err
			}
			s.Elapsed = time.Duration(ms) * time.Millisecond
			out[n] = append(out[n], s)
		}
		return rows.Err()
	})
	return out, err
}

// PruneDeletedJobs deletes the jobs of deleted connections that ended
// before cutoff, with their attempts and samples, and returns their ids so
// the caller can remove their log directories. Log retention calls it with
// its age limit: a deleted connection's history stays readable as long as
// its logs would have been kept, and then goes with them.
func (db *DB) PruneDeletedJobs(ctx context.Context, cutoff time.Time) ([]int64, error) {
	var ids []int64
	err := db.update(ctx, "prune deleted jobs", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM jobs
			WHERE connection_id NOT IN (SELECT id FROM connections)
			AND ended_at IS NOT NULL AND ended_at < ? ORDER BY id`, formatTime(cutoff))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			// State rows point at attempts with ON DELETE SET NULL, and the
			// connection's are gone already; attempts and samples cascade.
			if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

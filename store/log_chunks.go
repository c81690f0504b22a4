package store

import (
	"context"
	"errors"
)

// Attempt logs in the database. On its own database a replica keeps an
// attempt's log only as a file (logs.go); when replicas share a database
// the one running the attempt also appends the same bytes here, in chunks
// of up to a few hundred milliseconds or tens of KiB, so a browser
// connected to any replica can read and follow it. Chunks are keyed by
// their byte offset in the log, the same offsets the file has, so a
// reader can switch between the two and resume from an offset anywhere.

// maxLogChunk bounds one appended chunk; the writer batches below it.
const maxLogChunk = 1 << 20

// AppendLog stores data as the attempt's log from byte offset pos. The
// writer appends in order, each chunk starting where the last ended;
// appending a chunk at an offset already stored is a no-op, so a retried
// append is harmless. It returns ErrNotFound for an unknown attempt.
func (db *DB) AppendLog(ctx context.Context, attemptID, pos int64, data []byte) error {
	switch {
	case len(data) == 0:
		return nil
	case len(data) > maxLogChunk:
		return &ValidationError{Field: "data", Message: "a log chunk is at most 1 MiB"}
	case pos < 0:
		return &ValidationError{Field: "pos", Message: "a log offset is not negative"}
	}
	return db.update(ctx, "append log", func(tx *txn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM attempts WHERE id = ?`, attemptID).Scan(&one)
		if errNoRows(err) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO attempt_log_chunks (attempt_id, pos, data) VALUES (?, ?, ?)
			ON CONFLICT (attempt_id, pos) DO NOTHING`, attemptID, pos, data)
		return err
	})
}

// ReadLog returns up to max bytes of the attempt's stored log from byte
// offset pos: fewer (or none) when the log stored so far ends sooner, or
// when it spans more than 64 chunks (read on from where it ends). An
// unknown attempt, or one without stored chunks, has an empty log.
func (db *DB) ReadLog(ctx context.Context, attemptID, pos int64, max int) ([]byte, error) {
	if pos < 0 || max < 0 {
		return nil, errors.New("store: read log: negative offset or size")
	}
	var out []byte
	err := db.view(ctx, "read log", func(tx *txn) error {
		// The chunk that holds pos starts at or before it; the rest follow.
		rows, err := tx.QueryContext(ctx, `SELECT pos, data FROM attempt_log_chunks
			WHERE attempt_id = ? AND pos >= COALESCE((SELECT MAX(pos) FROM attempt_log_chunks
				WHERE attempt_id = ? AND pos <= ?), 0)
			ORDER BY pos LIMIT 64`, attemptID, attemptID, pos)
		if err != nil {
			return err
		}
		defer rows.Close()
		next := pos // the offset the next byte of out has
		for rows.Next() && len(out) < max {
			var at int64
			var data []byte
			if err := rows.Scan(&at, &data); err != nil {
				return err
			}
			end := at + int64(len(data))
			if at > next || end <= next {
				if at > next {
					break // a gap: a chunk not stored (yet)
				}
				continue
			}
			data = data[next-at:]
			if room := max - len(out); len(data) > room {
				data = data[:room]
			}
			out = append(out, data...)
			next += int64(len(data))
		}
		return rows.Err()
	})
	return out, err
}

package store

import (
	"context"
	"database/sql"
	"time"
)

// Replica is one `ferry serve` process on this database, as it registered
// at start and last reported by heartbeat.
type Replica struct {
	ID          string
	Hostname    string
	PID         int
	BootID      string
	StartedAt   time.Time
	HeartbeatAt time.Time
	// StoppedAt is set by a graceful shutdown.
	StoppedAt *time.Time
	// RunningAttempts are the ids of the attempts it runs (filled by
	// Replicas).
	RunningAttempts []int64
}

// RegisterReplica records r as started now. A replica id whose row shows
// a live process on another host (a heartbeat within the lease, not
// stopped) is ErrConflict: two processes must never share an id, since
// each sweeps the containers labelled with its own.
func (db *DB) RegisterReplica(ctx context.Context, r Replica) error {
	return db.update(ctx, "register replica", func(tx *txn) error {
		now := db.leaseTime()
		var boot, host, beat string
		var pid int
		var stopped sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT boot_id, hostname, pid, heartbeat_at, stopped_at FROM replicas WHERE id = ?`,
			r.ID).Scan(&boot, &host, &pid, &beat, &stopped)
		if err != nil && !errNoRows(err) {
			return err
		}
		// On one host the data dir's lock already keeps two processes off
		// one id, and a restart after a kill -9 must not wait for the
		// lease: only another host's live process is a clash.
		if err == nil && boot != r.BootID && host != r.Hostname && !stopped.Valid && beat > formatTime(now.Add(-db.leaseTTL)) {
			return conflict("replica id %s is in use by a live process (host %s, pid %d, last heartbeat %s): give each replica its own FERRY_REPLICA_ID or data dir",
				r.ID, host, pid, beat)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO replicas (id, hostname, pid, boot_id, started_at, heartbeat_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid,
			boot_id = excluded.boot_id, started_at = excluded.started_at,
			heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
			r.ID, r.Hostname, r.PID, r.BootID, formatTime(now), formatTime(now))
		return err
	})
}

// ReplicaHeartbeat records that replica id (this boot) is alive.
func (db *DB) ReplicaHeartbeat(ctx context.Context, id, bootID string) error {
	return db.updateShared(ctx, "replica heartbeat", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE replicas SET heartbeat_at = ? WHERE id = ? AND boot_id = ?`,
			formatTime(db.leaseTime()), id, bootID)
		return err
	})
}

// StopReplica records a graceful stop.
func (db *DB) StopReplica(ctx context.Context, id, bootID string) error {
	return db.update(ctx, "stop replica", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE replicas SET stopped_at = ? WHERE id = ? AND boot_id = ?`,
			formatTime(db.leaseTime()), id, bootID)
		return err
	})
}

// Replicas lists the live replicas: not stopped, with a heartbeat within
// the lease length. Each comes with its running attempts.
func (db *DB) Replicas(ctx context.Context) ([]*Replica, error) {
	var out []*Replica
	err := db.view(ctx, "list replicas", func(tx *txn) error {
		since := formatTime(db.leaseTime().Add(-db.leaseTTL))
		rows, err := tx.QueryContext(ctx, `SELECT id, hostname, pid, boot_id, started_at, heartbeat_at
			FROM replicas WHERE stopped_at IS NULL AND heartbeat_at > ? ORDER BY id`, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ts timeScanner
		for rows.Next() {
			var r Replica
			var started, beat string
			if err := rows.Scan(&r.ID, &r.Hostname, &r.PID, &r.BootID, &started, &beat); err != nil {
				return err
			}
			r.StartedAt, r.HeartbeatAt = ts.time(started), ts.time(beat)
			out = append(out, &r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if ts.err != nil {
			return ts.err
		}
		rows.Close()
		for _, r := range out {
			as, err := queryAttempts(ctx, tx, `WHERE status = 'running' AND owner_instance = ? ORDER BY id`, r.ID)
			if err != nil {
				return err
			}
			for _, a := range as {
				r.RunningAttempts = append(r.RunningAttempts, a.ID)
			}
		}
		return nil
	})
	return out, err
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// CreateConnection inserts c, filling in ID (when empty), defaults for the
// zero settings (manual schedule, destination namespace, active), a name
// ("<source> → <destination>") when empty, NextRunAt from the schedule,
// CreatedAt and UpdatedAt. It returns a *ValidationError, including when
// the source or destination does not exist.
func (db *DB) CreateConnection(ctx context.Context, c *Connection) error {
	return db.update(ctx, "create connection", func(tx *txn) error {
		if err := checkID(&c.ID); err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		src, err := findActor(ctx, tx, KindSource, c.SourceID)
		if err != nil {
			return invalid("sourceId", "source %s not found", c.SourceID)
		}
		dst, err := findActor(ctx, tx, KindDestination, c.DestinationID)
		if err != nil {
			return invalid("destinationId", "destination %s not found", c.DestinationID)
		}
		if dst.WorkspaceID != src.WorkspaceID {
			return invalid("destinationId", "destination %s is in another workspace than source %s", dst.ID, src.ID)
		}
		c.WorkspaceID = src.WorkspaceID
		if c.Name == "" {
			c.Name = src.Name + " → " + dst.Name
		}
		c.CreatedAt, c.UpdatedAt = tx.now, tx.now
		c.NextRunAt = c.nextRun(tx.now)
		return writeConnection(ctx, tx, c, sql.NullString{}, true)
	})
}

// writeConnection inserts or updates c's row.
func writeConnection(ctx context.Context, tx *txn, c *Connection, storedSecret sql.NullString, insert bool) error {
	catalog, selected, err := c.encodeJSON()
	if err != nil {
		return err
	}
	secret, err := sealWebhookSecret(tx, c, storedSecret)
	if err != nil {
		return err
	}
	tags, err := c.encodeTags()
	if err != nil {
		return err
	}
	s := c.Schedule
	args := []any{c.Name, c.SourceID, c.DestinationID, catalog, selected,
		s.Type, nullInt64IfZero(s.IntervalSeconds), nullString(s.Cron), nullString(s.Timezone), s.MissedRuns,
		c.NamespaceDefinition, nullString(c.NamespaceFormat), c.Prefix, c.Status,
		nullDuration(c.Timeouts.NoProgress), nullDuration(c.Timeouts.EndOfInput),
		nullDuration(c.Timeouts.MaxAttemptDuration), boolInt(c.ForceStdio), nullSockets(c.SocketCount),
		nullString(c.NetworkMode), nullString(c.WebhookURL), secret, nullTime(c.NextRunAt),
		c.NonBreakingChanges, c.DataResidency, tags, formatTime(c.UpdatedAt), c.ID}
	if insert {
		_, err = tx.ExecContext(ctx, `INSERT INTO connections (name, source_id, destination_id,
			catalog, selected_fields, schedule_type, schedule_interval_seconds, schedule_cron,
			schedule_timezone, missed_runs, namespace_definition, namespace_format, prefix, status,
			no_progress_timeout_ms, end_of_input_timeout_ms, max_attempt_duration_ms, force_stdio,
			socket_count, network_mode, webhook_url, webhook_secret, next_run_at,
			non_breaking_changes, data_residency, tags, updated_at, id, created_at, workspace_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append(args, formatTime(c.CreatedAt), c.WorkspaceID)...)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE connections SET name = ?, source_id = ?,
			destination_id = ?, catalog = ?, selected_fields = ?, schedule_type = ?,
			schedule_interval_seconds = ?, schedule_cron = ?, schedule_timezone = ?, missed_runs = ?,
			namespace_definition = ?, namespace_format = ?, prefix = ?, status = ?,
			no_progress_timeout_ms = ?, end_of_input_timeout_ms = ?, max_attempt_duration_ms = ?,
			force_stdio = ?, socket_count = ?, network_mode = ?, webhook_url = ?, webhook_secret = ?,
			next_run_at = ?, non_breaking_changes = ?, data_residency = ?, tags = ?, updated_at = ?
			WHERE id = ?`, args...)
	}
	if err != nil {
		return err
	}
	// Written apart from the columns above (a later migration's column).
	if _, err := tx.ExecContext(ctx, `UPDATE connections SET destination_write_timeout_ms = ? WHERE id = ?`,
		nullDuration(c.Timeouts.DestinationWrite), c.ID); err != nil {
		return err
	}
	// The bridge (migration 0010): a new connection without one keeps the
	// column's NULL, so creating one needs no write, as on a database
	// that predates the column (the upgrade tests create connections at
	// older versions).
	if !insert || c.Bridge != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE connections SET bridge = ? WHERE id = ?`, nullString(c.Bridge), c.ID); err != nil {
			return err
		}
	}
	if secret != nil {
		c.WebhookSecret = Mask
	}
	return nil
}

func nullInt64IfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// Connection returns the connection with the given id, or ErrNotFound.
func (db *DB) Connection(ctx context.Context, id string) (*Connection, error) {
	var c *Connection
	err := db.view(ctx, "get connection", func(tx *txn) (err error) {
		c, _, err = findConnection(ctx, tx, id)
		return err
	})
	return c, err
}

// ConnectionFilter selects connections. Zero fields match everything.
type ConnectionFilter struct {
	SourceID      string
	DestinationID string
	Status        ConnectionStatus
	// WorkspaceIDs keeps the connections of these workspaces; empty keeps
	// all.
	WorkspaceIDs []string
	Page
}

// Connections lists connections, oldest first, and returns the total count
// of matches before paging.
func (db *DB) Connections(ctx context.Context, f ConnectionFilter) ([]*Connection, int, error) {
	limit, offset := f.limits()
	var out []*Connection
	var total int
	err := db.view(ctx, "list connections", func(tx *txn) error {
		from := `FROM connections WHERE (CAST(? AS TEXT) = '' OR source_id = ?) AND (CAST(? AS TEXT) = '' OR destination_id = ?)
			AND (CAST(? AS TEXT) = '' OR status = ?)`
		args := []any{f.SourceID, f.SourceID, f.DestinationID, f.DestinationID, f.Status, f.Status}
		from, args = inWorkspaces(from, args, f.WorkspaceIDs)
		rows, err := tx.QueryContext(ctx, `SELECT `+connectionColumns+`, COUNT(*) OVER () `+from+`
			ORDER BY created_at, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanConnection(rows, &total)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return countPastEnd(ctx, tx, len(out), offset, &total, from, args...)
	})
	return out, total, err
}

// UpdateConnection replaces the settings of connection c.ID. SourceID and
// DestinationID cannot change (empty keeps them). A WebhookSecret equal to
// the mask keeps the stored secret, and an empty one removes it. When the
// schedule or status changes, NextRunAt is recomputed from now; otherwise
// the stored one is kept. It returns ErrNotFound or a *ValidationError.
func (db *DB) UpdateConnection(ctx context.Context, c *Connection) error {
	return db.update(ctx, "update connection", func(tx *txn) error {
		old, secret, err := findConnection(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if c.SourceID == "" {
			c.SourceID = old.SourceID
		}
		if c.DestinationID == "" {
			c.DestinationID = old.DestinationID
		}
		if c.SourceID != old.SourceID || c.DestinationID != old.DestinationID {
			return invalid("sourceId", "the source and destination of a connection cannot change")
		}
		if c.Name == "" {
			c.Name = old.Name
		}
		if err := c.Validate(); err != nil {
			return err
		}
		c.WorkspaceID = old.WorkspaceID
		c.CreatedAt, c.UpdatedAt = old.CreatedAt, tx.now
		c.NextRunAt = old.NextRunAt
		if c.Schedule != old.Schedule || c.Status != old.Status {
			c.NextRunAt = c.nextRun(tx.now)
		}
		return writeConnection(ctx, tx, c, secret, false)
	})
}

// DeleteConnection deletes a connection with its state, state history and
// stream generations. Its jobs and attempts stay readable (their
// connection_id no longer resolves), and so do the attempt logs until
// PruneLogs removes them; jobs still waiting to run are cancelled. It
// returns ErrNotFound, or ErrConflict while an attempt is running.
func (db *DB) DeleteConnection(ctx context.Context, id string) error {
	return db.update(ctx, "delete connection", func(tx *txn) error {
		if _, _, err := findConnection(ctx, tx, id); err != nil {
			return err
		}
		if err := checkNoRunningAttempt(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'cancelled', cancel_requested = 1,
			updated_at = ?, ended_at = ?, not_before = NULL
			WHERE connection_id = ? AND status IN ('pending', 'incomplete')`,
			formatTime(tx.now), formatTime(tx.now), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE id = ?`, id)
		return err
	})
}

// ConnectionWebhook returns a connection's webhook URL and plaintext
// secret (empty when unset), for signing webhook bodies. It returns
// ErrNotFound, or an error when the secret cannot be decrypted.
func (db *DB) ConnectionWebhook(ctx context.Context, id string) (webhookURL, secret string, err error) {
	err = db.view(ctx, "get connection webhook", func(tx *txn) error {
		c, stored, err := findConnection(ctx, tx, id)
		if err != nil {
			return err
		}
		webhookURL = c.WebhookURL
		if !stored.Valid {
			return nil
		}
		plain, err := tx.db.key.open(json.RawMessage(stored.String), connectionOwner(id))
		if err != nil {
			return err
		}
		return json.Unmarshal(plain, &secret)
	})
	return webhookURL, secret, err
}

// DueConnections returns the active connections whose next run is at or
// before now, earliest first.
func (db *DB) DueConnections(ctx context.Context, now time.Time) ([]*Connection, error) {
	var out []*Connection
	err := db.view(ctx, "list due connections", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections
			WHERE status = 'active' AND schedule_type != 'manual' AND next_run_at IS NOT NULL
			AND next_run_at <= ? ORDER BY next_run_at, id`, formatTime(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanConnection(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// SetNextRunAt sets (or, with nil, clears) when the scheduler next runs a
// connection. It returns ErrNotFound.
func (db *DB) SetNextRunAt(ctx context.Context, id string, next *time.Time) error {
	return db.update(ctx, "set next run", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET next_run_at = ? WHERE id = ?`, nullTime(next), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("connection", id)
		}
		return nil
	})
}

// findConnection returns the connection and its stored webhook secret.
func findConnection(ctx context.Context, tx *txn, id string) (*Connection, sql.NullString, error) {
	var secret sql.NullString
	row := tx.QueryRowContext(ctx, `SELECT `+connectionColumns+`, webhook_secret
		FROM connections WHERE id = ?`, id)
	c, err := scanConnection(row, &secret)
	if errNoRows(err) {
		return nil, secret, notFound("connection", id)
	}
	return c, secret, err
}

// checkNoRunningAttempt returns ErrConflict when the connection has a
// running attempt.
func checkNoRunningAttempt(ctx context.Context, tx *txn, connID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM attempts
		WHERE connection_id = ? AND status = 'running'`, connID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return conflict("connection %s has a running sync", connID)
	}
	return nil
}

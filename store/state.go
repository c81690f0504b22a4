package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ferrysync/ferry/protocol"
)

// State rows: a STREAM state has one row per stream descriptor (a null
// namespace is stored as ""), a GLOBAL or LEGACY state one row with empty
// namespace and name. Rows hold protocol.State JSON cleaned of bookkeeping
// keys (State.Clean), which is what goes back to the source.

// CommitCheckpoint commits destination-acknowledged states and the
// attempt's cumulative stats in one transaction (docs/protocol.md 4.3). STREAM
// states are upserted per stream; a GLOBAL or LEGACY state replaces the
// connection's state. Within states, later entries win (the caller passes
// them in acknowledgement order). The states must all be of one kind; a
// kind different from the stored one replaces the stored state (a
// connector that moved from LEGACY to per-stream state). Empty states
// record only the stats, as a progress update. It returns a
// *ValidationError, ErrConflict when the attempt is no longer running, or
// ErrStorageFull; on any error nothing is written.
func (db *DB) CommitCheckpoint(ctx context.Context, attemptID int64, states []*protocol.State, stats Stats) error {
	return db.update(ctx, "commit checkpoint", func(tx *txn) error {
		a, err := findRunningAttempt(ctx, tx, attemptID)
		if err != nil {
			return err
		}
		if err := writeStates(ctx, tx, a.ConnectionID, &a.ID, states); err != nil {
			return err
		}
		return writeStats(ctx, tx, a.ID, stats, len(states) > 0)
	})
}

// checkStates validates a batch and returns its kind and the cleaned
// states. replace requires a complete state: one GLOBAL or LEGACY state,
// or STREAM states without duplicate streams.
func checkStates(states []*protocol.State, replace bool) (protocol.StateType, []*protocol.State, error) {
	var kind protocol.StateType
	clean := make([]*protocol.State, 0, len(states))
	seen := make(map[protocol.StreamDescriptor]bool)
	for i, s := range states {
		if s == nil {
			return "", nil, invalid("state", "entry %d is null", i)
		}
		if err := s.Validate(); err != nil {
			return "", nil, invalid("state", "entry %d: %v", i, err)
		}
		if i == 0 {
			kind = s.Kind()
		} else if s.Kind() != kind {
			return "", nil, invalid("state", "cannot mix %s and %s states", kind, s.Kind())
		}
		if replace {
			if kind != protocol.StateStream && len(states) > 1 {
				return "", nil, invalid("state", "more than one %s state", kind)
			}
			if kind == protocol.StateStream {
				d := s.Stream.StreamDescriptor
				if seen[d] {
					return "", nil, invalid("state", "stream %s appears twice", d)
				}
				seen[d] = true
			}
		}
		c := s.Clean()
		if c.Type == "" {
			c.Type = protocol.StateLegacy // stored explicitly; absent means LEGACY anyway
		}
		clean = append(clean, c)
	}
	return kind, clean, nil
}

// stateRows says where states are stored: a connection's committed state
// (table states), or the state a refresh job stages until it succeeds
// (table refresh_states, see state_refresh.go). Both tables have the same
// layout but for their key.
type stateRows struct {
	table string // states or refresh_states
	key   string // connection_id or job_id
	id    any
}

func connectionRows(connID string) stateRows {
	return stateRows{table: "states", key: "connection_id", id: connID}
}

// writeStates stores a batch of states an attempt (nil: none) committed
// for a connection and records it in the history; a refresh attempt's
// states go to its job's staged state instead, without history.
func writeStates(ctx context.Context, tx *txn, connID string, attemptID *int64, states []*protocol.State) error {
	if len(states) == 0 {
		return nil
	}
	kind, clean, err := checkStates(states, false)
	if err != nil {
		return err
	}
	rows, staged, err := checkpointRows(ctx, tx, connID, attemptID)
	if err != nil {
		return err
	}
	var stored int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+rows.table+` WHERE `+rows.key+` = ? AND kind != ?`,
		rows.id, kind).Scan(&stored); err != nil {
		return err
	}
	if kind != protocol.StateStream || stored > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+rows.table+` WHERE `+rows.key+` = ?`, rows.id); err != nil {
			return err
		}
	}
	if kind != protocol.StateStream {
		clean = clean[len(clean)-1:] // the latest GLOBAL or LEGACY state wins
	}
	if err := upsertStates(ctx, tx, rows, attemptID, clean); err != nil {
		return err
	}
	if staged {
		return nil // the history records the refresh's state when it replaces the connection's
	}
	return addHistory(ctx, tx, connID, attemptID, "checkpoint", clean, nil)
}

func upsertStates(ctx context.Context, tx *txn, rows stateRows, attemptID *int64, clean []*protocol.State) error {
	for _, s := range clean {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		var d protocol.StreamDescriptor
		if s.Kind() == protocol.StateStream {
			d = s.Stream.StreamDescriptor
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+rows.table+` (`+rows.key+`, kind, namespace, name,
			state, attempt_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (`+rows.key+`, namespace, name) DO UPDATE SET kind = excluded.kind,
			state = excluded.state, attempt_id = excluded.attempt_id, updated_at = excluded.updated_at`,
			rows.id, s.Kind(), d.Namespace, d.Name, string(b), nullInt64(attemptID), formatTime(tx.now)); err != nil {
			return err
		}
	}
	return nil
}

// State returns a connection's committed state, STREAM states ordered by
// namespace and name; nil when there is none. Pass it to
// protocol.StateFile for a source's --state file. It returns ErrNotFound
// for an unknown connection.
func (db *DB) State(ctx context.Context, connID string) ([]*protocol.State, error) {
	var out []*protocol.State
	err := db.view(ctx, "get state", func(tx *txn) (err error) {
		if _, _, err := findConnection(ctx, tx, connID); err != nil {
			return err
		}
		out, err = readState(ctx, tx, connID)
		return err
	})
	return out, err
}

func readState(ctx context.Context, tx *txn, connID string) ([]*protocol.State, error) {
	return readRows(ctx, tx, connectionRows(connID))
}

func readRows(ctx context.Context, tx *txn, where stateRows) ([]*protocol.State, error) {
	rows, err := tx.QueryContext(ctx, `SELECT state FROM `+where.table+` WHERE `+where.key+` = ?
		ORDER BY namespace, name`, where.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*protocol.State
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var s protocol.State
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return nil, fmt.Errorf("decode stored state (%s %v): %w", where.key, where.id, err)
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

// ReplaceState replaces a connection's whole state, as the API's PUT does:
// one GLOBAL or LEGACY state, or STREAM states with no stream twice. Empty
// states clear it. It returns ErrNotFound, a *ValidationError, or
// ErrConflict while an attempt of the connection is running.
func (db *DB) ReplaceState(ctx context.Context, connID string, states []*protocol.State) error {
	return db.update(ctx, "replace state", func(tx *txn) error {
		if _, _, err := findConnection(ctx, tx, connID); err != nil {
			return err
		}
		if err := checkNoRunningAttempt(ctx, tx, connID); err != nil {
			return err
		}
		_, clean, err := checkStates(states, true)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM states WHERE connection_id = ?`, connID); err != nil {
			return err
		}
		if err := upsertStates(ctx, tx, connectionRows(connID), nil, clean); err != nil {
			return err
		}
		return addHistory(ctx, tx, connID, nil, "replace", clean, nil)
	})
}

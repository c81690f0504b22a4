package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// ClearState removes a connection's committed state, of every stream when
// streams is nil, as the API's DELETE does. For a GLOBAL state, clearing
// some streams removes their entries from stream_states and keeps the
// shared state; a LEGACY state can only be cleared whole. It returns
// ErrNotFound, a *ValidationError, or ErrConflict while an attempt of the
// connection is running (a reset job uses ClearStateForAttempt).
func (db *DB) ClearState(ctx context.Context, connID string, streams []protocol.StreamDescriptor) error {
	return db.update(ctx, "clear state", func(tx *txn) error {
		if _, _, err := findConnection(ctx, tx, connID); err != nil {
			return err
		}
		if err := checkNoRunningAttempt(ctx, tx, connID); err != nil {
			return err
		}
		return clearState(ctx, tx, connID, nil, streams)
	})
}

// ClearStateForAttempt is ClearState on behalf of a running attempt, for
// reset jobs. It returns ErrNotFound, a *ValidationError, or ErrConflict
// when the attempt is no longer running.
func (db *DB) ClearStateForAttempt(ctx context.Context, attemptID int64, streams []protocol.StreamDescriptor) error {
	return db.update(ctx, "clear state", func(tx *txn) error {
		a, err := findRunningAttempt(ctx, tx, attemptID)
		if err != nil {
			return err
		}
		return clearState(ctx, tx, a.ConnectionID, &a.ID, streams)
	})
}

func clearState(ctx context.Context, tx *txn, connID string, attemptID *int64, streams []protocol.StreamDescriptor) error {
	states, err := readState(ctx, tx, connID)
	if err != nil {
		return err
	}
	if streams == nil || len(states) == 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM states WHERE connection_id = ?`, connID); err != nil {
			return err
		}
		return addHistory(ctx, tx, connID, attemptID, "clear", nil, streams)
	}
	drop := make(map[protocol.StreamDescriptor]bool, len(streams))
	for _, d := range streams {
		drop[d] = true
	}
	switch states[0].Kind() {
	case protocol.StateStream:
		for _, d := range streams {
			if _, err := tx.ExecContext(ctx, `DELETE FROM states WHERE connection_id = ?
				AND namespace = ? AND name = ?`, connID, d.Namespace, d.Name); err != nil {
				return err
			}
		}
	case protocol.StateGlobal:
		g := *states[0]
		global := *g.Global
		global.StreamStates = nil
		for _, ss := range g.Global.StreamStates {
			if !drop[ss.StreamDescriptor] {
				global.StreamStates = append(global.StreamStates, ss)
			}
		}
		g.Global = &global
		if err := upsertStates(ctx, tx, connectionRows(connID), attemptID, []*protocol.State{&g}); err != nil {
			return err
		}
	default:
		return invalid("streams", "a LEGACY state can only be cleared for all streams")
	}
	return addHistory(ctx, tx, connID, attemptID, "clear", nil, streams)
}

// StateHistoryEntry is one change to a connection's state.
type StateHistoryEntry struct {
	ID           int64
	ConnectionID string
	// AttemptID is the attempt that committed the change; nil for API
	// changes.
	AttemptID *int64
	// Action is checkpoint, replace or clear.
	Action string
	// States are the states written (cleaned), in order.
	States []*protocol.State
	// Streams are the streams a clear applied to; nil means all.
	Streams   []protocol.StreamDescriptor
	CreatedAt time.Time
}

// addHistory records a change and prunes the connection's history to the
// configured limit.
func addHistory(ctx context.Context, tx *txn, connID string, attemptID *int64, action string,
	states []*protocol.State, streams []protocol.StreamDescriptor) error {
	if states == nil {
		states = []*protocol.State{}
	}
	sb, err := json.Marshal(states)
	if err != nil {
		return fmt.Errorf("encode state history: %w", err)
	}
	var streamsJSON any
	if streams != nil {
		b, err := json.Marshal(streams)
		if err != nil {
			return fmt.Errorf("encode state history: %w", err)
		}
		streamsJSON = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO state_history (connection_id, attempt_id, action,
		states, streams, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		connID, nullInt64(attemptID), action, string(sb), streamsJSON, formatTime(tx.now)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM state_history WHERE connection_id = ? AND id <= (
		SELECT id FROM state_history WHERE connection_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		connID, connID, tx.db.historyLimit)
	return err
}

// StateHistory lists a connection's state changes, newest first, and the
// total count before paging. It returns ErrNotFound for an unknown
// connection.
func (db *DB) StateHistory(ctx context.Context, connID string, p Page) ([]*StateHistoryEntry, int, error) {
	limit, offset := p.limits()
	var out []*StateHistoryEntry
	var total int
	err := db.view(ctx, "list state history", func(tx *txn) error {
		if _, _, err := findConnection(ctx, tx, connID); err != nil {
			return err
		}
		const from = `FROM state_history WHERE connection_id = ?`
		rows, err := tx.QueryContext(ctx, `SELECT id, attempt_id, action, states, streams, created_at,
			COUNT(*) OVER () `+from+` ORDER BY id DESC LIMIT ? OFFSET ?`, connID, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := &StateHistoryEntry{ConnectionID: connID}
			var attempt sql.NullInt64
			var states, created string
			var streams sql.NullString
			if err := rows.Scan(&e.ID, &attempt, &e.Action, &states, &streams, &created, &total); err != nil {
				return err
			}
			e.AttemptID = ptrInt64(attempt)
			if err := json.Unmarshal([]byte(states), &e.States); err != nil {
				return fmt.Errorf("decode state history %d: %w", e.ID, err)
			}
			if streams.Valid {
				if err := json.Unmarshal([]byte(streams.String), &e.Streams); err != nil {
					return fmt.Errorf("decode state history %d: %w", e.ID, err)
				}
			}
			if e.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return countPastEnd(ctx, tx, len(out), offset, &total, from, connID)
	})
	return out, total, err
}

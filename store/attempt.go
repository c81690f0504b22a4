package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// AttemptStatus is an attempt's status.
type AttemptStatus string

// Attempt statuses: running → succeeded | failed | cancelled.
const (
	AttemptRunning   AttemptStatus = "running"
	AttemptSucceeded AttemptStatus = "succeeded"
	AttemptFailed    AttemptStatus = "failed"
	AttemptCancelled AttemptStatus = "cancelled"
)

// Owner identifies the process that runs an attempt, so that after a crash
// the next start can tell its own leftovers (G6).
type Owner struct {
	InstanceID string
	PID        int
	// BootID tells apart processes that reuse a PID after a reboot, or
	// two starts of one daemon; any per-start random string works.
	BootID string
}

// Attempt is one run of a job.
type Attempt struct {
	ID           int64
	JobID        int64
	ConnectionID string
	Number       int
	Status       AttemptStatus
	StartedAt    time.Time
	UpdatedAt    time.Time
	EndedAt      *time.Time
	Owner        Owner
	// Mode, Format and SocketCount are the chosen data channel
	// (protocol.ModeStdio, protocol.FormatJSONL, ...); empty until
	// SetAttemptRun.
	Mode        string
	Format      string
	SocketCount int
	// Bridge is how a bridged attempt reached the source's sockets
	// (BridgeDirect or BridgeRelay); empty when it was not bridged.
	Bridge string
	Stats  Stats
	// FailureReasons are Airbyte FailureReasons, in order.
	FailureReasons []FailureReason
	LogPath        string
	// CommittedState is set once any state was committed by this attempt.
	CommittedState bool
	// LeaseExpiresAt is when the lease of a running attempt ends unless
	// its replica (Owner.InstanceID) renews it; nil before leases.
	LeaseExpiresAt *time.Time
	// leaseToken fences the attempt's writes (lease.go); never shown.
	leaseToken string
}

// Stats are an attempt's cumulative counts. Emitted counts what the source
// sent; committed counts what the destination acknowledged.
type Stats struct {
	RecordsEmitted   int64
	BytesEmitted     int64
	RecordsCommitted int64
	BytesCommitted   int64
	Streams          []StreamStats
}

// StreamStats are the counts of one stream.
type StreamStats struct {
	Stream           protocol.StreamDescriptor `json:"stream"`
	RecordsEmitted   int64                     `json:"recordsEmitted"`
	BytesEmitted     int64                     `json:"bytesEmitted"`
	RecordsCommitted int64                     `json:"recordsCommitted"`
	BytesCommitted   int64                     `json:"bytesCommitted"`
	// StatesEmitted and StatesCommitted count the states that covered the
	// stream: a GLOBAL or LEGACY state counts once in every stream.
	StatesEmitted   int64 `json:"statesEmitted"`
	StatesCommitted int64 `json:"statesCommitted"`
	// Status is the stream's last STREAM_STATUS (STARTED, RUNNING,
	// COMPLETE, INCOMPLETE), if any.
	Status string `json:"status,omitempty"`
}

// FailureReason is Airbyte's FailureReason (docs/protocol.md 7.2). The origin
// and type names are protocol's (protocol.OriginSource,
// protocol.FailureConfig, ...).
type FailureReason struct {
	FailureOrigin    string                     `json:"failureOrigin"`
	FailureType      string                     `json:"failureType,omitempty"`
	InternalMessage  string                     `json:"internalMessage,omitempty"`
	ExternalMessage  string                     `json:"externalMessage,omitempty"`
	Stacktrace       string                     `json:"stacktrace,omitempty"`
	Retryable        *bool                      `json:"retryable,omitempty"`
	Timestamp        int64                      `json:"timestamp"` // epoch milliseconds
	StreamDescriptor *protocol.StreamDescriptor `json:"streamDescriptor,omitempty"`
	Metadata         map[string]any             `json:"metadata,omitempty"`
}

// Validate checks the origin and type names. It returns a
// *ValidationError.
func (f *FailureReason) Validate() error {
	switch f.FailureOrigin {
	case protocol.OriginSource, protocol.OriginDestination, protocol.OriginReplication, protocol.OriginPersistence,
		protocol.OriginNormalization, protocol.OriginDBT, protocol.OriginPlatform, protocol.OriginUnknown:
	default:
		return invalid("failureReasons.failureOrigin", "unknown origin %q", f.FailureOrigin)
	}
	switch f.FailureType {
	case "", protocol.FailureConfig, protocol.FailureSystem, protocol.FailureManualCancellation,
		protocol.FailureRefreshSchema, protocol.FailureHeartbeatTimeout, protocol.FailureDestinationTimeout,
		protocol.FailureTransient:
	default:
		return invalid("failureReasons.failureType", "unknown type %q", f.FailureType)
	}
	return nil
}

// AttemptRun is the data channel chosen for an attempt, and its log file.
type AttemptRun struct {
	Mode        string // stdio, socket or bridged
	Format      string // JSONL or PROTOBUF
	SocketCount int
	// Bridge is the path of a bridged attempt, BridgeDirect or
	// BridgeRelay; empty otherwise.
	Bridge  string
	LogPath string
}

// SetAttemptRun records the chosen mode, format, socket count and log path
// of a running attempt. It returns ErrNotFound, a *ValidationError, or
// ErrConflict when the attempt is no longer running.
func (db *DB) SetAttemptRun(ctx context.Context, attemptID int64, r AttemptRun) error {
	switch r.Mode {
	case protocol.ModeStdio, protocol.ModeSocket, protocol.ModeBridged:
	default:
		return invalid("mode", "must be stdio, socket or bridged")
	}
	if r.Format != protocol.FormatJSONL && r.Format != protocol.FormatProtobuf {
		return invalid("format", "must be JSONL or PROTOBUF")
	}
	if r.SocketCount < 0 {
		return invalid("socketCount", "must not be negative")
	}
	switch {
	case r.Mode == protocol.ModeBridged && r.Bridge != BridgeDirect && r.Bridge != BridgeRelay:
		return invalid("bridge", "must be direct or relay in bridged mode")
	case r.Mode != protocol.ModeBridged && r.Bridge != "":
		return invalid("bridge", "is set only in bridged mode")
	}
	return db.update(ctx, "set attempt run", func(tx *txn) error {
		if _, err := findRunningAttempt(ctx, tx, attemptID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE attempts SET mode = ?, format = ?, socket_count = ?,
			bridge = ?, log_path = ?, updated_at = ? WHERE id = ?`,
			r.Mode, r.Format, r.SocketCount, nullString(r.Bridge), nullString(r.LogPath), formatTime(tx.now), attemptID)
		return err
	})
}

// Attempt returns an attempt by id. It returns ErrNotFound.
func (db *DB) Attempt(ctx context.Context, id int64) (*Attempt, error) {
	var a *Attempt
	err := db.view(ctx, "get attempt", func(tx *txn) (err error) {
		a, err = findAttempt(ctx, tx, id)
		return err
	})
	return a, err
}

// RunningAttempts returns every attempt whose status is running, for crash
// recovery: those whose Owner is not a live process of this instance are
// left over and should be finished as failed (FinishAttempt).
func (db *DB) RunningAttempts(ctx context.Context) ([]*Attempt, error) {
	var out []*Attempt
	err := db.view(ctx, "list running attempts", func(tx *txn) error {
		var err error
		out, err = queryAttempts(ctx, tx, `WHERE status = 'running' ORDER BY id`)
		return err
	})
	return out, err
}

func jobAttempts(ctx context.Context, tx *txn, jobID int64) ([]*Attempt, error) {
	return queryAttempts(ctx, tx, `WHERE job_id = ? ORDER BY number`, jobID)
}

// JobAttempts returns the attempts of the given jobs, in order of number,
// by job id: one query for a list page that shows each failed job's
// reason.
func (db *DB) JobAttempts(ctx context.Context, jobIDs []int64) (map[int64][]*Attempt, error) {
	out := make(map[int64][]*Attempt, len(jobIDs))
	if len(jobIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(jobIDs))
	for i, id := range jobIDs {
		args[i] = id
	}
	err := db.view(ctx, "list attempts of jobs", func(tx *txn) error {
		as, err := queryAttempts(ctx, tx, `WHERE job_id IN (`+placeholders(len(args))+`) ORDER BY job_id, number`, args...)
		for _, a := range as {
			out[a.JobID] = append(out[a.JobID], a)
		}
		return err
	})
	return out, err
}

const attemptColumns = `id, job_id, connection_id, number, status, started_at, updated_at, ended_at,
	owner_instance, owner_pid, owner_boot, mode, format, socket_count, records_emitted,
	bytes_emitted, records_committed, bytes_committed, stream_stats, failure_reasons, log_path,
	committed_state, lease_token, lease_expires_at, bridge`

func queryAttempts(ctx context.Context, tx *txn, where string, args ...any) ([]*Attempt, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func findAttempt(ctx context.Context, tx *txn, id int64) (*Attempt, error) {
	as, err := queryAttempts(ctx, tx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, notFound("attempt", id)
	}
	return as[0], nil
}

// findRunningAttempt returns the attempt, or ErrConflict when it has
// ended: a process that lost its attempt (recovery marked it failed) must
// not write to it any more. The attempt's lease fences the write too
// (ErrLeaseLost, see lease.go).
func findRunningAttempt(ctx context.Context, tx *txn, id int64) (*Attempt, error) {
	return findFencedAttempt(ctx, tx, id, false)
}

func findFencedAttempt(ctx context.Context, tx *txn, id int64, takeover bool) (*Attempt, error) {
	a, err := findAttempt(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != AttemptRunning {
		return nil, conflict("attempt %d of job %d is no longer running (%s)", a.Number, a.JobID, a.Status)
	}
	if err := tx.db.checkFence(a, takeover); err != nil {
		return nil, err
	}
	return a, nil
}

func scanAttempt(s scanner) (*Attempt, error) {
	var a Attempt
	var ended, mode, format, streams, failures, logPath, token, leaseEnd, bridge sql.NullString
	var sockets sql.NullInt64
	var started, updated string
	if err := s.Scan(&a.ID, &a.JobID, &a.ConnectionID, &a.Number, &a.Status, &started, &updated, &ended,
		&a.Owner.InstanceID, &a.Owner.PID, &a.Owner.BootID, &mode, &format, &sockets,
		&a.Stats.RecordsEmitted, &a.Stats.BytesEmitted, &a.Stats.RecordsCommitted, &a.Stats.BytesCommitted,
		&streams, &failures, &logPath, &a.CommittedState, &token, &leaseEnd, &bridge); err != nil {
		return nil, err
	}
	a.Mode, a.Format, a.SocketCount, a.LogPath = mode.String, format.String, int(sockets.Int64), logPath.String
	a.Bridge = bridge.String
	if streams.Valid {
		if err := json.Unmarshal([]byte(streams.String), &a.Stats.Streams); err != nil {
			return nil, fmt.Errorf("decode stored stream stats of attempt %d: %w", a.ID, err)
		}
	}
	if failures.Valid {
		if err := json.Unmarshal([]byte(failures.String), &a.FailureReasons); err != nil {
			return nil, fmt.Errorf("decode stored failure reasons of attempt %d: %w", a.ID, err)
		}
	}
	var ts timeScanner
	a.StartedAt, a.UpdatedAt, a.EndedAt = ts.time(started), ts.time(updated), ts.nullTime(ended)
	a.leaseToken, a.LeaseExpiresAt = token.String, ts.nullTime(leaseEnd)
	return &a, ts.err
}

// writeStats stores an attempt's cumulative stats; committed marks that it
// committed state.
func writeStats(ctx context.Context, tx *txn, attemptID int64, s Stats, committed bool) error {
	var streams any
	if len(s.Streams) > 0 {
		b, err := json.Marshal(s.Streams)
		if err != nil {
			return fmt.Errorf("encode stream stats: %w", err)
		}
		streams = string(b)
	}
	_, err := tx.ExecContext(ctx, `UPDATE attempts SET records_emitted = ?, bytes_emitted = ?,
		records_committed = ?, bytes_committed = ?, stream_stats = ?,
		committed_state = CASE WHEN ? = 1 THEN 1 ELSE committed_state END, updated_at = ? WHERE id = ?`,
		s.RecordsEmitted, s.BytesEmitted, s.RecordsCommitted, s.BytesCommitted, streams,
		boolInt(committed), formatTime(tx.now), attemptID)
	return err
}

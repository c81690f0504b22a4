package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// JobType is what a job does.
type JobType string

// Job types, as Airbyte's public API names them. A reset and a clear are
// the same job: the selected streams are emptied in the destination and
// the committed state is cleared, no record is read. A refresh re-reads
// everything from scratch under a new generation; the old data is
// replaced only when the refresh succeeds.
const (
	JobSync    JobType = "sync"
	JobReset   JobType = "reset"
	JobClear   JobType = "clear"
	JobRefresh JobType = "refresh"
)

// JobStatus is a job's status, lowercase as in Airbyte's public API.
type JobStatus string

// Job statuses. A job goes pending → running → succeeded; a failed attempt
// moves it running → incomplete → running (next attempt) or to failed;
// cancelled and failed can be reached from any non-terminal status.
const (
	JobPending    JobStatus = "pending"
	JobRunning    JobStatus = "running"
	JobIncomplete JobStatus = "incomplete"
	JobSucceeded  JobStatus = "succeeded"
	JobFailed     JobStatus = "failed"
	JobCancelled  JobStatus = "cancelled"
)

// Terminal reports whether no attempt will follow.
func (s JobStatus) Terminal() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// JobTrigger says what created a job.
type JobTrigger string

// Job triggers: manual is a person (the UI's Sync now and Reset, the
// demo connection's first sync), api a call to the API.
const (
	TriggerManual   JobTrigger = "manual"
	TriggerSchedule JobTrigger = "schedule"
	TriggerAPI      JobTrigger = "api"
	TriggerRetry    JobTrigger = "retry"
)

// Clears reports whether the job type empties the destination (reset and
// clear, which are the same job).
func (t JobType) Clears() bool { return t == JobReset || t == JobClear }

// Job is one sync, clear (reset) or refresh of a connection; it runs as
// one or more attempts.
type Job struct {
	ID           int64
	ConnectionID string
	Type         JobType
	// Streams are the streams a clear applies to; nil means every stream
	// of the connection's catalog.
	Streams []protocol.StreamDescriptor
	Status  JobStatus
	Trigger JobTrigger
	// CancelRequested is set when a cancel arrived while an attempt ran;
	// the daemon stops the attempt and finishes the job as cancelled.
	CancelRequested bool
	// RetryAt is when an incomplete job's next attempt may start.
	RetryAt   *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	StartedAt *time.Time
	EndedAt   *time.Time
	// RecordsSynced and BytesSynced are the destination-committed counts,
	// summed over the attempts.
	RecordsSynced int64
	BytesSynced   int64
	AttemptCount  int
	// Warnings counts the warnings of a succeeded job's last attempt: the
	// failure reasons marked as warnings (WarningMetadata). A succeeded
	// job with warnings is a partial success (G11).
	Warnings int
	// Attempts is filled by Job, oldest first; lists leave it nil.
	Attempts []*Attempt
}

// WarningMetadata is the failure-reason metadata key (set to true) that
// marks a warning on a succeeded attempt rather than a failure. Warnings
// are stored as failure reasons because they are what the API already
// shows for an attempt.
const WarningMetadata = "warning"

// PartialSuccess reports whether a finished job moved some but not all of
// what it should have (G11): a succeeded job with warnings, or a failed
// job that still committed records. Its status stays Airbyte's
// (succeeded or failed); this is the qualification every view shows.
func (j *Job) PartialSuccess() bool {
	switch j.Status {
	case JobSucceeded:
		return j.Warnings > 0
	case JobFailed:
		return j.RecordsSynced > 0
	}
	return false
}

// CreateJob inserts a pending job for a connection. At most one job per
// connection may be pending, running or incomplete (G7): a second one is
// ErrConflict, enforced by a partial unique index inside an immediate
// transaction. It returns ErrNotFound for an unknown connection and a
// *ValidationError for an unknown type or trigger.
func (db *DB) CreateJob(ctx context.Context, connID string, typ JobType, trigger JobTrigger) (*Job, error) {
	return db.CreateStreamsJob(ctx, connID, typ, trigger, nil)
}

// CreateStreamsJob is CreateJob for some streams of the connection: a
// clear (or reset) of the given streams only. nil streams means all of
// them, and is the only choice for sync and refresh. Each stream must be
// in the connection's catalog, once; otherwise it returns a
// *ValidationError.
func (db *DB) CreateStreamsJob(ctx context.Context, connID string, typ JobType, trigger JobTrigger, streams []protocol.StreamDescriptor) (*Job, error) {
	var j *Job
	err := db.update(ctx, "create job", func(tx *txn) (err error) {
		j, err = createJob(ctx, tx, connID, typ, trigger, streams)
		return err
	})
	return j, err
}

func createJob(ctx context.Context, tx *txn, connID string, typ JobType, trigger JobTrigger, streams []protocol.StreamDescriptor) (*Job, error) {
	switch typ {
	case JobSync, JobReset, JobClear, JobRefresh:
	default:
		return nil, invalid("jobType", "must be sync, reset, clear or refresh")
	}
	switch trigger {
	case TriggerManual, TriggerSchedule, TriggerAPI, TriggerRetry:
	default:
		return nil, invalid("trigger", "must be manual, schedule, api or retry")
	}
	conn, _, err := findConnection(ctx, tx, connID)
	if err != nil {
		return nil, err
	}
	streamsJSON, err := jobStreams(conn, typ, streams)
	if err != nil {
		return nil, err
	}
	var active int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE connection_id = ?
		AND status IN ('pending', 'running', 'incomplete')`, connID).Scan(&active)
	if err == nil {
		return nil, conflict("connection %s already has an active job (%d)", connID, active)
	} else if !errNoRows(err) {
		return nil, err
	}
	id, err := insertID(ctx, tx, `INSERT INTO jobs (connection_id, type, status, trigger,
		streams, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?)`,
		connID, typ, trigger, streamsJSON, formatTime(tx.now), formatTime(tx.now))
	if err != nil {
		return nil, err
	}
	return findJob(ctx, tx, id)
}

// jobStreams checks the streams of a job and returns their stored JSON,
// nil for all.
func jobStreams(conn *Connection, typ JobType, streams []protocol.StreamDescriptor) (any, error) {
	if streams == nil {
		return nil, nil
	}
	if !typ.Clears() {
		return nil, invalid("streams", "a %s job applies to every stream; only a clear or reset can name streams", typ)
	}
	if len(streams) == 0 {
		return nil, invalid("streams", "name at least one stream, or none at all to clear every stream")
	}
	inCatalog := make(map[protocol.StreamDescriptor]bool, len(conn.Catalog.Streams))
	for i := range conn.Catalog.Streams {
		inCatalog[conn.Catalog.Streams[i].Stream.Descriptor()] = true
	}
	seen := make(map[protocol.StreamDescriptor]bool, len(streams))
	for _, d := range streams {
		switch {
		case !inCatalog[d]:
			return nil, invalid("streams", "stream %s is not in the connection's catalog", d)
		case seen[d]:
			return nil, invalid("streams", "stream %s appears twice", d)
		}
		seen[d] = true
	}
	b, err := json.Marshal(streams)
	if err != nil {
		return nil, fmt.Errorf("encode job streams: %w", err)
	}
	return string(b), nil
}

// Job returns a job with its attempts. It returns ErrNotFound.
func (db *DB) Job(ctx context.Context, id int64) (*Job, error) {
	var j *Job
	err := db.view(ctx, "get job", func(tx *txn) (err error) {
		if j, err = findJob(ctx, tx, id); err != nil {
			return err
		}
		j.Attempts, err = jobAttempts(ctx, tx, id)
		return err
	})
	return j, err
}

// JobFilter selects jobs. Zero fields match everything; the created range
// is [CreatedFrom, CreatedTo).
type JobFilter struct {
	ConnectionID string
	Status       JobStatus
	Type         JobType
	CreatedFrom  *time.Time
	CreatedTo    *time.Time
	// UpdatedFrom and UpdatedTo bound when a job last changed, likewise.
	UpdatedFrom *time.Time
	UpdatedTo   *time.Time
	// WorkspaceIDs keeps the jobs of connections in these workspaces;
	// empty keeps all (and the jobs of deleted connections).
	WorkspaceIDs []string
	// OrderBy is "createdAt" or "updatedAt" and Descending its direction;
	// empty is the newest first (by id).
	OrderBy    string
	Descending bool
	Page
}

// Jobs lists jobs, newest first, without their attempts, and returns the
// total count of matches before paging.
func (db *DB) Jobs(ctx context.Context, f JobFilter) ([]*Job, int, error) {
	limit, offset := f.limits()
	var out []*Job
	var total int
	err := db.view(ctx, "list jobs", func(tx *txn) error {
		from := `FROM jobs j
			WHERE (CAST(? AS TEXT) IS NULL OR j.created_at >= ?) AND (CAST(? AS TEXT) IS NULL OR j.created_at < ?)
			AND (CAST(? AS TEXT) IS NULL OR j.updated_at >= ?) AND (CAST(? AS TEXT) IS NULL OR j.updated_at < ?)`
		args := []any{nullTime(f.CreatedFrom), nullTime(f.CreatedFrom), nullTime(f.CreatedTo), nullTime(f.CreatedTo),
			nullTime(f.UpdatedFrom), nullTime(f.UpdatedFrom), nullTime(f.UpdatedTo), nullTime(f.UpdatedTo)}
		// Equality filters are added only when set: "(? = '' OR
		// j.connection_id = ?)" kept SQLite from using the connection
		// index, and every connection's row on the connections page
		// scanned all jobs.
		for _, eq := range []struct{ col, val string }{{"j.connection_id", f.ConnectionID},
			{"j.status", string(f.Status)}, {"j.type", string(f.Type)}} {
			if eq.val != "" {
				from += ` AND ` + eq.col + ` = ?`
				args = append(args, eq.val)
			}
		}
		if len(f.WorkspaceIDs) > 0 {
			from += ` AND j.connection_id IN (SELECT id FROM connections WHERE workspace_id IN (` +
				placeholders(len(f.WorkspaceIDs)) + `))`
			for _, id := range f.WorkspaceIDs {
				args = append(args, id)
			}
		}
		order, err := f.order()
		if err != nil {
			return err
		}
		// The page is chosen first and the per-job sums over attempts are
		// computed for its rows only: with COUNT(*) OVER () on the outer
		// query, SQLite computed them for every matching job, and a list
		// of 10,000 jobs took a second. The count is its own query.
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) `+from, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+tx.db.jobColumns()+` FROM (SELECT j.* `+from+`
			ORDER BY `+order+` LIMIT ? OFFSET ?) j ORDER BY `+order, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, total, err
}

// LastJobs returns the newest job of each of the given connections, by
// connection id; a connection without jobs has no entry. One query for a
// whole list page: the connections page asked once per row before, and
// 50 rows cost more than the rest of the page.
func (db *DB) LastJobs(ctx context.Context, connectionIDs []string) (map[string]*Job, error) {
	out := make(map[string]*Job, len(connectionIDs))
	if len(connectionIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(connectionIDs))
	for i, id := range connectionIDs {
		args[i] = id
	}
	err := db.view(ctx, "list last jobs", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+tx.db.jobColumns()+` FROM jobs j WHERE j.id IN (
			SELECT MAX(id) FROM jobs WHERE connection_id IN (`+placeholders(len(args))+`) GROUP BY connection_id)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			out[j.ConnectionID] = j
		}
		return rows.Err()
	})
	return out, err
}

// order is the ORDER BY clause of f: a fixed text per choice, never
// anything the caller wrote. The id breaks ties in the same direction.
func (f *JobFilter) order() (string, error) {
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	switch f.OrderBy {
	case "":
		return "j.id DESC", nil
	case "createdAt":
		return "j.created_at" + dir + ", j.id" + dir, nil
	case "updatedAt":
		return "j.updated_at" + dir + ", j.id" + dir, nil
	}
	return "", invalid("orderBy", "must be createdAt or updatedAt, then |ASC or |DESC")
}

// CancelJob cancels a job. A pending or incomplete job (no attempt running)
// becomes cancelled at once. A running job gets CancelRequested; the daemon
// stops its attempt and finishes it as cancelled. It returns the updated
// job, ErrNotFound, or ErrConflict when the job has already ended.
func (db *DB) CancelJob(ctx context.Context, id int64) (*Job, error) {
	var j *Job
	err := db.update(ctx, "cancel job", func(tx *txn) (err error) {
		if j, err = findJob(ctx, tx, id); err != nil {
			return err
		}
		switch j.Status {
		case JobPending, JobIncomplete:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'cancelled', cancel_requested = 1,
				updated_at = ?, ended_at = ?, not_before = NULL WHERE id = ?`,
				formatTime(tx.now), formatTime(tx.now), id)
		case JobRunning:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = 1, updated_at = ?
				WHERE id = ?`, formatTime(tx.now), id)
		default:
			return conflict("job %d has already ended (%s)", id, j.Status)
		}
		if err != nil {
			return err
		}
		if j.Status != JobRunning {
			// Cancelled at once: a refresh's staged state is dropped now.
			if err := endRefresh(ctx, tx, j, JobCancelled, nil); err != nil {
				return err
			}
		}
		j, err = findJob(ctx, tx, id)
		return err
	})
	return j, err
}

const jobColumns = `j.id, j.connection_id, j.type, j.streams, j.status, j.trigger, j.cancel_requested,
	j.not_before, j.created_at, j.updated_at, j.started_at, j.ended_at,
	(SELECT COALESCE(SUM(a.records_committed), 0) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COALESCE(SUM(a.bytes_committed), 0) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COUNT(*) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COUNT(*) FROM attempts a, json_each(a.failure_reasons) f
		WHERE j.status = 'succeeded' AND a.job_id = j.id
		AND a.number = (SELECT MAX(b.number) FROM attempts b WHERE b.job_id = j.id)
		AND json_extract(f.value, '$.metadata.` + WarningMetadata + `') = 1)`

func findJob(ctx context.Context, tx *txn, id int64) (*Job, error) {
	j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+tx.db.jobColumns()+` FROM jobs j WHERE j.id = ?`, id))
	if errNoRows(err) {
		return nil, notFound("job", id)
	}
	return j, err
}

func scanJob(s scanner, extra ...any) (*Job, error) {
	var j Job
	var streams, notBefore, started, ended sql.NullString
	var created, updated string
	dest := []any{&j.ID, &j.ConnectionID, &j.Type, &streams, &j.Status, &j.Trigger, &j.CancelRequested,
		&notBefore, &created, &updated, &started, &ended, &j.RecordsSynced, &j.BytesSynced, &j.AttemptCount, &j.Warnings}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if streams.Valid {
		if err := json.Unmarshal([]byte(streams.String), &j.Streams); err != nil {
			return nil, fmt.Errorf("decode the streams of job %d: %w", j.ID, err)
		}
	}
	var ts timeScanner
	j.RetryAt = ts.nullTime(notBefore)
	j.CreatedAt, j.UpdatedAt = ts.time(created), ts.time(updated)
	j.StartedAt, j.EndedAt = ts.nullTime(started), ts.nullTime(ended)
	return &j, ts.err
}

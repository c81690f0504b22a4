-- Jobs and their attempts.

CREATE TABLE jobs (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	connection_id    TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	type             TEXT NOT NULL CHECK (type IN ('sync', 'reset')),
	status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'incomplete', 'succeeded', 'failed', 'cancelled')),
	trigger          TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'api', 'retry')),
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	not_before       TEXT,         -- an incomplete job is retried from then on
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	started_at       TEXT,
	ended_at         TEXT
);
-- At most one non-terminal job per connection (G7): a second insert fails.
CREATE UNIQUE INDEX jobs_one_active ON jobs (connection_id)
	WHERE status IN ('pending', 'running', 'incomplete');
CREATE INDEX jobs_connection ON jobs (connection_id, id);
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_status ON jobs (status, id);

CREATE TABLE attempts (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id            INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	connection_id     TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	number            INTEGER NOT NULL CHECK (number >= 1),
	status            TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
	started_at        TEXT NOT NULL,
	updated_at        TEXT NOT NULL,
	ended_at          TEXT,
	owner_instance    TEXT NOT NULL,
	owner_pid         INTEGER NOT NULL,
	owner_boot        TEXT NOT NULL DEFAULT '',
	mode              TEXT CHECK (mode IN ('stdio', 'socket', 'bridged')),
	format            TEXT CHECK (format IN ('JSONL', 'PROTOBUF')),
	socket_count      INTEGER,
	records_emitted   INTEGER NOT NULL DEFAULT 0,
	bytes_emitted     INTEGER NOT NULL DEFAULT 0,
	records_committed INTEGER NOT NULL DEFAULT 0,
	bytes_committed   INTEGER NOT NULL DEFAULT 0,
	stream_stats      TEXT,        -- JSON []StreamStats
	failure_reasons   TEXT,        -- JSON []FailureReason
	log_path          TEXT,
	committed_state   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (job_id, number)
);
-- At most one running attempt per connection (G7), whatever the job.
CREATE UNIQUE INDEX attempts_one_running ON attempts (connection_id) WHERE status = 'running';

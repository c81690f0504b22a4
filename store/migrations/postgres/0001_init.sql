-- PostgreSQL form of 0001_init.sql: the same tables and columns. Times are
-- fixed-width UTC text and flags 0/1 integers, as in SQLite, so one set of
-- queries serves both. Constraint names are given where a later migration
-- drops them.

CREATE TABLE definitions (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	kind          TEXT NOT NULL CHECK (kind IN ('source', 'destination')),
	image         TEXT NOT NULL,
	binary_path   TEXT,
	ipc_options   TEXT,
	spec          TEXT,
	spec_image_id TEXT,
	memory_bytes  BIGINT NOT NULL DEFAULT 0 CHECK (memory_bytes >= 0),
	cpus          DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (cpus >= 0),
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	UNIQUE (id, kind)
);

CREATE TABLE actors (
	id            TEXT PRIMARY KEY,
	kind          TEXT NOT NULL CHECK (kind IN ('source', 'destination')),
	name          TEXT NOT NULL,
	definition_id TEXT NOT NULL,
	config        TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	UNIQUE (id, kind),
	FOREIGN KEY (definition_id, kind) REFERENCES definitions (id, kind) ON DELETE RESTRICT
);
CREATE INDEX actors_definition ON actors (definition_id, kind);
CREATE INDEX actors_kind_created ON actors (kind, created_at);

CREATE TABLE connections (
	id                        TEXT PRIMARY KEY,
	name                      TEXT NOT NULL,
	source_id                 TEXT NOT NULL,
	source_kind               TEXT NOT NULL DEFAULT 'source' CHECK (source_kind = 'source'),
	destination_id            TEXT NOT NULL,
	destination_kind          TEXT NOT NULL DEFAULT 'destination' CHECK (destination_kind = 'destination'),
	catalog                   TEXT NOT NULL,
	selected_fields           TEXT,
	schedule_type             TEXT NOT NULL CHECK (schedule_type IN ('manual', 'interval', 'cron')),
	schedule_interval_seconds BIGINT,
	schedule_cron             TEXT,
	schedule_timezone         TEXT,
	missed_runs               TEXT NOT NULL DEFAULT 'skip' CHECK (missed_runs IN ('skip', 'run_once')),
	namespace_definition      TEXT NOT NULL CHECK (namespace_definition IN ('source', 'destination', 'customformat')),
	namespace_format          TEXT,
	prefix                    TEXT NOT NULL DEFAULT '',
	status                    TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
	no_progress_timeout_ms    BIGINT,
	end_of_input_timeout_ms   BIGINT,
	max_attempt_duration_ms   BIGINT,
	force_stdio               INTEGER NOT NULL DEFAULT 0,
	socket_count              BIGINT,
	network_mode              TEXT,
	webhook_url               TEXT,
	webhook_secret            TEXT,
	next_run_at               TEXT,
	created_at                TEXT NOT NULL,
	updated_at                TEXT NOT NULL,
	FOREIGN KEY (source_id, source_kind) REFERENCES actors (id, kind) ON DELETE RESTRICT,
	FOREIGN KEY (destination_id, destination_kind) REFERENCES actors (id, kind) ON DELETE RESTRICT
);
CREATE INDEX connections_source ON connections (source_id, source_kind);
CREATE INDEX connections_destination ON connections (destination_id, destination_kind);
CREATE INDEX connections_next_run ON connections (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE stream_generations (
	connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	namespace     TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL,
	generation_id BIGINT NOT NULL CHECK (generation_id >= 0),
	updated_at    TEXT NOT NULL,
	PRIMARY KEY (connection_id, namespace, name)
);

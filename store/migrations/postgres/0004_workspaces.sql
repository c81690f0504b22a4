-- PostgreSQL form of 0004_workspaces.sql.

CREATE TABLE workspaces (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	data_residency TEXT NOT NULL DEFAULT 'auto',
	is_default     INTEGER NOT NULL DEFAULT 0,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX workspaces_one_default ON workspaces (is_default) WHERE is_default = 1;
INSERT INTO workspaces (id, name, is_default, created_at, updated_at)
SELECT gen_random_uuid()::text, 'Default Workspace', 1, t, t
FROM (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t) AS now_text;

ALTER TABLE actors ADD COLUMN workspace_id TEXT REFERENCES workspaces (id);
UPDATE actors SET workspace_id = (SELECT id FROM workspaces WHERE is_default = 1);
CREATE INDEX actors_workspace ON actors (workspace_id, kind);
ALTER TABLE connections ADD COLUMN workspace_id TEXT REFERENCES workspaces (id);
UPDATE connections SET workspace_id = (SELECT id FROM workspaces WHERE is_default = 1);
CREATE INDEX connections_workspace ON connections (workspace_id);

ALTER TABLE connections ADD COLUMN non_breaking_changes TEXT NOT NULL DEFAULT 'ignore'
	CHECK (non_breaking_changes IN ('ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'));
ALTER TABLE connections ADD COLUMN data_residency TEXT NOT NULL DEFAULT 'auto';
ALTER TABLE connections ADD COLUMN tags TEXT;

ALTER TABLE definitions ADD COLUMN short_name TEXT;
CREATE UNIQUE INDEX definitions_short_name ON definitions (kind, short_name) WHERE short_name IS NOT NULL;
UPDATE definitions SET short_name = CASE
	WHEN name LIKE 'source-%' THEN substr(name, 8)
	WHEN name LIKE 'destination-%' THEN substr(name, 13)
	WHEN name LIKE 'connector-%-source' THEN substr(name, 11, length(name) - 17)
	WHEN name LIKE 'connector-%-destination' THEN substr(name, 11, length(name) - 22)
END
WHERE image LIKE 'ferry/%' AND (name LIKE 'source-%' OR name LIKE 'destination-%' OR name LIKE 'connector-%');

-- Jobs and attempts outlive their connection; jobs take clear and refresh.
ALTER TABLE jobs DROP CONSTRAINT jobs_connection_fk;
ALTER TABLE attempts DROP CONSTRAINT attempts_connection_fk;
ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check CHECK (type IN ('sync', 'reset', 'clear', 'refresh'));

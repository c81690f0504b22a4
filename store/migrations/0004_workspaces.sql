-- Workspaces, definition short names, the connection settings Airbyte's
-- API returns, and job history that outlives its connection.

-- One default workspace, made here, at the first start of a binary that
-- has this migration; its id is a random (version 4) UUID.
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
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
	substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1) ||
	substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
	'Default Workspace', 1, t, t
FROM (SELECT strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') AS t);

-- Sources, destinations and connections belong to a workspace; a
-- connection's is its source's. NULL never stays: the store fills in the
-- default workspace.
ALTER TABLE actors ADD COLUMN workspace_id TEXT REFERENCES workspaces (id);
UPDATE actors SET workspace_id = (SELECT id FROM workspaces WHERE is_default = 1);
CREATE INDEX actors_workspace ON actors (workspace_id, kind);
ALTER TABLE connections ADD COLUMN workspace_id TEXT REFERENCES workspaces (id);
UPDATE connections SET workspace_id = (SELECT id FROM workspaces WHERE is_default = 1);
CREATE INDEX connections_workspace ON connections (workspace_id);

-- Settings Airbyte's API takes and returns. Ferry stores them; it does not
-- act on schema changes, and has one data plane.
ALTER TABLE connections ADD COLUMN non_breaking_changes TEXT NOT NULL DEFAULT 'ignore'
	CHECK (non_breaking_changes IN ('ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'));
ALTER TABLE connections ADD COLUMN data_residency TEXT NOT NULL DEFAULT 'auto';
ALTER TABLE connections ADD COLUMN tags TEXT;   -- JSON array of Airbyte Tag objects

-- A definition's short name (faker, jsonl): what configuration.sourceType
-- and destinationType may name instead of a definition id. Unique per kind,
-- since one connector can be both a source and a destination.
ALTER TABLE definitions ADD COLUMN short_name TEXT;
CREATE UNIQUE INDEX definitions_short_name ON definitions (kind, short_name) WHERE short_name IS NOT NULL;
UPDATE definitions SET short_name = CASE
	WHEN name LIKE 'source-%' THEN substr(name, 8)
	WHEN name LIKE 'destination-%' THEN substr(name, 13)
	WHEN name LIKE 'connector-%-source' THEN substr(name, 11, length(name) - 17)
	WHEN name LIKE 'connector-%-destination' THEN substr(name, 11, length(name) - 22)
END
WHERE image LIKE 'ferry/%' AND (name LIKE 'source-%' OR name LIKE 'destination-%' OR name LIKE 'connector-%');

-- Deleting a connection keeps its jobs and attempts (and so their logs)
-- readable: their connection_id no longer references connections, so the
-- delete does not cascade to them. The jobs' type also takes clear and
-- refresh. Removing a foreign key and widening a CHECK do not change how
-- rows are stored, so the stored table definitions are edited in place
-- (SQLite's documented procedure for such changes); RESET reloads the
-- schema on this connection, and the DDL above bumps the schema version
-- so every other connection reloads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(replace(sql,
	'connection_id    TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,',
	'connection_id    TEXT NOT NULL,          -- kept when the connection is deleted'),
	'CHECK (type IN (''sync'', ''reset''))',
	'CHECK (type IN (''sync'', ''reset'', ''clear'', ''refresh''))')
WHERE type = 'table' AND name = 'jobs';
UPDATE sqlite_schema SET sql = replace(sql,
	'connection_id     TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,',
	'connection_id     TEXT NOT NULL,         -- kept when the connection is deleted')
WHERE type = 'table' AND name = 'attempts';
PRAGMA writable_schema = RESET;

-- Job types clear and refresh, the streams a job applies to, and the state
-- a refresh stages until it succeeds.

-- The streams a clear applies to: a JSON array of stream descriptors;
-- NULL means every stream of the connection's catalog.
ALTER TABLE jobs ADD COLUMN streams TEXT;

-- Widen the jobs.type check. Rebuilding the table is not an option inside
-- a migration: foreign keys are on (the DSN sets them on every
-- connection, and the pragma cannot change inside a transaction), so
-- dropping the old jobs table would cascade into attempts. SQLite
-- documents this edit of the stored schema for loosening a CHECK
-- constraint (lang_altertable.html, "other kinds of table schema
-- changes"): every existing row satisfies the wider check, and the
-- CREATE TABLE below bumps the schema cookie, so every other connection
-- reparses the schema; RESET reparses it on this one. The ALTER TABLE
-- comes first: it edits the stored text at offsets parsed before.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
	SET sql = replace(sql, 'CHECK (type IN (''sync'', ''reset''))',
		'CHECK (type IN (''sync'', ''reset'', ''clear'', ''refresh''))')
	WHERE type = 'table' AND name = 'jobs';
PRAGMA writable_schema = RESET;
-- Fail the migration (a CHECK violation) if the edit matched nothing.
CREATE TEMP TABLE migration_0006_check (ok INTEGER CHECK (ok = 1));
INSERT INTO migration_0006_check SELECT COUNT(*) FROM sqlite_schema
	WHERE type = 'table' AND name = 'jobs' AND sql LIKE '%''clear'', ''refresh''%';
DROP TABLE migration_0006_check;

-- A refresh commits its acknowledged state here, not to the connection's
-- state, until it succeeds: then this state replaces the connection's in
-- the transaction that marks the job succeeded. A refresh that fails or
-- is cancelled leaves the connection's state as it was. Same layout as
-- states.
CREATE TABLE refresh_states (
	job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('STREAM', 'GLOBAL', 'LEGACY')),
	namespace  TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL,
	attempt_id INTEGER REFERENCES attempts (id) ON DELETE SET NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (job_id, namespace, name)
);

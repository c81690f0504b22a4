-- PostgreSQL form of 0007_job_types.sql. The jobs.type check already
-- takes clear and refresh here (0004).

ALTER TABLE jobs ADD COLUMN streams TEXT;

CREATE TABLE refresh_states (
	job_id     BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('STREAM', 'GLOBAL', 'LEGACY')),
	namespace  TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL,
	attempt_id BIGINT REFERENCES attempts (id) ON DELETE SET NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (job_id, namespace, name)
);

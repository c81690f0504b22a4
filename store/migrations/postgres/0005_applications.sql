-- PostgreSQL form of 0005_applications.sql.

CREATE TABLE applications (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	client_id   TEXT NOT NULL UNIQUE,
	secret_salt BYTEA NOT NULL,
	secret_hash BYTEA NOT NULL,
	created_at  TEXT NOT NULL
);

CREATE TABLE access_tokens (
	token_hash     BYTEA PRIMARY KEY,
	application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	expires_at     TEXT NOT NULL,
	created_at     TEXT NOT NULL
);
CREATE INDEX access_tokens_application ON access_tokens (application_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- PostgreSQL form of 0011_attempt_logs.sql: an attempt's log in chunks,
-- keyed by the byte offset of each chunk, for every replica to read.
CREATE TABLE attempt_log_chunks (
	attempt_id BIGINT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	pos        BIGINT NOT NULL,
	data       BYTEA NOT NULL,
	PRIMARY KEY (attempt_id, pos)
);

-- PostgreSQL form of 0009_attempt_samples.sql: the throughput samples of
-- an attempt, for the job page's chart of a finished job.
CREATE TABLE attempt_samples (
	attempt_id        BIGINT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	at_ms             BIGINT NOT NULL,
	records_emitted   BIGINT NOT NULL,
	bytes_emitted     BIGINT NOT NULL,
	records_committed BIGINT NOT NULL,
	bytes_committed   BIGINT NOT NULL,
	PRIMARY KEY (attempt_id, at_ms)
);

-- Attempt logs in the database, for replicas that share it: the replica
-- running an attempt appends its log in chunks (batched, never a row per
-- line), and any replica serves and follows the log from them. pos is the
-- byte offset of the chunk's first byte in the log, so a reader resumes
-- from an offset (an SSE Last-Event-ID) on any replica. The chunks go
-- with their attempt, so retention that deletes a job deletes its log.
CREATE TABLE attempt_log_chunks (
	attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	pos        INTEGER NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (attempt_id, pos)
) WITHOUT ROWID;

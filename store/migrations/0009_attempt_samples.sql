-- Throughput samples of a running attempt: its cumulative counts, taken on
-- the runner's progress tick (about once a second, thinned as the attempt
-- grows old), so a job page can draw the throughput chart of a finished
-- job. at_ms is the time since the attempt started. The samples go with
-- their attempt.
CREATE TABLE attempt_samples (
	attempt_id        INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
	at_ms             INTEGER NOT NULL,
	records_emitted   INTEGER NOT NULL,
	bytes_emitted     INTEGER NOT NULL,
	records_committed INTEGER NOT NULL,
	bytes_committed   INTEGER NOT NULL,
	PRIMARY KEY (attempt_id, at_ms)
) WITHOUT ROWID;

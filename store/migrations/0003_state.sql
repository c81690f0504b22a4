-- Committed state: one row per stream descriptor for STREAM states, one
-- row (namespace = name = '') for GLOBAL and LEGACY, plus a history of
-- every change.

CREATE TABLE states (
	connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	kind          TEXT NOT NULL CHECK (kind IN ('STREAM', 'GLOBAL', 'LEGACY')),
	namespace     TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL DEFAULT '',
	state         TEXT NOT NULL,   -- JSON protocol.State, without bookkeeping keys
	attempt_id    INTEGER REFERENCES attempts (id) ON DELETE SET NULL,
	updated_at    TEXT NOT NULL,
	PRIMARY KEY (connection_id, namespace, name)
);

CREATE TABLE state_history (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
	attempt_id    INTEGER REFERENCES attempts (id) ON DELETE SET NULL,
	action        TEXT NOT NULL CHECK (action IN ('checkpoint', 'replace', 'clear')),
	states        TEXT NOT NULL,   -- JSON array of the states written
	streams       TEXT,            -- JSON array of the descriptors cleared; NULL: all
	created_at    TEXT NOT NULL
);
CREATE INDEX state_history_connection ON state_history (connection_id, id);

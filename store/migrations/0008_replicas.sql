-- Several `ferry serve` replicas on one database (a PostgreSQL feature,
-- kept on SQLite too, where the one replica uses the same code).

-- A claimed attempt is held by a lease: a random token and an expiry the
-- owning replica renews by heartbeat. Every write of the attempt checks
-- the token and the expiry, so a replica that lost the lease (paused,
-- partitioned) can no longer commit anything; any replica fails an
-- attempt whose lease expired. NULL on attempts from before this
-- migration.
ALTER TABLE attempts ADD COLUMN lease_token TEXT;
ALTER TABLE attempts ADD COLUMN lease_expires_at TEXT;
CREATE INDEX attempts_lease ON attempts (lease_expires_at) WHERE status = 'running';

-- The replicas that ever started on this database, with their last
-- heartbeat; the id is the one on their containers' labels.
CREATE TABLE replicas (
	id           TEXT PRIMARY KEY,
	hostname     TEXT NOT NULL,
	pid          INTEGER NOT NULL,
	boot_id      TEXT NOT NULL,
	started_at   TEXT NOT NULL,
	heartbeat_at TEXT NOT NULL,
	stopped_at   TEXT
);

-- Named leases held by one replica at a time (the scheduler's leader).
CREATE TABLE leader_leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	token      TEXT NOT NULL,
	expires_at TEXT NOT NULL
);

-- Install-wide settings every replica reads: the secrets key's
-- fingerprint, the API token's hash, the UI's session key (sealed).
CREATE TABLE settings (
	name       TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

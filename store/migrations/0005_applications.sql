-- Applications: client credentials (client id and secret) that trade for
-- short-lived bearer tokens at POST /applications/token, as in Airbyte's
-- public API. Neither the secret nor any token is stored: only a salted
-- HMAC of the secret and a SHA-256 of each token.

CREATE TABLE applications (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	client_id   TEXT NOT NULL UNIQUE,
	secret_salt BLOB NOT NULL,   -- 16 random bytes, one per secret
	secret_hash BLOB NOT NULL,   -- HMAC-SHA256(salt, secret)
	created_at  TEXT NOT NULL
);

-- Deleting an application deletes its tokens: that is the revocation.
CREATE TABLE access_tokens (
	token_hash     BLOB PRIMARY KEY,   -- SHA-256 of the token
	application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	expires_at     TEXT NOT NULL,
	created_at     TEXT NOT NULL
);
CREATE INDEX access_tokens_application ON access_tokens (application_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

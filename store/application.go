package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode"
)

// Applications are Airbyte's client credentials: a client id and a client
// secret that a script trades for a bearer token valid a few minutes
// (POST /applications/token). Ferry keeps neither the secret nor the
// tokens:
//   - the secret (32 random bytes) is shown once, when the application is
//     created, and stored as HMAC-SHA256 keyed by a random per-secret
//     salt. A secret has 256 bits of entropy, so a slow KDF would add
//     nothing against guessing; the salt keeps equal secrets (there are
//     none) from giving equal hashes and makes the hash useless anywhere
//     else.
//   - tokens are random, opaque, and stored as their SHA-256, the key of
//     the lookup each request makes. Random rather than signed: a row per
//     token makes revocation exact (deleting the application deletes its
//     tokens, by foreign key), survives restarts, and needs no server key
//     to keep, rotate or leak. A copy of the database gives no usable
//     secret or token.

// AccessTokenPrefix starts every access token, so a request's bearer value
// that cannot be one costs no database read.
const AccessTokenPrefix = "ferry_at_"

// secretBytes is the entropy of client secrets and access tokens.
const secretBytes = 32

// ErrBadCredentials is returned by IssueAccessToken for an unknown client
// id or a wrong secret, alike, so the answer does not tell which.
var ErrBadCredentials = errors.New("wrong client id or client secret")

// Application is a set of client credentials. The secret is not a field:
// only CreateApplication returns it, once.
type Application struct {
	ID        string
	Name      string
	ClientID  string
	CreatedAt time.Time
}

// TokenStatus is what CheckAccessToken found.
type TokenStatus int

// Token statuses. An expired token is told apart from an unknown one so
// that a client that forgot to refresh is not taken for a guesser.
const (
	TokenUnknown TokenStatus = iota
	TokenExpired
	TokenValid
)

// expiredTokenKeep is how long an expired token's row is kept (so it is
// reported as expired, not unknown) before IssueAccessToken removes it.
const expiredTokenKeep = 24 * time.Hour

var b64url = base64.RawURLEncoding

func randomSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b64url.EncodeToString(b)
}

func secretMAC(salt []byte, secret string) []byte {
	h := hmac.New(sha256.New, salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// validateAppName checks an application's name.
func validateAppName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalid("name", "is required")
	case len(name) > 200:
		return invalid("name", "is longer than 200 bytes")
	case strings.ContainsFunc(name, unicode.IsControl):
		return invalid("name", "must not contain control characters")
	}
	return nil
}

// CreateApplication makes an application with a new client id and
// secret. The secret is returned here only; it cannot be read back.
func (db *DB) CreateApplication(ctx context.Context, name string) (*Application, string, error) {
	if err := validateAppName(name); err != nil {
		return nil, "", err
	}
	a := &Application{ID: newID(), Name: name, ClientID: newID()}
	secret := randomSecret()
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	err := db.update(ctx, "create application", func(tx *txn) error {
		a.CreatedAt = tx.now
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (id, name, client_id, secret_salt, secret_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.ID, a.Name, a.ClientID, salt, secretMAC(salt, secret), formatTime(tx.now))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

const appColumns = `id, name, client_id, created_at`

func scanApp(row interface{ Scan(...any) error }) (*Application, error) {
	var a Application
	var created string
	if err := row.Scan(&a.ID, &a.Name, &a.ClientID, &created); err != nil {
		return nil, err
	}
	var ts timeScanner
	a.CreatedAt = ts.time(created)
	return &a, ts.err
}

// Application returns the application with the id, or ErrNotFound.
func (db *DB) Application(ctx context.Context, id string) (*Application, error) {
	var a *Application
	err := db.view(ctx, "get application", func(tx *txn) error {
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appColumns+` FROM applications WHERE id = ?`, id))
		if errNoRows(err) {
			return notFound("application", id)
		}
		return err
	})
	return a, err
}

// Applications lists every application, oldest first. There are few: no
// paging.
func (db *DB) Applications(ctx context.Context) ([]*Application, error) {
	var out []*Application
	err := db.view(ctx, "list applications", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+appColumns+` FROM applications ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanApp(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteApplication deletes the application and, with it, every token it
// was given: they stop working at once. It returns the application as it
// was, or ErrNotFound.
func (db *DB) DeleteApplication(ctx context.Context, id string) (*Application, error) {
	var a *Application
	err := db.update(ctx, "delete application", func(tx *txn) error {
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appColumns+` FROM applications WHERE id = ?`, id))
		if errNoRows(err) {
			return notFound("application", id)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM applications WHERE id = ?`, id)
		return err
	})
	return a, err
}

// IssueAccessToken checks a client id and secret and returns a new access
// token valid for ttl, and when it expires. Wrong credentials give
// ErrBadCredentials, whichever part is wrong; the comparison takes the
// same time for an unknown client id as for a known one.
func (db *DB) IssueAccessToken(ctx context.Context, clientID, clientSecret string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		return "", time.Time{}, invalid("ttl", "must be positive")
	}
	token := AccessTokenPrefix + randomSecret()
	var expires time.Time
	err := db.update(ctx, "issue access token", func(tx *txn) error {
		var appID string
		var salt, hash []byte
		err := tx.QueryRowContext(ctx, `SELECT id, secret_salt, secret_hash FROM applications WHERE client_id = ?`,
			clientID).Scan(&appID, &salt, &hash)
		switch {
		case errNoRows(err):
			salt, hash = make([]byte, 16), make([]byte, sha256.Size) // compare anyway: same timing
		case err != nil:
			return err
		}
		if !hmac.Equal(secretMAC(salt, clientSecret), hash) || appID == "" {
			return ErrBadCredentials
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE expires_at < ?`,
			formatTime(tx.now.Add(-expiredTokenKeep))); err != nil {
			return err
		}
		expires = tx.now.Add(ttl)
		_, err = tx.ExecContext(ctx, `INSERT INTO access_tokens (token_hash, application_id, expires_at, created_at)
			VALUES (?, ?, ?, ?)`, tokenHash(token), appID, formatTime(expires), formatTime(tx.now))
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// CheckAccessToken reports whether token is a live access token, and the
// id of the application it was issued to. It reads the clock once, from
// DB.Now.
func (db *DB) CheckAccessToken(ctx context.Context, token string) (TokenStatus, string, error) {
	if !strings.HasPrefix(token, AccessTokenPrefix) {
		return TokenUnknown, "", nil
	}
	var appID, expires string
	err := db.queryRowRaw(ctx, `SELECT application_id, expires_at FROM access_tokens WHERE token_hash = ?`,
		tokenHash(token)).Scan(&appID, &expires)
	switch {
	case errNoRows(err):
		return TokenUnknown, "", nil
	case err != nil:
		return TokenUnknown, "", wrapErr("check access token", err)
	}
	t, err := parseTime(expires)
	if err != nil {
		return TokenUnknown, "", wrapErr("check access token", err)
	}
	if !db.Now().Before(t) {
		return TokenExpired, appID, nil
	}
	return TokenValid, appID, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgreSQL: several `ferry serve` replicas share one database. The
// store's semantics are SQLite's, kept on purpose: every write
// transaction first takes one transaction-scoped advisory lock, so writes
// run one at a time as under SQLite's write lock, and the store's
// read-check-write code needs no second, weaker reasoning. Read
// transactions run at REPEATABLE READ, one snapshot like SQLite's deferred
// reads. The queue's hot paths (claiming a job, renewing leases) take the
// same lock in shared mode: they run beside each other, kept apart by row
// locks (SELECT ... FOR UPDATE SKIP LOCKED) and the unique indexes, and
// still never beside an ordinary write.

// lockClass is the first key of the writer lock ("FRRY"); the second is a
// hash of the schema, so two installs in one database (tests use one
// schema each) do not wait on each other.
const lockClass = 0x46525259

// IsDatabaseURL reports whether s selects PostgreSQL (postgres:// or
// postgresql://) rather than naming a SQLite file.
func IsDatabaseURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// RedactURL returns a database URL fit for logs and errors: the password,
// if any, is replaced. Text that does not parse is withheld whole.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparsable URL withheld)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// openPostgres connects to the database at rawURL and migrates it.
func openPostgres(ctx context.Context, db *DB, rawURL string) error {
	db.path = RedactURL(rawURL)
	if _, err := url.Parse(rawURL); err != nil {
		// url's error quotes the URL, password and all.
		return errors.New("store: open: the database URL does not parse")
	}
	sqldb, err := sql.Open("pgx", rawURL)
	if err != nil {
		return fmt.Errorf("store: open %s: %s", db.path, redactErr(err, rawURL))
	}
	// Each replica holds a few connections: its workers' checkpoints, the
	// heartbeat, the API. The server's max_connections bounds the sum.
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(4)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db.db = sqldb
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pctx); err != nil {
		sqldb.Close()
		return fmt.Errorf("store: open %s: %s", db.path, redactErr(err, rawURL))
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return err
	}
	return nil
}

// redactErr returns err's text with the URL's password removed, in case
// the driver quoted it.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		if pw := u.Query().Get("password"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// lockWriter takes the writer lock for the rest of tx (PostgreSQL only);
// shared is the queue's mode.
func (tx *txn) lockWriter(ctx context.Context, shared bool) error {
	if tx.db.dialect != dialectPostgres {
		return nil
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	_, err := tx.Tx.ExecContext(ctx, `SELECT `+fn+`($1, hashtext(current_schema()))`, lockClass)
	return err
}

// Package store keeps Ferry's configuration, job history and committed state
// in SQLite, through modernc.org/sqlite (no cgo).
//
// Shape (after WTF's sqlite package): DB wraps a *sql.DB opened with the
// pragmas in the DSN, so they hold for every pooled connection. Every public
// method that writes begins one immediate transaction, defers a rollback,
// calls unexported (ctx, tx, ...) helpers and commits, so helpers compose
// and a failing commit (SQLITE_FULL, I/O error) leaves earlier data intact.
// Methods return typed model structs and the errors ErrNotFound, ErrConflict,
// ErrStorageFull and *ValidationError; driver text never reaches those.
//
// Opaque JSON (connector configs, configured catalogs, states) goes back to
// connectors, so it is stored with care:
//   - configs are stored compacted, with key order and number literals kept,
//     and come back (decrypted) byte-for-byte equal to json.Compact(input);
//   - catalogs and states go through the protocol model, whose encoding is
//     deterministic, so they come back byte-for-byte equal to the protocol
//     model's encoding of the input (semantically equal to the input).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultBusyTimeout is how long a connection waits for SQLite's write lock
// before it gives up with SQLITE_BUSY.
const DefaultBusyTimeout = 10 * time.Second

// DefaultStateHistoryLimit is how many state history entries are kept per
// connection; older ones are pruned as new ones are written.
const DefaultStateHistoryLimit = 1000

// DB is Ferry's SQLite database. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string

	// Now returns the current time. Every transaction stamps one time from
	// it, so all rows a transaction writes agree. Tests replace it.
	Now func() time.Time

	key          *Key
	busyTimeout  time.Duration
	historyLimit int
	migrations   fs.FS
}

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock.
func WithNow(now func() time.Time) Option { return func(db *DB) { db.Now = now } }

// WithKey sets the key that encrypts secrets at rest. Without it, methods
// that must encrypt or decrypt a secret return an error.
func WithKey(k *Key) Option { return func(db *DB) { db.key = k } }

// WithBusyTimeout sets how long a writer waits for the write lock.
func WithBusyTimeout(d time.Duration) Option { return func(db *DB) { db.busyTimeout = d } }

// WithStateHistoryLimit sets how many state history entries are kept per
// connection. Zero or less keeps DefaultStateHistoryLimit.
func WithStateHistoryLimit(n int) Option {
	return func(db *DB) {
		if n > 0 {
			db.historyLimit = n
		}
	}
}

// withMigrations replaces the embedded migrations; tests use it to build an
// older database.
func withMigrations(fsys fs.FS) Option { return func(db *DB) { db.migrations = fsys } }

// Open opens (creating it if needed) the database file at path, checks
// that it runs in WAL mode and applies pending migrations, taking a backup
// copy first when the database already holds data.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// An in-memory database would need the pool capped at one
		// connection (each connection opens its own empty database) and
		// cannot run in WAL mode, so only plain file paths are accepted.
		return nil, errors.New("store: open: a database file path is required")
	}
	if strings.ContainsRune(path, '?') {
		return nil, errors.New("store: open: the database path must not contain '?'")
	}
	db := &DB{
		path:         path,
		Now:          time.Now,
		busyTimeout:  DefaultBusyTimeout,
		historyLimit: DefaultStateHistoryLimit,
		migrations:   embeddedMigrations(),
	}
	for _, opt := range opts {
		opt(db)
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	sqldb, err := sql.Open("sqlite", db.dsn())
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// WAL lets readers run beside the one writer; a few connections are
	// plenty, and few idle ones keep the daemon's memory small.
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(2)
	db.db = sqldb

	var mode string
	if err := sqldb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		sqldb.Close()
		return nil, fmt.Errorf("store: open %s: journal_mode is %q, want wal", path, mode)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// dsn builds the connection string. modernc runs every _pragma on each new
// pooled connection; an Exec("PRAGMA ...") after open would reach only one.
// synchronous=FULL because the commit that marks an attempt succeeded must
// survive a power loss (G4); _txlock=immediate takes the write lock at BEGIN,
// so two writers never deadlock upgrading read locks.
func (db *DB) dsn() string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", db.busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "synchronous(full)")
	q.Set("_txlock", "immediate")
	return db.path + "?" + q.Encode()
}

// Close closes the database.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	return db.db.Close()
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// txn is a transaction with the one time stamp its writes share.
type txn struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// beginTx starts an immediate (write) transaction.
func (db *DB) beginTx(ctx context.Context) (*txn, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// beginRead starts a deferred read-only transaction: a consistent snapshot
// that does not take the write lock.
func (db *DB) beginRead(ctx context.Context) (*txn, error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// update runs fn in a write transaction and commits it. The error is
// wrapped with action unless it is one of the package's typed errors.
func (db *DB) update(ctx context.Context, action string, fn func(tx *txn) error) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return wrapErr(action, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return wrapErr(action, err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(action, fmt.Errorf("commit: %w", err))
	}
	return nil
}

// view runs fn in a read-only transaction.
func (db *DB) view(ctx context.Context, action string, fn func(tx *txn) error) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return wrapErr(action, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return wrapErr(action, err)
	}
	return nil
}

// ownerOnly creates the database file owner-only (0600) before SQLite
// opens it, and narrows an existing one and its -wal and -shm files: the
// database holds job history, state and the encrypted configs. SQLite
// creates the -wal and -shm files with the mode of the database file, so
// they follow.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

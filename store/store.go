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

// DB is Ferry's database, SQLite or PostgreSQL. It is safe for concurrent
// use. One DB is one process's handle: with PostgreSQL, each replica has
// its own, and the leases it holds are fenced through it (see lease.go).
type DB struct {
	db      *sql.DB
	path    string
	dialect dialect

	// Now returns the current time. Every transaction stamps one time from
	// it, so all rows a transaction writes agree. Tests replace it.
	Now func() time.Time

	key          *Key
	leaseTTL     time.Duration
	leaseNow     func() time.Time
	leases       leaseBook
	busyTimeout  time.Duration
	historyLimit int
	migrations   fs.FS

	// finalCommitHook: see WithFinalCommitHook; nil outside crash tests.
	finalCommitHook func()
}

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock.
func WithNow(now func() time.Time) Option { return func(db *DB) { db.Now = now } }

// WithKey sets the key that encrypts secrets at rest. Without it, methods
// that must encrypt or decrypt a secret return an error.
func WithKey(k *Key) Option { return func(db *DB) { db.key = k } }

// WithFinalCommitHook sets a function FinishAttempt calls inside the
// transaction that records a succeeded attempt, after its last write and
// before COMMIT. Crash tests pause there (package failpoint) to kill the
// process in the middle of the final commit.
func WithFinalCommitHook(f func()) Option { return func(db *DB) { db.finalCommitHook = f } }

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

// Open opens the database and applies pending migrations. A postgres:// or
// postgresql:// URL selects PostgreSQL (see postgres.go). Anything else is
// a SQLite file path: the file is created if needed, must run in WAL mode,
// and a backup copy is taken before migrating a database that holds data.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if IsDatabaseURL(path) {
		db := newDB(dialectPostgres, opts)
		if err := openPostgres(ctx, db, path); err != nil {
			return nil, err
		}
		return db, nil
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// An in-memory database would need the pool capped at one
		// connection (each connection opens its own empty database) and
		// cannot run in WAL mode, so only plain file paths are accepted.
		return nil, errors.New("store: open: a database file path is required")
	}
	if strings.ContainsRune(path, '?') {
		return nil, errors.New("store: open: the database path must not contain '?'")
	}
	db := newDB(dialectSQLite, opts)
	db.path = path
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

func newDB(d dialect, opts []Option) *DB {
	db := &DB{
		dialect:      d,
		Now:          time.Now,
		busyTimeout:  DefaultBusyTimeout,
		historyLimit: DefaultStateHistoryLimit,
		leaseTTL:     DefaultLease,
		leaseNow:     time.Now,
	}
	for _, opt := range opts {
		opt(db)
	}
	if db.migrations == nil {
		db.migrations = embeddedMigrations(db.dialect)
	}
	return db
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

// Path returns the database file path, or for PostgreSQL the URL without
// its password.
func (db *DB) Path() string { return db.path }

// txn is a transaction with the one time stamp its writes share.
type txn struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// beginTx starts an immediate (write) transaction. With PostgreSQL it
// takes the writer lock, in shared mode for the queue's paths.
func (db *DB) beginTx(ctx context.Context, shared bool) (*txn, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	t := &txn{Tx: tx, db: db}
	if err := t.lockWriter(ctx, shared); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin: %w", err)
	}
	// The time is read once the lock is held, so a transaction that
	// waited does not stamp a time older than its predecessor's.
	t.now = db.Now().UTC()
	return t, nil
}

// beginRead starts a deferred read-only transaction: a consistent snapshot
// that does not take the write lock.
func (db *DB) beginRead(ctx context.Context) (*txn, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == dialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// update runs fn in a write transaction and commits it. The error is
// wrapped with action unless it is one of the package's typed errors.
func (db *DB) update(ctx context.Context, action string, fn func(tx *txn) error) error {
	return db.write(ctx, action, false, fn)
}

// updateShared is update for the queue's paths, which PostgreSQL runs
// beside each other (see postgres.go).
func (db *DB) updateShared(ctx context.Context, action string, fn func(tx *txn) error) error {
	return db.write(ctx, action, true, fn)
}

func (db *DB) write(ctx context.Context, action string, shared bool, fn func(tx *txn) error) error {
	tx, err := db.beginTx(ctx, shared)
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

package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
)

// Migrations are written once per dialect: migrations/NNNN_name.sql for
// SQLite (unchanged since they shipped: installs have applied them) and
// migrations/postgres/NNNN_name.sql for PostgreSQL, with the same numbers
// and names, so a database of either kind at version N has the same
// tables and columns. TestMigrationsPaired holds the two lists together.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

func embeddedMigrations(d dialect) fs.FS {
	dir := "migrations"
	if d == dialectPostgres {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// migration is one NNNN_name.sql file.
type migration struct {
	version int
	name    string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// listMigrations returns the migrations in fsys in version order. Versions
// must start at 1 and have no gaps, so a missing file is caught before it
// can be skipped.
func listMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		v, _ := strconv.Atoi(m[1])
		ms = append(ms, migration{version: v, name: name})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %04d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations, each in its own transaction that
// also records it in schema_migrations. Migrations are forward-only. When
// the database already holds tables, a backup copy is taken first (see
// backup), so a failed or unwanted migration can be undone by hand.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := listMigrations(db.migrations)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if db.dialect == dialectPostgres {
		// Replicas starting together: one migrates, the others wait here
		// and then find nothing to do.
		unlock, err := db.migrationLock(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer unlock()
	}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var current int
	if err := db.db.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("store: migrate: database schema version %d is newer than this binary (%d); use a newer ferry", current, len(ms))
	}
	if current == len(ms) {
		return nil
	}
	if db.dialect == dialectSQLite {
		if err := db.backupBeforeMigrate(ctx, current); err != nil {
			return err
		}
	}
	for _, m := range ms[current:] {
		if err := db.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// backupBeforeMigrate takes a SQLite backup when the database holds
// tables. PostgreSQL's backups are the operator's (pg_dump).
func (db *DB) backupBeforeMigrate(ctx context.Context, current int) error {
	var tables int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'`).Scan(&tables); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if tables > 0 {
		if _, err := db.backup(ctx, current); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

// migrationLock holds a session advisory lock on one pooled connection
// until unlock; its key differs from the writer lock's, which each
// migration's transaction takes on another connection.
func (db *DB) migrationLock(ctx context.Context) (unlock func(), err error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, lockClass+1); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, lockClass+1)
		conn.Close()
	}, nil
}

func (db *DB) applyMigration(ctx context.Context, m migration) error {
	body, err := fs.ReadFile(db.migrations, m.name)
	if err != nil {
		return err
	}
	tx, err := db.beginTx(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have migrated since we looked; the immediate
	// transaction holds the write lock, so this check is final.
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`,
		m.version).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	// The body goes to the driver as written (no placeholder rebinding:
	// its comments may hold question marks); with no arguments both
	// drivers run every statement in it.
	if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
		VALUES (?, ?, ?)`, m.version, m.name, formatTime(tx.now)); err != nil {
		return err
	}
	return tx.Commit()
}

// backup writes a consistent copy of the database next to it, named
// <path>.bak-<version>-<UTC timestamp>, with VACUUM INTO, and returns its
// path. VACUUM INTO reads one snapshot, so it is safe beside other
// connections, and refuses to overwrite an existing file.
func (db *DB) backup(ctx context.Context, version int) (string, error) {
	dst := fmt.Sprintf("%s.bak-%04d-%s", db.path, version, db.Now().UTC().Format("20060102T150405.000000000Z"))
	// Create the file first, owner-only: the backup holds job history and
	// state (secrets stay encrypted), and VACUUM INTO would create it with
	// the umask. SQLite accepts an existing empty file.
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("backup to %s: %w", dst, err)
	}
	f.Close()
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("backup to %s: %w", dst, err)
	}
	return dst, nil
}

// SchemaVersion returns the highest applied migration version.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.queryRowRaw(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, wrapErr("schema version", err)
	}
	return v, nil
}

package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// dialect is the SQL flavour of the database behind a DB. The store's
// queries are written once, with ? placeholders and types both engines
// accept (times as fixed-width UTC text, booleans as 0/1 integers, JSON
// as text); rebind turns the placeholders into PostgreSQL's $n, and the
// few statements that differ ask the dialect.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// rebindCache maps a query to its $n form; the store's queries are
// constants or built from a few constants, so the cache stays small.
var rebindCache sync.Map

// rebind replaces each ? outside quoted text with $1, $2, ... for
// PostgreSQL, and returns q unchanged for SQLite.
func (d dialect) rebind(q string) string {
	if d != dialectPostgres || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := rebindCache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // ' or " while inside quoted text
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	rebindCache.Store(q, out)
	return out
}

// ExecContext runs a statement in the transaction, in the DB's dialect.
func (tx *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.dialect.rebind(q), args...)
}

// QueryContext runs a query in the transaction, in the DB's dialect.
func (tx *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.dialect.rebind(q), args...)
}

// QueryRowContext runs a one-row query in the transaction, in the DB's
// dialect.
func (tx *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.dialect.rebind(q), args...)
}

// execRaw and queryRowRaw run one statement outside any transaction.
func (db *DB) execRaw(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, db.dialect.rebind(q), args...)
}

func (db *DB) queryRowRaw(ctx context.Context, q string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.dialect.rebind(q), args...)
}

// insertID runs an INSERT ... RETURNING id and returns the id. Both
// engines support RETURNING; PostgreSQL's driver has no LastInsertId.
func insertID(ctx context.Context, tx *txn, q string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, q+` RETURNING id`, args...).Scan(&id)
	return id, err
}

// Backend names the database engine: "sqlite" or "postgres".
func (db *DB) Backend() string {
	if db.dialect == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// jobColumnsPostgres is jobColumns with PostgreSQL's JSON functions: the
// warning count reads the failure reasons' metadata flag, true or 1.
const jobColumnsPostgres = `j.id, j.connection_id, j.type, j.streams, j.status, j.trigger, j.cancel_requested,
	j.not_before, j.created_at, j.updated_at, j.started_at, j.ended_at,
	(SELECT COALESCE(SUM(a.records_committed), 0) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COALESCE(SUM(a.bytes_committed), 0) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COUNT(*) FROM attempts a WHERE a.job_id = j.id),
	(SELECT COUNT(*) FROM attempts a, json_array_elements(a.failure_reasons::json) f
		WHERE j.status = 'succeeded' AND a.job_id = j.id
		AND a.number = (SELECT MAX(b.number) FROM attempts b WHERE b.job_id = j.id)
		AND f.value #>> '{metadata,` + WarningMetadata + `}' IN ('1', 'true'))`

// jobColumns returns the job columns in the DB's dialect.
func (db *DB) jobColumns() string {
	if db.dialect == dialectPostgres {
		return jobColumnsPostgres
	}
	return jobColumns
}

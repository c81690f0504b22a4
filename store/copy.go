package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Copy moves a single-machine install into PostgreSQL (`ferry store
// copy`): every row of every table, as stored, in one transaction on the
// target. Secrets stay sealed: the ciphertexts and the key's fingerprint
// move as they are, so the replicas must use the key the source used.

// ErrTargetNotEmpty is returned (wrapped) by Copy when the target already
// holds data.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// copySkipped are the tables Copy leaves out, with the reason. Every other
// table is copied; a test holds this list to the schema.
var copySkipped = map[string]string{
	"schema_migrations": "Open migrated the target to the source's version",
	"leader_leases":     "who leads the scheduler is decided anew by the replicas",
}

// copyBatch bounds the rows of one INSERT (PostgreSQL takes at most 65535
// parameters in a statement).
const copyBatch = 500

// TableCount is one table's rows in the source and, after the copy, in
// the target.
type TableCount struct {
	Table          string
	Source, Target int64
}

// CopyResult describes a finished copy.
type CopyResult struct {
	// Tables are the copied tables, in copy order.
	Tables []TableCount
	// Skipped are the tables left out, with the reason.
	Skipped map[string]string
	// NextIDs are, per table with an identity column, the id the target
	// hands out next.
	NextIDs map[string]int64
	// KeyFingerprint names the key the copied secrets are sealed with.
	KeyFingerprint string
}

// Copy copies every table of src, a SQLite database, into dst, an empty
// PostgreSQL database at the same schema version, in one transaction on
// dst: nothing lands unless every row does and every table's count
// matches. src must hold the secrets key its secrets are sealed with.
// The identity sequences of dst continue after the copied ids.
func Copy(ctx context.Context, src, dst *DB) (*CopyResult, error) {
	if src.dialect != dialectSQLite || dst.dialect != dialectPostgres {
		return nil, errors.New("store: copy: copies a SQLite database into a PostgreSQL one")
	}
	if src.key == nil {
		return nil, errors.New("store: copy: the source's secrets key is required")
	}
	// The fingerprint goes with the settings; CheckKey also stores it in
	// a source that predates fingerprints, and refuses a key that is not
	// the one the source's secrets were sealed with.
	if err := src.CheckKey(ctx); err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	if dst.key != nil && dst.key.Fingerprint() != src.key.Fingerprint() {
		return nil, errors.New("store: copy: the source and target are opened with different secrets keys")
	}
	rtx, err := src.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	defer rtx.Rollback()
	wtx, err := dst.beginTx(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	defer wtx.Rollback()
	res, err := copyTx(ctx, rtx, wtx)
	if err != nil {
		return nil, fmt.Errorf("store: copy: %w", err)
	}
	if err := wtx.Commit(); err != nil {
		return nil, fmt.Errorf("store: copy: commit: %w", err)
	}
	res.KeyFingerprint = src.key.Fingerprint()
	return res, nil
}

// copyTx copies within the two transactions; the caller commits.
func copyTx(ctx context.Context, rtx, wtx *txn) (*CopyResult, error) {
	if err := sameVersion(ctx, rtx, wtx); err != nil {
		return nil, err
	}
	tables, err := copyPlan(ctx, rtx, wtx)
	if err != nil {
		return nil, err
	}
	if err := requireEmpty(ctx, wtx, tables); err != nil {
		return nil, err
	}
	res := &CopyResult{Skipped: copySkipped, NextIDs: map[string]int64{}}
	for _, t := range tables {
		if _, skip := copySkipped[t.name]; skip {
			continue
		}
		n, err := copyRows(ctx, rtx, wtx, t)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		res.Tables = append(res.Tables, TableCount{Table: t.name, Source: n})
	}
	if err := verifyCounts(ctx, rtx, wtx, res.Tables); err != nil {
		return nil, err
	}
	if err := resetIdentities(ctx, rtx, wtx, res.NextIDs); err != nil {
		return nil, err
	}
	return res, nil
}

// sameVersion refuses databases at different schema versions; Open
// migrates both to the binary's, so this holds unless one is newer.
func sameVersion(ctx context.Context, rtx, wtx *txn) error {
	var a, b int
	if err := rtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&a); err != nil {
		return err
	}
	if err := wtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&b); err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("the source is at schema version %d and the target at %d", a, b)
	}
	return nil
}

// copyPlan returns every table (skipped ones included, for the emptiness
// check) in an order that satisfies the foreign keys.
func copyPlan(ctx context.Context, rtx, wtx *txn) ([]copyTable, error) {
	srcTables, err := sqliteTables(ctx, rtx)
	if err != nil {
		return nil, fmt.Errorf("read the source's tables: %w", err)
	}
	dstTables, err := postgresTables(ctx, wtx)
	if err != nil {
		return nil, fmt.Errorf("read the target's tables: %w", err)
	}
	tables, err := matchSchemas(srcTables, dstTables)
	if err != nil {
		return nil, err
	}
	refs, err := foreignKeys(ctx, wtx)
	if err != nil {
		return nil, fmt.Errorf("read the target's foreign keys: %w", err)
	}
	return orderByReferences(tables, refs)
}

// requireEmpty refuses a target that holds anything but what its
// migrations put there (the default workspace), and removes that, since
// the source's default workspace takes its place.
func requireEmpty(ctx context.Context, wtx *txn, tables []copyTable) error {
	var full []string
	for _, t := range tables {
		if t.name == "schema_migrations" {
			continue
		}
		n, err := countRows(ctx, wtx, t.name)
		if err != nil {
			return err
		}
		if t.name == "workspaces" && n == 1 {
			var def int
			if err := wtx.QueryRowContext(ctx, `SELECT is_default FROM workspaces`).Scan(&def); err != nil {
				return err
			}
			if def == 1 {
				continue // the one the migration created
			}
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s: %d rows", t.name, n))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w (%s): store copy fills a new database only; create an empty database, or drop this one's tables, and copy again",
			ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	_, err := wtx.ExecContext(ctx, `DELETE FROM workspaces`)
	return err
}

// copyRows copies one table's rows in batches and returns how many.
func copyRows(ctx context.Context, rtx, wtx *txn, t copyTable) (int64, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = quoteIdent(c)
	}
	rows, err := rtx.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+quoteIdent(t.name))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	insert := `INSERT INTO ` + quoteIdent(t.name) + ` (` + strings.Join(cols, ", ") + `) VALUES `
	var n int64
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := wtx.Tx.ExecContext(ctx, insert+valuesList(len(batch)/len(cols), len(cols)), batch...)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		batch = append(batch, vals...)
		n++
		if len(batch) >= copyBatch*len(cols) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// valuesList returns ($1, $2), ($3, $4), ... for rows of cols values.
func valuesList(rows, cols int) string {
	var b strings.Builder
	p := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			p++
			fmt.Fprintf(&b, "$%d", p)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// verifyCounts recounts every copied table on both sides.
func verifyCounts(ctx context.Context, rtx, wtx *txn, tables []TableCount) error {
	for i := range tables {
		t := &tables[i]
		src, err := countRows(ctx, rtx, t.Table)
		if err != nil {
			return err
		}
		if t.Target, err = countRows(ctx, wtx, t.Table); err != nil {
			return err
		}
		if src != t.Source || t.Target != t.Source {
			return fmt.Errorf("table %s: read %d rows, the source counts %d and the target %d", t.Table, t.Source, src, t.Target)
		}
	}
	return nil
}

// resetIdentities moves each identity sequence past the copied ids, and
// past SQLite's AUTOINCREMENT high-water mark, so an id SQLite handed out
// once (even of a row since deleted) is not handed out again.
func resetIdentities(ctx context.Context, rtx, wtx *txn, next map[string]int64) error {
	ids, err := identityColumns(ctx, wtx)
	if err != nil {
		return err
	}
	for _, table := range slices.Sorted(maps.Keys(ids)) {
		if len(ids[table]) != 1 {
			return fmt.Errorf("table %s has %d identity columns, want 1", table, len(ids[table]))
		}
		col := ids[table][0]
		var top int64
		if err := wtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+quoteIdent(col)+`), 0) FROM `+quoteIdent(table)).Scan(&top); err != nil {
			return err
		}
		var seq sql.NullInt64
		err := rtx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq)
		if err != nil && !errNoRows(err) {
			return err
		}
		top = max(top, seq.Int64)
		if top > 0 {
			if _, err := wtx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), ?, true)`,
				quoteIdent(table), col, top); err != nil {
				return fmt.Errorf("reset the sequence of %s.%s: %w", table, col, err)
			}
		}
		next[table] = top + 1
	}
	return nil
}

func countRows(ctx context.Context, tx *txn, table string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(table)).Scan(&n)
	return n, err
}

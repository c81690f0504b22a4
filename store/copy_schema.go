package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The copy reads the tables and columns from the databases' own catalogs
// rather than from a list kept here, so a table a later migration adds is
// copied without anyone remembering to: both dialects' migrations give the
// same tables and columns (TestMigrationsPaired), and matchSchemas refuses
// to go on when they differ.

// copyTable is one table to copy: its columns in the target's order.
type copyTable struct {
	name    string
	columns []string
}

// sqliteTables returns the SQLite database's tables and their columns.
func sqliteTables(ctx context.Context, tx *txn) (map[string][]string, error) {
	names, err := queryStrings(ctx, tx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(names))
	for _, n := range names {
		cols, err := queryStrings(ctx, tx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, err
		}
		out[n] = cols
	}
	return out, nil
}

// postgresTables returns the tables of the target's current schema and
// their columns.
func postgresTables(ctx context.Context, tx *txn) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	return scanPairs(rows, func(m map[string][]string, k, v string) { m[k] = append(m[k], v) })
}

// identityColumns returns the target's identity columns, table to column.
func identityColumns(ctx context.Context, tx *txn) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return nil, err
	}
	return scanPairs(rows, func(m map[string][]string, k, v string) { m[k] = append(m[k], v) })
}

// foreignKeys returns the target's references, table to the tables it
// references (itself excluded: a row may refer to a row of its own table
// only in an order the copy does not know).
func foreignKeys(ctx context.Context, tx *txn) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT t.relname, r.relname FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_class r ON r.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	return scanPairs(rows, func(m map[string][]string, k, v string) {
		if k != v {
			m[k] = append(m[k], v)
		}
	})
}

// scanPairs reads two-string rows into a map through add.
func scanPairs(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, add func(m map[string][]string, k, v string)) (map[string][]string, error) {
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		add(out, k, v)
	}
	return out, rows.Err()
}

// matchSchemas checks that source and target have the same tables with the
// same columns, and returns the tables with the target's column order.
func matchSchemas(src, dst map[string][]string) ([]copyTable, error) {
	var problems []string
	for name := range src {
		if _, ok := dst[name]; !ok {
			problems = append(problems, "table "+name+" is missing in the target")
		}
	}
	var tables []copyTable
	for name, cols := range dst {
		scols, ok := src[name]
		if !ok {
			problems = append(problems, "table "+name+" is missing in the source")
			continue
		}
		a, b := slices.Sorted(slices.Values(scols)), slices.Sorted(slices.Values(cols))
		if !slices.Equal(a, b) {
			problems = append(problems, fmt.Sprintf("table %s has columns %s in the source but %s in the target",
				name, strings.Join(a, ","), strings.Join(b, ",")))
			continue
		}
		tables = append(tables, copyTable{name: name, columns: cols})
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("the two databases' schemas differ: %s", strings.Join(problems, "; "))
	}
	return tables, nil
}

// orderByReferences sorts tables so that each comes after the tables it
// references, by name among equals, so the inserts satisfy every foreign
// key as they go.
func orderByReferences(tables []copyTable, refs map[string][]string) ([]copyTable, error) {
	slices.SortFunc(tables, func(a, b copyTable) int { return strings.Compare(a.name, b.name) })
	present := map[string]bool{}
	for _, t := range tables {
		present[t.name] = true
	}
	done := map[string]bool{}
	var out []copyTable
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if done[t.name] {
				continue
			}
			ready := true
			for _, r := range refs[t.name] {
				ready = ready && (done[r] || !present[r])
			}
			if ready {
				done[t.name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("the tables' foreign keys form a cycle; cannot order the copy")
		}
	}
	return out, nil
}

// queryStrings returns a one-column query's strings.
func queryStrings(ctx context.Context, tx *txn, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteIdent quotes an identifier for either dialect.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

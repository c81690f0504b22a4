package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// timeLayout is how times are stored: UTC, fixed width, so that text order
// is time order and range filters can compare strings. SQLite's date
// functions read it too.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores a nil *time.Time as NULL.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}

func parseNullTime(ns sql.NullString) (*time.Time, error) {
	if !ns.Valid {
		return nil, nil
	}
	t, err := parseTime(ns.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// timeScanner collects the errors of several time parses, so row scanners
// stay short.
type timeScanner struct{ err error }

func (ts *timeScanner) time(s string) time.Time {
	t, err := parseTime(s)
	if err != nil && ts.err == nil {
		ts.err = err
	}
	return t
}

func (ts *timeScanner) nullTime(ns sql.NullString) *time.Time {
	t, err := parseNullTime(ns)
	if err != nil && ts.err == nil {
		ts.err = err
	}
	return t
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt64 stores a nil *int64 as NULL.
func nullInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptrInt64(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// nullDuration stores a nil duration as NULL, else whole milliseconds.
func nullDuration(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return d.Milliseconds()
}

func ptrDuration(n sql.NullInt64) *time.Duration {
	if !n.Valid {
		return nil
	}
	d := time.Duration(n.Int64) * time.Millisecond
	return &d
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newID returns a random (version 4) UUID in canonical lowercase form.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkID validates a caller-chosen id, or fills in a new one when empty.
func checkID(id *string) error {
	if *id == "" {
		*id = newID()
		return nil
	}
	if !uuidRE.MatchString(*id) {
		return invalid("id", "must be a lowercase UUID")
	}
	return nil
}

// Page limits a list.
type Page struct {
	// Limit is the most rows to return; zero means DefaultLimit, and it is
	// capped at MaxLimit.
	Limit int
	// Offset skips rows.
	Offset int
}

// List limits.
const (
	DefaultLimit = 20
	MaxLimit     = 1000
)

func (p Page) limits() (limit, offset int) {
	limit, offset = p.Limit, p.Offset
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// errNoRows reports whether err means a query matched nothing.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// countPastEnd sets *total for a page that came back empty at a positive
// offset. Lists read the total from COUNT(*) OVER (), which rides on the
// rows returned, so an offset past the end would otherwise report 0.
// from is the list's FROM and WHERE clauses, args their arguments.
func countPastEnd(ctx context.Context, tx *txn, rows, offset int, total *int, from string, args ...any) error {
	if rows > 0 || offset == 0 {
		return nil
	}
	return tx.QueryRowContext(ctx, `SELECT COUNT(*) `+from, args...).Scan(total)
}

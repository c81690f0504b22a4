package store

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule or the
// state of another row: a second active job for a connection, deleting a
// source that a connection uses, finishing an attempt that is no longer
// running. Errors wrapping it carry a message meant for users.
var ErrConflict = errors.New("conflict")

// ErrStorageFull is returned (wrapped) when the database ran out of space
// (SQLITE_FULL, PostgreSQL's disk_full, or the disk is full). The transaction was rolled back: the
// data is as it was before the call.
var ErrStorageFull = errors.New("storage full")

// ValidationError reports an invalid input, naming the field.
type ValidationError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid input: " + e.Message
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
}

// invalid returns a *ValidationError.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// conflict returns an error wrapping ErrConflict with a user-facing message.
func conflict(format string, args ...any) error {
	return &conflictError{msg: fmt.Sprintf(format, args...)}
}

type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }
func (e *conflictError) Unwrap() error { return ErrConflict }

// notFound returns an error wrapping ErrNotFound that names what is missing.
func notFound(what string, id any) error {
	return &notFoundError{msg: fmt.Sprintf("%s %v not found", what, id)}
}

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// wrapErr adds the action to err. Typed errors pass through unchanged, so
// their messages stay user-facing. Constraint violations the code did not
// anticipate become ErrConflict with a generic message, and a full disk
// becomes ErrStorageFull; the driver's text is kept only in the wrapped
// chain of internal errors, which the API logs and never shows.
func wrapErr(action string, err error) error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrStorageFull) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch primary := se.Code() & 0xff; {
		case se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict("%s: already exists", action)
		case se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return conflict("%s: still referenced, or refers to a missing row", action)
		case primary == sqlite3.SQLITE_FULL:
			// SQLite's unix VFS reports ENOSPC as SQLITE_FULL too.
			return fmt.Errorf("store: %s: %w: %w", action, ErrStorageFull, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return conflict("%s: already exists", action)
		case "23503": // foreign_key_violation
			return conflict("%s: still referenced, or refers to a missing row", action)
		case "53100": // disk_full
			return fmt.Errorf("store: %s: %w: %w", action, ErrStorageFull, err)
		}
	}
	return fmt.Errorf("store: %s: %w", action, err)
}

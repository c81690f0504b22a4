package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Workspace groups sources, destinations and connections, as Airbyte's
// workspaces do. Ferry has one, the default, made by the migration that
// introduced workspaces (at the first start of a binary that has it);
// every source, destination and connection belongs to a workspace, the
// default unless the caller names another.
type Workspace struct {
	ID   string
	Name string
	// DataResidency is Airbyte's data plane region; Ferry has one and
	// stores what it is told ("auto" by default).
	DataResidency string
	Default       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// WorkspaceFilter selects workspaces; empty IDs match every one.
type WorkspaceFilter struct {
	IDs []string
	Page
}

const workspaceColumns = `id, name, data_residency, is_default, created_at, updated_at`

// Workspace returns the workspace with the given id, or ErrNotFound.
func (db *DB) Workspace(ctx context.Context, id string) (*Workspace, error) {
	var w *Workspace
	err := db.view(ctx, "get workspace", func(tx *txn) (err error) {
		w, err = findWorkspace(ctx, tx, id)
		return err
	})
	return w, err
}

// DefaultWorkspace returns the default workspace.
func (db *DB) DefaultWorkspace(ctx context.Context) (*Workspace, error) {
	var w *Workspace
	err := db.view(ctx, "get default workspace", func(tx *txn) (err error) {
		w, err = defaultWorkspace(ctx, tx)
		return err
	})
	return w, err
}

// Workspaces lists workspaces, the default first, and returns the total
// count of matches before paging.
func (db *DB) Workspaces(ctx context.Context, f WorkspaceFilter) ([]*Workspace, int, error) {
	limit, offset := f.limits()
	var out []*Workspace
	var total int
	err := db.view(ctx, "list workspaces", func(tx *txn) error {
		from, args := `FROM workspaces WHERE 1 = 1`, []any{}
		if len(f.IDs) > 0 {
			from += ` AND id IN (` + placeholders(len(f.IDs)) + `)`
			for _, id := range f.IDs {
				args = append(args, id)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+workspaceColumns+`, COUNT(*) OVER () `+from+`
			ORDER BY is_default DESC, created_at, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanWorkspace(rows, &total)
			if err != nil {
				return err
			}
			out = append(out, w)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return countPastEnd(ctx, tx, len(out), offset, &total, from, args...)
	})
	return out, total, err
}

// UpdateWorkspace sets a workspace's name and data residency (empty keeps
// the stored one). It returns ErrNotFound or a *ValidationError.
func (db *DB) UpdateWorkspace(ctx context.Context, w *Workspace) error {
	return db.update(ctx, "update workspace", func(tx *txn) error {
		old, err := findWorkspace(ctx, tx, w.ID)
		if err != nil {
			return err
		}
		if w.Name == "" {
			w.Name = old.Name
		}
		if w.DataResidency == "" {
			w.DataResidency = old.DataResidency
		}
		if strings.TrimSpace(w.Name) == "" || len(w.Name) > 200 {
			return invalid("name", "must be 1-200 bytes")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspaces SET name = ?, data_residency = ?, updated_at = ?
			WHERE id = ?`, w.Name, w.DataResidency, formatTime(tx.now), w.ID); err != nil {
			return err
		}
		w.Default, w.CreatedAt, w.UpdatedAt = old.Default, old.CreatedAt, tx.now
		return nil
	})
}

func findWorkspace(ctx context.Context, tx *txn, id string) (*Workspace, error) {
	w, err := scanWorkspace(tx.QueryRowContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = ?`, id))
	if errNoRows(err) {
		return nil, notFound("workspace", id)
	}
	return w, err
}

func defaultWorkspace(ctx context.Context, tx *txn) (*Workspace, error) {
	return scanWorkspace(tx.QueryRowContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE is_default = 1`))
}

// resolveWorkspace returns the id of the workspace a new source,
// destination or connection goes to: id when it exists (else a
// *ValidationError naming field), the default when id is empty.
func resolveWorkspace(ctx context.Context, tx *txn, field, id string) (string, error) {
	if id == "" {
		w, err := defaultWorkspace(ctx, tx)
		if err != nil {
			return "", err
		}
		return w.ID, nil
	}
	if _, err := findWorkspace(ctx, tx, id); errors.Is(err, ErrNotFound) {
		return "", invalid(field, "workspace %s not found", id)
	} else if err != nil {
		return "", err
	}
	return id, nil
}

func scanWorkspace(s scanner, extra ...any) (*Workspace, error) {
	var w Workspace
	var created, updated string
	dest := []any{&w.ID, &w.Name, &w.DataResidency, &w.Default, &created, &updated}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	var ts timeScanner
	w.CreatedAt, w.UpdatedAt = ts.time(created), ts.time(updated)
	return &w, ts.err
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

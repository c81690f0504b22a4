package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ferrysync/ferry/secret"
)

// Actor is a source or a destination: a configured instance of a connector
// definition.
type Actor struct {
	ID           string
	Kind         ActorKind
	Name         string
	DefinitionID string
	// WorkspaceID is the workspace the actor belongs to; empty on create
	// means the default workspace. It cannot change.
	WorkspaceID string
	// Config is the connector configuration. Callers pass plaintext; the
	// store encrypts the values of the spec's airbyte_secret fields before
	// they reach the database, and every method returns Config with those
	// values masked ("**********"). ActorConfig returns the plaintext.
	Config    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ResolvedConfig is a decrypted connector config, for running a connector.
type ResolvedConfig struct {
	// Config is the plaintext config: byte-for-byte the compacted JSON the
	// caller stored.
	Config json.RawMessage
	// Secrets are the plaintext secret values (strings unquoted, a secret
	// object or array as its leaves), longest first, for redacting logs by
	// value.
	Secrets []string
}

// Validate checks the fields a caller sets. It returns a *ValidationError.
func (a *Actor) Validate() error {
	if !a.Kind.valid() {
		return invalid("kind", "must be source or destination")
	}
	if strings.TrimSpace(a.Name) == "" {
		return invalid("name", "is required")
	}
	if len(a.Name) > 200 {
		return invalid("name", "is longer than 200 bytes")
	}
	if a.DefinitionID == "" {
		return invalid("definitionId", "is required")
	}
	if _, err := compactObject("config", a.Config); err != nil {
		return err
	}
	return nil
}

// CreateActor inserts a source or destination, filling in ID (when empty),
// CreatedAt and UpdatedAt, and replacing a.Config with its masked form. The
// definition must be of the same kind and have a cached spec, since the
// spec says which values to encrypt. It returns a *ValidationError (also
// when the config holds the mask where a secret belongs), or ErrConflict
// when the id is taken.
func (db *DB) CreateActor(ctx context.Context, a *Actor) error {
	return db.update(ctx, "create "+string(a.Kind), func(tx *txn) error {
		if err := checkID(&a.ID); err != nil {
			return err
		}
		if err := a.Validate(); err != nil {
			return err
		}
		ws, err := resolveWorkspace(ctx, tx, "workspaceId", a.WorkspaceID)
		if err != nil {
			return err
		}
		a.WorkspaceID = ws
		paths, err := actorSecretPaths(ctx, tx, a)
		if err != nil {
			return err
		}
		plain, _ := compactObject("config", a.Config)
		sealed, err := db.key.sealConfig(paths, a.ID, plain)
		if err != nil {
			return err
		}
		a.CreatedAt, a.UpdatedAt = tx.now, tx.now
		if _, err := tx.ExecContext(ctx, `INSERT INTO actors (id, kind, name, definition_id, config,
			created_at, updated_at, workspace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Kind, a.Name, a.DefinitionID, string(sealed),
			formatTime(a.CreatedAt), formatTime(a.UpdatedAt), a.WorkspaceID); err != nil {
			return err
		}
		a.Config, err = maskEnvelopes(sealed)
		return err
	})
}

// actorSecretPaths loads a's definition, checks its kind and returns the
// secret locations of its spec.
func actorSecretPaths(ctx context.Context, tx *txn, a *Actor) (*secret.Paths, error) {
	d, err := findDefinition(ctx, tx, a.DefinitionID)
	if err != nil {
		return nil, invalid("definitionId", "definition %s not found", a.DefinitionID)
	}
	if d.Kind != a.Kind {
		return nil, invalid("definitionId", "definition %s is a %s definition", d.ID, d.Kind)
	}
	if d.Spec == nil {
		return nil, invalid("definitionId", "definition %s has no cached spec yet", d.ID)
	}
	return specSecrets(d.Spec)
}

// Actor returns the source or destination with the given id and kind, its
// config masked. It returns ErrNotFound.
func (db *DB) Actor(ctx context.Context, kind ActorKind, id string) (*Actor, error) {
	var a *Actor
	err := db.view(ctx, "get "+string(kind), func(tx *txn) (err error) {
		if a, err = findActor(ctx, tx, kind, id); err != nil {
			return err
		}
		a.Config, err = maskEnvelopes(a.Config)
		return err
	})
	return a, err
}

// ActorFilter selects sources or destinations. Kind is required.
type ActorFilter struct {
	Kind         ActorKind
	DefinitionID string
	// WorkspaceIDs keeps the actors of these workspaces; empty keeps all.
	WorkspaceIDs []string
	Page
}

// Actors lists sources or destinations, oldest first, configs masked, and
// returns the total count of matches before paging. It returns a
// *ValidationError when f.Kind is not set.
func (db *DB) Actors(ctx context.Context, f ActorFilter) ([]*Actor, int, error) {
	if !f.Kind.valid() {
		return nil, 0, invalid("kind", "must be source or destination")
	}
	limit, offset := f.limits()
	var out []*Actor
	var total int
	err := db.view(ctx, "list "+string(f.Kind)+"s", func(tx *txn) error {
		from := `FROM actors WHERE kind = ? AND (CAST(? AS TEXT) = '' OR definition_id = ?)`
		args := []any{f.Kind, f.DefinitionID, f.DefinitionID}
		from, args = inWorkspaces(from, args, f.WorkspaceIDs)
		rows, err := tx.QueryContext(ctx, `SELECT `+actorColumns+`, COUNT(*) OVER () `+from+`
			ORDER BY created_at, id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanActor(rows, &total)
			if err != nil {
				return err
			}
			if a.Config, err = maskEnvelopes(a.Config); err != nil {
				return err
			}
			out = append(out, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return countPastEnd(ctx, tx, len(out), offset, &total, from, args...)
	})
	return out, total, err
}

// UpdateActor replaces the name and config of the source or destination
// a.ID. A secret value equal to the mask keeps the stored secret
// (MergeSecrets). DefinitionID cannot change. On success a holds the stored
// row, config masked. It returns ErrNotFound or a *ValidationError.
func (db *DB) UpdateActor(ctx context.Context, a *Actor) error {
	return db.update(ctx, "update "+string(a.Kind), func(tx *txn) error {
		old, err := findActor(ctx, tx, a.Kind, a.ID)
		if err != nil {
			return err
		}
		if a.DefinitionID == "" {
			a.DefinitionID = old.DefinitionID
		}
		if a.DefinitionID != old.DefinitionID {
			return invalid("definitionId", "cannot change")
		}
		if a.WorkspaceID != "" && a.WorkspaceID != old.WorkspaceID {
			return invalid("workspaceId", "cannot change")
		}
		if err := a.Validate(); err != nil {
			return err
		}
		if err := updateActorConfig(ctx, tx, old, a.Config); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE actors SET name = ? WHERE id = ?`, a.Name, a.ID); err != nil {
			return err
		}
		old.Name = a.Name
		*a = *old
		a.Config, err = maskEnvelopes(a.Config)
		return err
	})
}

// DeleteActor deletes a source or destination. It returns ErrNotFound, or
// ErrConflict naming the connections that use it: deleting them is the
// caller's decision, never a cascade.
func (db *DB) DeleteActor(ctx context.Context, kind ActorKind, id string) error {
	return db.update(ctx, "delete "+string(kind), func(tx *txn) error {
		if _, err := findActor(ctx, tx, kind, id); err != nil {
			return err
		}
		users, err := connectionsUsing(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return conflict("%s %s is used by %d connection(s); delete them first: %s",
				kind, id, len(users), strings.Join(users, ", "))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM actors WHERE id = ?`, id)
		return err
	})
}

// maxNamedUsers bounds how many connections a delete conflict names.
const maxNamedUsers = 10

// connectionsUsing names the connections whose source or destination is
// actorID, as `"name" (id)`, the first maxNamedUsers of them and a count
// of the rest.
func connectionsUsing(ctx context.Context, tx *txn, actorID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM connections
		WHERE source_id = ? OR destination_id = ? ORDER BY created_at, id`, actorID, actorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	n := 0
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		if n++; n <= maxNamedUsers {
			out = append(out, fmt.Sprintf("%q (%s)", name, id))
		}
	}
	if n > maxNamedUsers {
		out = append(out, fmt.Sprintf("and %d more", n-maxNamedUsers))
	}
	return out, rows.Err()
}

// inWorkspaces narrows a list query to the workspaces in ids, when any.
func inWorkspaces(from string, args []any, ids []string) (string, []any) {
	if len(ids) == 0 {
		return from, args
	}
	for _, id := range ids {
		args = append(args, id)
	}
	return from + ` AND workspace_id IN (` + placeholders(len(ids)) + `)`, args
}

const actorColumns = `id, kind, name, definition_id, config, created_at, updated_at, workspace_id`

// findActor returns the actor with its stored (encrypted) config.
func findActor(ctx context.Context, tx *txn, kind ActorKind, id string) (*Actor, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+actorColumns+` FROM actors WHERE id = ? AND kind = ?`, id, kind)
	a, err := scanActor(row)
	if errNoRows(err) {
		return nil, notFound(string(kind), id)
	}
	return a, err
}

func scanActor(s scanner, extra ...any) (*Actor, error) {
	var a Actor
	var config, created, updated string
	var ws sql.NullString
	dest := []any{&a.ID, &a.Kind, &a.Name, &a.DefinitionID, &config, &created, &updated, &ws}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	a.Config, a.WorkspaceID = json.RawMessage(config), ws.String
	var ts timeScanner
	a.CreatedAt, a.UpdatedAt = ts.time(created), ts.time(updated)
	return &a, ts.err
}

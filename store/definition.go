package store

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// ActorKind says whether a definition or actor is a source or a
// destination.
type ActorKind string

// Actor kinds.
const (
	KindSource      ActorKind = "source"
	KindDestination ActorKind = "destination"
)

func (k ActorKind) valid() bool { return k == KindSource || k == KindDestination }

// Definition is a connector definition: an image (or local binary) that
// sources or destinations run.
type Definition struct {
	ID   string
	Name string
	Kind ActorKind
	// ShortName is the connector's short name (faker, jsonl), unique per
	// kind, that configuration.sourceType or destinationType may give
	// instead of a definition id, as with Airbyte. It comes from the
	// image's io.ferry.connector label or from the caller; empty means
	// none.
	ShortName string
	// Image is the Docker image reference, e.g. "ferry/source-faker:dev".
	Image string
	// BinaryPath is the connector binary the local runtime runs; empty
	// means none.
	BinaryPath string
	// IPCOptions come from the image label io.ferry.ipc-options or the
	// API; nil means a legacy connector (STDIO, JSONL).
	IPCOptions *protocol.IPCOptions
	// Spec is the cached ConnectorSpecification JSON (nil until cached),
	// and SpecImageID the image ID it was cached for. Its airbyte_secret
	// fields decide which config values are encrypted.
	Spec        json.RawMessage
	SpecImageID string
	Resources   Resources
	// Hardening is how locked down its containers run: HardeningStrict,
	// HardeningCompatible, or "" to follow the image's io.ferry.hardening
	// label (runner.Hardening).
	Hardening string
	// Entrypoint is the connector's command and its leading arguments,
	// for runtimes that cannot read it from the image (Kubernetes); nil
	// is not set. EntrypointSource says where it came from:
	// EntrypointFromImage or EntrypointFromAPI ("" when not set).
	Entrypoint       []string
	EntrypointSource string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Hardening levels of a definition (runner.Hardening; "" follows the
// image's label).
const (
	HardeningStrict     = "strict"
	HardeningCompatible = "compatible"
)

var shortNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ShortNameOf derives a short name from a connector's name as its image's
// io.ferry.connector label gives it: the name without its kind prefix
// ("source-faker" is faker, "connector-scripted" is scripted). It returns
// "" when nothing valid is left.
func ShortNameOf(connector string) string {
	s := strings.ToLower(strings.TrimSpace(connector))
	for _, p := range []string{"source-", "destination-", "connector-"} {
		if t, ok := strings.CutPrefix(s, p); ok {
			s = t
			break
		}
	}
	if !shortNameRE.MatchString(s) {
		return ""
	}
	return s
}

// StableDefinitionID is the id a definition with this kind and short name
// gets on every install: a name-based (version 5) UUID, so that scripts
// and Terraform files can name Ferry's reference connectors by id.
func StableDefinitionID(kind ActorKind, shortName string) string {
	h := sha1.Sum(append(stableIDNamespace[:], "ferry:definition:"+string(kind)+":"+shortName...))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	b := hex.EncodeToString(h[:16])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// stableIDNamespace is the namespace of StableDefinitionID: the RFC 4122
// URL namespace, since the names are URL-like.
var stableIDNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// Resources are a connector's limits. Zero means unset.
type Resources struct {
	MemoryBytes int64
	CPUs        float64
}

// Validate checks the fields a caller sets. It returns a *ValidationError.
func (d *Definition) Validate() error {
	if strings.TrimSpace(d.Name) == "" {
		return invalid("name", "is required")
	}
	if len(d.Name) > 200 {
		return invalid("name", "is longer than 200 bytes")
	}
	if !d.Kind.valid() {
		return invalid("kind", "must be source or destination")
	}
	if d.ShortName != "" && !shortNameRE.MatchString(d.ShortName) {
		return invalid("shortName", "must be 1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if d.Image == "" || strings.ContainsAny(d.Image, " \t\n") {
		return invalid("image", "must be a Docker image reference")
	}
	if strings.ContainsRune(d.BinaryPath, 0) {
		return invalid("binaryPath", "must be a file path")
	}
	if d.IPCOptions != nil {
		if err := d.IPCOptions.Validate(); err != nil {
			var ie *protocol.IPCOptionsError
			if errors.As(err, &ie) {
				return invalid(ie.Field, "%s", ie.Message)
			}
			return err
		}
	}
	switch d.Hardening {
	case "", HardeningStrict, HardeningCompatible:
	default:
		return invalid("hardening", "must be strict, compatible or empty (the image's io.ferry.hardening label decides)")
	}
	if err := d.validateEntrypoint(); err != nil {
		return err
	}
	if d.Resources.MemoryBytes < 0 {
		return invalid("resources.memoryBytes", "must not be negative")
	}
	if d.Resources.CPUs < 0 {
		return invalid("resources.cpus", "must not be negative")
	}
	if d.Spec != nil {
		var spec struct {
			ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
		}
		if kindOf(d.Spec) != '{' || json.Unmarshal(d.Spec, &spec) != nil {
			return invalid("spec", "must be a ConnectorSpecification JSON object")
		}
		if kindOf(spec.ConnectionSpecification) != '{' {
			return invalid("spec.connectionSpecification", "must be a JSON Schema object")
		}
		if _, err := specSecrets(d.Spec); err != nil {
			return err
		}
	}
	return nil
}

// CreateDefinition inserts d, filling in ID (when empty), CreatedAt and
// UpdatedAt. It returns a *ValidationError for invalid fields and
// ErrConflict when the name or id is taken.
func (db *DB) CreateDefinition(ctx context.Context, d *Definition) error {
	return db.update(ctx, "create definition", func(tx *txn) error {
		return createDefinition(ctx, tx, d)
	})
}

func createDefinition(ctx context.Context, tx *txn, d *Definition) error {
	if err := checkID(&d.ID); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	ipc, err := marshalIPC(d.IPCOptions)
	if err != nil {
		return err
	}
	entrypoint, entrypointSource, err := d.entrypointColumns()
	if err != nil {
		return err
	}
	if err := checkDefinitionName(ctx, tx, d); err != nil {
		return err
	}
	d.Spec = compactOrNil(d.Spec)
	d.CreatedAt, d.UpdatedAt = tx.now, tx.now
	_, err = tx.ExecContext(ctx, `INSERT INTO definitions (id, name, kind, image, binary_path,
		ipc_options, spec, spec_image_id, memory_bytes, cpus, created_at, updated_at, short_name)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Name, d.Kind, d.Image, nullString(d.BinaryPath), ipc, rawOrNil(d.Spec),
		nullString(d.SpecImageID), d.Resources.MemoryBytes, d.Resources.CPUs,
		formatTime(d.CreatedAt), formatTime(d.UpdatedAt), nullString(d.ShortName))
	if err != nil {
		return err
	}
	// The hardening (migration 0012) is written apart, and only when set,
	// so a definition can be created on a database that predates the
	// column (the upgrade tests do).
	if d.Hardening != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE definitions SET hardening = ? WHERE id = ?`, d.Hardening, d.ID); err != nil {
			return err
		}
	}
	// So is the entrypoint (migration 0013).
	if entrypoint != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE definitions SET entrypoint = ?, entrypoint_source = ? WHERE id = ?`,
			entrypoint, entrypointSource, d.ID); err != nil {
			return err
		}
	}
	return nil
}

// Definition returns the definition with the given id, or ErrNotFound.
func (db *DB) Definition(ctx context.Context, id string) (*Definition, error) {
	var d *Definition
	err := db.view(ctx, "get definition", func(tx *txn) (err error) {
		d, err = findDefinition(ctx, tx, id)
		return err
	})
	return d, err
}

// DefinitionFilter selects definitions. Zero fields match everything.
type DefinitionFilter struct {
	Kind ActorKind
	Name string
	Page
}

// Definitions lists definitions by name, and returns the total count of
// matches before paging.
func (db *DB) Definitions(ctx context.Context, f DefinitionFilter) ([]*Definition, int, error) {
	limit, offset := f.limits()
	var out []*Definition
	var total int
	err := db.view(ctx, "list definitions", func(tx *txn) error {
		const from = `FROM definitions WHERE (CAST(? AS TEXT) = '' OR kind = ?) AND (CAST(? AS TEXT) = '' OR name = ?)`
		args := []any{f.Kind, f.Kind, f.Name, f.Name}
		rows, err := tx.QueryContext(ctx, `SELECT `+definitionColumns+`, COUNT(*) OVER () `+from+`
			ORDER BY name LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDefinition(rows, &total)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return countPastEnd(ctx, tx, len(out), offset, &total, from, args...)
	})
	return out, total, err
}

// UpdateDefinition replaces the mutable fields of the definition d.ID (all
// but Kind and CreatedAt) and sets UpdatedAt. When the spec changes, the
// configs of its sources or destinations are re-encrypted in the same
// transaction under the new spec's secret fields. It returns ErrNotFound,
// a *ValidationError (also when Kind would change), or ErrConflict.
func (db *DB) UpdateDefinition(ctx context.Context, d *Definition) error {
	return db.update(ctx, "update definition", func(tx *txn) error {
		old, err := findDefinition(ctx, tx, d.ID)
		if err != nil {
			return err
		}
		if d.Kind != old.Kind {
			return invalid("kind", "cannot change from %s", old.Kind)
		}
		if err := d.Validate(); err != nil {
			return err
		}
		ipc, err := marshalIPC(d.IPCOptions)
		if err != nil {
			return err
		}
		entrypoint, entrypointSource, err := d.entrypointColumns()
		if err != nil {
			return err
		}
		if err := checkDefinitionName(ctx, tx, d); err != nil {
			return err
		}
		d.Spec = compactOrNil(d.Spec)
		d.CreatedAt, d.UpdatedAt = old.CreatedAt, tx.now
		if _, err := tx.ExecContext(ctx, `UPDATE definitions SET name = ?, image = ?,
			binary_path = ?, ipc_options = ?, spec = ?, spec_image_id = ?, memory_bytes = ?,
			cpus = ?, updated_at = ?, short_name = ?, hardening = ?, entrypoint = ?,
			entrypoint_source = ? WHERE id = ?`,
			d.Name, d.Image, nullString(d.BinaryPath), ipc, rawOrNil(d.Spec),
			nullString(d.SpecImageID), d.Resources.MemoryBytes, d.Resources.CPUs,
			formatTime(d.UpdatedAt), nullString(d.ShortName), d.Hardening, entrypoint,
			entrypointSource, d.ID); err != nil {
			return err
		}
		if !bytes.Equal(old.Spec, d.Spec) {
			return resealActors(ctx, tx, d)
		}
		return nil
	})
}

// DeleteDefinition deletes a definition. It returns ErrNotFound, or
// ErrConflict while a source or destination uses it.
func (db *DB) DeleteDefinition(ctx context.Context, id string) error {
	return db.update(ctx, "delete definition", func(tx *txn) error {
		if _, err := findDefinition(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM actors WHERE definition_id = ?`,
			id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflict("definition %s is used by %d sources or destinations", id, n)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM definitions WHERE id = ?`, id)
		return err
	})
}

// checkDefinitionName returns ErrConflict when another definition has d's
// name, or another of its kind d's short name. The unique indexes are the
// backstop.
func checkDefinitionName(ctx context.Context, tx *txn, d *Definition) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM definitions WHERE name = ? AND id != ?`, d.Name, d.ID).Scan(&other)
	if err == nil {
		return conflict("a definition named %q already exists", d.Name)
	}
	if !errNoRows(err) {
		return err
	}
	if d.ShortName == "" {
		return nil
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM definitions WHERE kind = ? AND short_name = ? AND id != ?`,
		d.Kind, d.ShortName, d.ID).Scan(&other)
	if err == nil {
		return conflict("%s definition %s already has the short name %q", d.Kind, other, d.ShortName)
	}
	if errNoRows(err) {
		return nil
	}
	return err
}

// DefinitionByShortName returns the definition of kind whose short name is
// name, or ErrNotFound.
func (db *DB) DefinitionByShortName(ctx context.Context, kind ActorKind, name string) (*Definition, error) {
	var d *Definition
	err := db.view(ctx, "get definition", func(tx *txn) error {
		row := tx.QueryRowContext(ctx, `SELECT `+definitionColumns+` FROM definitions
			WHERE kind = ? AND short_name = ?`, kind, name)
		var err error
		d, err = scanDefinition(row)
		if errNoRows(err) {
			return notFound(string(kind)+" definition", name)
		}
		return err
	})
	return d, err
}

const definitionColumns = `id, name, kind, image, binary_path, ipc_options, spec, spec_image_id,
	memory_bytes, cpus, created_at, updated_at, short_name, hardening, entrypoint, entrypoint_source`

func findDefinition(ctx context.Context, tx *txn, id string) (*Definition, error) {
	row := tx.QueryRowContext(ctx, `SELECT `+definitionColumns+` FROM definitions WHERE id = ?`, id)
	d, err := scanDefinition(row)
	if errNoRows(err) {
		return nil, notFound("definition", id)
	}
	return d, err
}

type scanner interface{ Scan(dest ...any) error }

// scanDefinition reads definitionColumns, then the extra destinations.
func scanDefinition(s scanner, extra ...any) (*Definition, error) {
	var d Definition
	var bin, ipc, spec, specImage, short, entrypoint sql.NullString
	var created, updated string
	dest := []any{&d.ID, &d.Name, &d.Kind, &d.Image, &bin, &ipc, &spec, &specImage,
		&d.Resources.MemoryBytes, &d.Resources.CPUs, &created, &updated, &short, &d.Hardening,
		&entrypoint, &d.EntrypointSource}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	d.BinaryPath, d.SpecImageID, d.ShortName = bin.String, specImage.String, short.String
	if spec.Valid {
		d.Spec = json.RawMessage(spec.String)
	}
	var err error
	if entrypoint.Valid {
		if d.Entrypoint, err = scanEntrypoint(&entrypoint.String); err != nil {
			return nil, err
		}
	}
	if ipc.Valid {
		if d.IPCOptions, err = unmarshalIPC(&ipc.String); err != nil {
			return nil, err
		}
	}
	var ts timeScanner
	d.CreatedAt, d.UpdatedAt = ts.time(created), ts.time(updated)
	return &d, ts.err
}

// marshalIPC is the stored form of IPC options: their JSON, or NULL.
func marshalIPC(o *protocol.IPCOptions) (any, error) {
	if o == nil {
		return nil, nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode ipc options: %w", err)
	}
	return string(b), nil
}

func unmarshalIPC(s *string) (*protocol.IPCOptions, error) {
	if s == nil {
		return nil, nil
	}
	var o protocol.IPCOptions
	if err := json.Unmarshal([]byte(*s), &o); err != nil {
		return nil, fmt.Errorf("decode stored ipc options: %w", err)
	}
	return &o, nil
}

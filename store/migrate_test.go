package store

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// migrationsUpTo returns the embedded migrations with version <= n.
func migrationsUpTo(t *testing.T, n int) fstest.MapFS {
	t.Helper()
	ms, err := listMigrations(embeddedMigrations(testDialect()))
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range ms[:n] {
		b, err := fs.ReadFile(embeddedMigrations(testDialect()), m.name)
		if err != nil {
			t.Fatal(err)
		}
		out[m.name] = &fstest.MapFile{Data: b}
	}
	return out
}

// TestMigrateEmpty verifies that a new database gets every migration,
// recorded in schema_migrations, and no backup (there is nothing to save).
func TestMigrateEmpty(t *testing.T) {
	db, _ := mustOpen(t)
	ms, err := listMigrations(embeddedMigrations(testDialect()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v != len(ms) || v < 3 {
		t.Errorf("schema version = %d, want %d", v, len(ms))
	}
	if baks, _ := filepath.Glob(db.Path() + ".bak-*"); len(baks) != 0 {
		t.Errorf("backups of an empty database: %v", baks)
	}
}

// TestMigrateOlderDatabase verifies the upgrade path: a database at
// version 1 holding data is backed up, then brought to the latest version
// with its data intact; reopening does not back up again.
func TestMigrateOlderDatabase(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	clock := newTestClock()
	old, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)), withMigrations(migrationsUpTo(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Rows written with version 1's columns: today's code writes columns
	// that version does not have.
	def := &Definition{ID: "0b6c1a52-6a5e-4f43-9d3e-2f0c9b8e7a11", Name: "source-old", Kind: KindSource}
	if _, err := old.db.ExecContext(ctx, `INSERT INTO definitions (id, name, kind, image, spec, created_at, updated_at)
		VALUES (?, ?, 'source', 'ferry/source-old:dev', ?, '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`,
		def.ID, def.Name, string(readTestdata(t, "spec.json"))); err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(ctx); v != 1 {
		t.Fatalf("old schema version = %d, want 1", v)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Definition(ctx, def.ID); err != nil || got.Name != "source-old" || got.ShortName != "old" {
		t.Fatalf("definition after migration: %+v, %v; want the short name old", got, err)
	}
	// The new tables work: a connection can get a job.
	f := &fixture{db: db, clock: clock, srcDef: def}
	f.dstDef = mustDefinition(t, db, KindDestination, "dest-new")
	f.src = mustActor(t, db, KindSource, def.ID, readTestdata(t, "config.json"))
	f.dst = mustActor(t, db, KindDestination, f.dstDef.ID, []byte(`{}`))
	f.conn = f.newConnection(t)
	if _, err := db.CreateJob(ctx, f.conn.ID, JobSync, TriggerManual); err != nil {
		t.Fatal(err)
	}
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil || f.src.WorkspaceID != ws.ID || f.conn.WorkspaceID != ws.ID {
		t.Fatalf("default workspace %+v, %v; source in %q, connection in %q", ws, err, f.src.WorkspaceID, f.conn.WorkspaceID)
	}

	baks, _ := filepath.Glob(path + ".bak-0001-*")
	if len(baks) != 1 {
		t.Fatalf("backups = %v, want one named .bak-0001-*", baks)
	}
	if fi, err := os.Stat(baks[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	bak, err := sql.Open("sqlite", baks[0])
	if err != nil {
		t.Fatal(err)
	}
	defer bak.Close()
	var name string
	var version int
	if err := bak.QueryRow(`SELECT name FROM definitions`).Scan(&name); err != nil || name != "source-old" {
		t.Errorf("backup definitions: %q, %v", name, err)
	}
	if err := bak.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != 1 {
		t.Errorf("backup version: %d, %v; want 1", version, err)
	}

	db.Close()
	clock.Advance(1e9)
	db2, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if baks, _ := filepath.Glob(path + ".bak-*"); len(baks) != 1 {
		t.Errorf("reopening an up-to-date database made backups: %v", baks)
	}
}

// TestMigrateWorkspacesKeepsHistory verifies migration 0004 on a version 3
// database: existing sources join the new default workspace, the jobs
// table takes the new job types, and a connection's jobs outlive it on
// every pooled connection, including one that read the old schema first.
func TestMigrateWorkspacesKeepsHistory(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	old, err := Open(ctx, path, WithKey(testKey(t)), withMigrations(migrationsUpTo(t, 3)))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO definitions (id, name, kind, image, spec, created_at, updated_at) VALUES
			('d0000000-0000-4000-8000-000000000001', 'connector-scripted-source', 'source', 'ferry/connector-scripted:dev', '{}', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z'),
			('d0000000-0000-4000-8000-000000000002', 'destination-jsonl', 'destination', 'ferry/destination-jsonl:dev', '{}', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO actors (id, kind, name, definition_id, config, created_at, updated_at) VALUES
			('a0000000-0000-4000-8000-000000000001', 'source', 's', 'd0000000-0000-4000-8000-000000000001', '{}', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z'),
			('a0000000-0000-4000-8000-000000000002', 'destination', 'd', 'd0000000-0000-4000-8000-000000000002', '{}', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO connections (id, name, source_id, destination_id, catalog, schedule_type, namespace_definition,
			status, created_at, updated_at) VALUES ('c0000000-0000-4000-8000-000000000001', 'c',
			'a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002', '{"streams":[]}',
			'manual', 'destination', 'active', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO jobs (connection_id, type, status, trigger, created_at, updated_at) VALUES
			('c0000000-0000-4000-8000-000000000001', 'sync', 'succeeded', 'manual', 't', 't')`,
	} {
		if _, err := old.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	db, err := Open(ctx, path, WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A pooled connection that reads the jobs table before the others.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = db.db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
		var n int
		if err := conns[i].QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("jobs: %d, %v", n, err)
		}
	}
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil || !uuidRE.MatchString(ws.ID) || ws.Name == "" {
		t.Fatalf("default workspace: %+v, %v", ws, err)
	}
	src, err := db.Actor(ctx, KindSource, "a0000000-0000-4000-8000-000000000001")
	if err != nil || src.WorkspaceID != ws.ID {
		t.Fatalf("source after migration: %+v, %v; want workspace %s", src, err, ws.ID)
	}
	for id, want := range map[string]string{"d0000000-0000-4000-8000-000000000001": "scripted", "d0000000-0000-4000-8000-000000000002": "jsonl"} {
		if d, err := db.Definition(ctx, id); err != nil || d.ShortName != want {
			t.Errorf("definition %s: short name %q, %v; want %q", id, d.ShortName, err, want)
		}
	}
	for _, c := range conns {
		if _, err := c.ExecContext(ctx, `INSERT INTO jobs (connection_id, type, status, trigger, created_at, updated_at)
			VALUES ('c0000000-0000-4000-8000-000000000001', 'refresh', 'succeeded', 'manual', 't', 't')`); err != nil {
			t.Fatalf("a refresh job: %v", err)
		}
	}
	if err := db.DeleteConnection(ctx, "c0000000-0000-4000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		var n int
		if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil || n != 4 {
			t.Errorf("jobs after deleting their connection: %d, %v; want 4", n, err)
		}
	}
	var check string
	if err := db.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}

// TestMigrateFailureRollsBack verifies that a failing migration leaves no
// trace: neither its earlier statements nor its version row.
func TestMigrateFailureRollsBack(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	fsys := migrationsUpTo(t, 1)
	fsys["0002_broken.sql"] = &fstest.MapFile{Data: []byte(
		"CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);")}
	if _, err := Open(ctx, path, withMigrations(fsys)); err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("got %v, want an error naming the migration", err)
	}
	db, err := Open(ctx, path, withMigrations(migrationsUpTo(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&n)
	if n != 0 {
		t.Error("the failed migration's table exists")
	}
	if v, _ := db.SchemaVersion(ctx); v != 1 {
		t.Errorf("schema version = %d, want 1", v)
	}
}

// TestMigrateNewerDatabase verifies that an older binary refuses a database
// migrated by a newer one instead of running against an unknown schema.
func TestMigrateNewerDatabase(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, path, withMigrations(migrationsUpTo(t, 1)))
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("got %v, want a newer-schema error", err)
	}
}

// TestListMigrationsRejectsGaps verifies that a missing migration file is
// caught instead of silently skipped.
func TestListMigrationsRejectsGaps(t *testing.T) {
	fsys := fstest.MapFS{"0001_a.sql": {}, "0003_c.sql": {}}
	if _, err := listMigrations(fsys); err == nil {
		t.Error("got nil error for a gap")
	}
	if _, err := listMigrations(fstest.MapFS{"1_a.sql": {}}); err == nil {
		t.Error("got nil error for a bad name")
	}
}

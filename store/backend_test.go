package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ferrysync/ferry/store/pgtest"
)

// One suite, two backends: TestMain runs every test on SQLite, then runs
// this test binary again with envBackend=postgres, where openTestDB opens
// a PostgreSQL schema instead of a file. Tests of SQLite's own mechanics
// (pragmas, file modes, VACUUM INTO backups) call sqliteOnly.
const envBackend = "FERRY_STORE_TEST_BACKEND"

func onPostgres() bool { return os.Getenv(envBackend) == "postgres" }

func TestMain(m *testing.M) {
	code := m.Run()
	if onPostgres() {
		os.Exit(code)
	}
	code = max(code, runOnPostgres())
	pgtest.Stop()
	os.Exit(code)
}

// runOnPostgres runs the test binary again against PostgreSQL, with the
// same flags, and returns its exit code.
func runOnPostgres() int {
	u, err := pgtest.URL()
	if err != nil {
		if os.Getenv(pgtest.EnvRequire) == "1" {
			fmt.Fprintf(os.Stderr, "FAIL: the store suite on PostgreSQL: %s=1 but no server: %v\n", pgtest.EnvRequire, err)
			return 1
		}
		fmt.Printf("store: the PostgreSQL run of the suite is skipped: %v\n", err)
		return 0
	}
	fmt.Println("store: the same suite on PostgreSQL")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), envBackend+"=postgres", pgtest.EnvURL+"="+u)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "FAIL: run the suite on PostgreSQL: %v\n", err)
		return 1
	}
	return 0
}

// testTarget returns what Open takes for a fresh test database on the
// backend under test.
func testTarget(t testing.TB) string {
	t.Helper()
	if onPostgres() {
		return pgtest.SchemaURL(t)
	}
	return filepath.Join(t.TempDir(), "ferry.db")
}

func testDialect() dialect {
	if onPostgres() {
		return dialectPostgres
	}
	return dialectSQLite
}

// sqliteOnly skips a test of SQLite's own mechanics on PostgreSQL.
func sqliteOnly(t *testing.T) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only")
	}
}

// TestBackendRebind checks the placeholder rewrite PostgreSQL needs.
func TestBackendRebind(t *testing.T) {
	got := dialectPostgres.rebind(`SELECT a FROM t WHERE b = ? AND c = '?' AND "d?" = ? -- ?`)
	want := `SELECT a FROM t WHERE b = $1 AND c = '?' AND "d?" = $2 -- $3`
	if got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
	if q := `x = ?`; dialectSQLite.rebind(q) != q {
		t.Error("SQLite queries must pass unchanged")
	}
	db, _ := mustOpen(t)
	var n int
	if err := db.queryRowRaw(context.Background(), `SELECT CAST(? AS INTEGER) + CAST(? AS INTEGER)`, 2, 3).Scan(&n); err != nil || n != 5 {
		t.Errorf("SELECT ? + ? = %d, %v; want 5", n, err)
	}
}

// TestMigrationsPaired verifies that every SQLite migration has its
// PostgreSQL form under the same number and name, and the reverse, so a
// database of either kind at version N has the same schema.
func TestMigrationsPaired(t *testing.T) {
	lite, err := listMigrations(embeddedMigrations(dialectSQLite))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := listMigrations(embeddedMigrations(dialectPostgres))
	if err != nil {
		t.Fatalf("PostgreSQL migrations: %v", err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones: write migrations/postgres/ beside every new migration", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d: SQLite %s, PostgreSQL %s", i+1, lite[i].name, pg[i].name)
		}
	}
}

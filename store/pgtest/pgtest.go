// Package pgtest gives tests a PostgreSQL server: the one named by
// FERRY_TEST_POSTGRES_URL, or a throwaway cluster it starts once per test
// binary with initdb and pg_ctl (Debian's postgresql package) in a temp
// dir, on a private port, removed by Stop. Each test gets a schema of its
// own. Without PostgreSQL, tests skip with a message, or fail when
// FERRY_REQUIRE_POSTGRES=1 (as CI sets).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvURL names an existing server to use instead of starting one.
const EnvURL = "FERRY_TEST_POSTGRES_URL"

// EnvRequire makes a missing server a test failure.
const EnvRequire = "FERRY_REQUIRE_POSTGRES"

var (
	once    sync.Once
	baseURL string
	initErr error
	cluster string // the data dir of the cluster we started, if any
	runAs   string // the user the cluster runs as, when we are root
)

// URL returns the server's URL, starting a cluster on first use.
func URL() (string, error) {
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			baseURL = u
			return
		}
		baseURL, initErr = start()
	})
	return baseURL, initErr
}

// Require returns the server's URL, or skips t (fails it under
// FERRY_REQUIRE_POSTGRES=1) when there is none.
func Require(t testing.TB) string {
	t.Helper()
	u, err := URL()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("PostgreSQL is required (%s=1) but unavailable: %v", EnvRequire, err)
		}
		t.Skipf("no PostgreSQL (install postgresql, or set %s): %v", EnvURL, err)
	}
	return u
}

// SchemaURL creates an empty schema for t and returns a URL whose
// connections use it; the schema is dropped when t ends.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := Require(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	return WithSchema(base, schema)
}

// WithSchema returns base with its connections' search_path set to schema.
func WithSchema(base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Stop stops the cluster this process started, if any, and removes it.
func Stop() {
	if cluster == "" {
		return
	}
	_ = pgCmd("pg_ctl", "-D", filepath.Join(cluster, "data"), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(cluster)
	cluster = ""
}

// Main runs the tests of a package that uses pgtest and stops the
// cluster afterwards: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	defer Stop()
	return m.Run()
}

// start runs initdb and pg_ctl start in a new temp dir.
func start() (string, error) {
	initdb, err := findBin("initdb")
	if err != nil {
		return "", err
	}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the cluster as the package's
		// postgres user.
		if _, err := user.Lookup("postgres"); err != nil {
			return "", errors.New("running as root, and there is no postgres user to run the cluster as")
		}
		runAs = "postgres"
	}
	dir, err := os.MkdirTemp("", "ferry-pgtest-")
	if err != nil {
		return "", err
	}
	if runAs != "" {
		if err := exec.Command("chown", runAs, dir).Run(); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	cluster = dir
	data := filepath.Join(dir, "data")
	if out, err := pgCmd(initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--no-sync").CombinedOutput(); err != nil {
		Stop()
		return "", fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	port, err := freePort()
	if err != nil {
		Stop()
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", port, dir)
	ctl, err := findBin("pg_ctl")
	if err != nil {
		Stop()
		return "", err
	}
	if out, err := pgCmd(ctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
		"start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		Stop()
		return "", fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
	}
	u := "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
	db, err := sql.Open("pgx", u)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		Stop()
		return "", fmt.Errorf("connect to the test cluster: %w", err)
	}
	return u, nil
}

// pgCmd runs a PostgreSQL program, as the postgres user when we are root.
func pgCmd(name string, args ...string) *exec.Cmd {
	if runAs != "" {
		return exec.Command("runuser", append([]string{"-u", runAs, "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// findBin finds a PostgreSQL program on PATH or in Debian's versioned
// directory, newest first.
func findBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		p := filepath.Join(dirs[i], name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (apt-get install postgresql)", name)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

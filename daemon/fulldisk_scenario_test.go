package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// mountTmpfs mounts a tmpfs of the given size on a temp dir and unmounts
// it at cleanup: a disk the test can fill. It needs root (or
// CAP_SYS_ADMIN); without it the test skips, or fails under
// FERRY_REQUIRE_DOCKER=1, where CI runs as root.
func mountTmpfs(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", mib)); err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs to fill (%v): the full-disk scenario needs root or CAP_SYS_ADMIN", err)
		if os.Getenv(runnertest.RequireDockerEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount the test's tmpfs: %v", err)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the filesystem is full and returns
// a function that deletes it.
func fillDisk(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	for {
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// integrityCheck runs PRAGMA integrity_check on an open connection.
func integrityCheck(t *testing.T, raw *sql.DB) {
	t.Helper()
	var check string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
}

// TestFullDiskScenario is issue 18's scenario 4 on the real Docker runtime
// with a real `ferry serve`: its data dir is a small tmpfs, which the test
// fills while a sync commits state. The commit that finds no space stops
// the attempt, whose first failure says that Ferry's data directory is
// full (not the destination's "context canceled"); the attempt's end is
// recorded at once from the reserved space (not after minutes of
// retrying), and no attempt starts while the disk is full, so the job is
// never reported succeeded; the database passes integrity_check; the API
// keeps answering; and once space is freed the retry resumes from the
// committed state and succeeds.
func TestFullDiskScenario(t *testing.T) {
	runnertest.RequireDocker(t)
	dataDir := mountTmpfs(t, 64)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	bin := runnertest.BuildBinary(t, "ferry", "./cmd/ferry")
	cfg := dockerConfig(t)
	cfg.DataDir = dataDir
	ctx := context.Background()

	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 300, "state_every": 2, "pace_ms": 20}}, scenario{})
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(filepath.Join(dataDir, reserveName)); err != nil {
		t.Fatalf("no reserve in the data dir: %v", err)
	}

	out := &lockedBuffer{}
	serve := startServe(t, bin, dataDir, out)
	db := openStore(t, cfg)
	raw, err := sql.Open("sqlite", cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Ping(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "state committed", out, func() bool {
		st, err := db.State(ctx, conn.ID)
		var c struct{ Cursor int }
		return err == nil && len(st) == 1 && json.Unmarshal(st[0].Stream.StreamState, &c) == nil && c.Cursor >= 10
	})
	// An empty WAL, so the next commit needs new space.
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	free := fillDisk(t, dataDir)
	filled := time.Now()

	var got *store.Job
	eventually(t, "the attempt recorded as failed", out, func() bool {
		got, err = db.Job(ctx, j.ID)
		return err == nil && got.Status != store.JobRunning
	})
	t.Logf("the attempt's end was recorded %s after the disk filled", time.Since(filled).Round(time.Millisecond))
	if got.Status != store.JobIncomplete || got.Attempts[0].Status != store.AttemptFailed {
		t.Fatalf("job %s, attempt %s; want incomplete and failed; ferry serve said:\n%s", got.Status, got.Attempts[0].Status, out)
	}
	reasons := got.Attempts[0].FailureReasons
	if len(reasons) == 0 || reasons[0].FailureOrigin != protocol.OriginPersistence ||
		!strings.HasPrefix(reasons[0].ExternalMessage, "Ferry's data directory is full: ") {
		t.Errorf("first failure %+v, want persistence, \"Ferry's data directory is full: ...\"", reasons)
	}
	integrityCheck(t, raw)
	checkHealth(t, out)
	if !strings.Contains(out.String(), "no attempt starts until space is freed") {
		t.Errorf("ferry serve did not say it waits for space:\n%s", out)
	}
	if got, err = db.Job(ctx, j.ID); err != nil || got.Status == store.JobSucceeded || got.AttemptCount != 1 {
		t.Errorf("while the disk is full: job %v with %d attempts, %v; want one failed attempt and no success", got.Status, got.AttemptCount, err)
	}

	free()
	eventually(t, "the job ends", out, func() bool {
		got, err = db.Job(ctx, j.ID)
		return err == nil && got.Status.Terminal()
	})
	if got.Status != store.JobSucceeded || got.AttemptCount != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2; ferry serve said:\n%s", got.Status, got.AttemptCount, out)
	}
	if ids := receivedIDs(t, d)["items"]; len(missing(ids, 300)) != 0 {
		t.Errorf("destination missing %v", missing(ids, 300))
	}
	integrityCheck(t, raw)
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("ferry serve after SIGTERM: %v, want exit 0", err)
	}
}

var listenAddr = regexp.MustCompile(`api listening.*addr=(\S+)`)

// checkHealth asks the running `ferry serve` for /healthz.
func checkHealth(t *testing.T, out *lockedBuffer) {
	t.Helper()
	m := listenAddr.FindStringSubmatch(out.String())
	if m == nil {
		t.Errorf("no listen address in ferry serve's log:\n%s", out)
		return
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + strings.Trim(m[1], `"`) + "/healthz")
	if err != nil {
		t.Errorf("the API does not answer on a full disk: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz on a full disk: %s, want 200", resp.Status)
	}
}

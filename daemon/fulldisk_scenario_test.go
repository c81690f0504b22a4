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
	"github.com/ferrysync/ferry/runner"
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

// bindMount mounts dir on target (created if need be) until cleanup.
func bindMount(t *testing.T, dir, target string) {
	t.Helper()
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(dir, target, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount %s on %s: %v", dir, target, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}

// fillDisk writes a file in dir until the filesystem is full and returns
// a function that deletes it.
func fillDisk(t *testing.T, dir string) (free func()) {
	return fillDiskWith(t, filepath.Join(dir, "filler"))
}

// fillDiskWith is fillDisk with the filler file's path.
func fillDiskWith(t *testing.T, path string) (free func()) {
	t.Helper()
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

// truncateWAL empties the database's WAL, so that the next write needs
// new space. A checkpoint that finds a reader busy reports it and does
// not truncate: it is tried again until it does.
func truncateWAL(t *testing.T, raw *sql.DB, dbPath string) {
	t.Helper()
	for range 500 {
		var busy, logFrames, done int
		if err := raw.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(dbPath + "-wal"); busy == 0 && (err != nil || fi.Size() == 0) {
			return
		}
		time.Sleep(10 * time.Millisecond) // a reader holds the WAL: poll
	}
	t.Fatal("the WAL could not be truncated: a reader held it for 5 s")
}

// joinFree returns a function that calls both.
func joinFree(a, b func()) func() { return func() { a(); b() } }

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
	// The destination writes under the data dir's local root: keep it on
	// another disk, so that only Ferry's own writes find no space.
	bindMount(t, t.TempDir(), cfg.LocalRoot())
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
	truncateWAL(t, raw, cfg.StorePath()) // so the next commit needs new space
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

// TestInjectedCommitFailureNeverSucceeds is the other half of scenario 4:
// every state commit of the job fails (injected, as a full disk would,
// the final commit included). The job is never reported succeeded, at any
// of its changes; each attempt fails with the commit as its first reason;
// nothing is committed; and the store stays sound.
func TestInjectedCommitFailureNeverSucceeds(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	cfg.Retry.MaxSuccessiveNoProgress, cfg.Retry.MaxTotalNoProgress = 2, 2
	d := openDaemon(t, cfg, Options{})
	injected := 0
	d.probes.failCommit = func(cp runner.Checkpoint) error {
		injected++
		return runner.StorageFull(errors.New("injected: database or disk is full"))
	}
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 10, "state_every": 2}}, scenario{})
	serve(t, d)
	ctx := context.Background()
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var seen []store.JobStatus
	if err := d.Subscribe(wctx, j.ID, func(j *store.Job) { seen = append(seen, j.Status) }, func(int, string) {}); err != nil {
		t.Fatalf("the job did not end: %v (statuses %v)", err, seen)
	}
	for _, s := range seen {
		if s == store.JobSucceeded {
			t.Fatalf("the job was reported succeeded (statuses %v)", seen)
		}
	}
	got, err := d.db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.JobFailed || got.AttemptCount != 2 || injected == 0 {
		t.Fatalf("job %s after %d attempts (%d commits failed), want failed after 2", got.Status, got.AttemptCount, injected)
	}
	for _, a := range got.Attempts {
		r := a.FailureReasons
		if a.Status != store.AttemptFailed || len(r) == 0 || r[0].FailureOrigin != protocol.OriginPersistence ||
			!strings.HasPrefix(r[0].ExternalMessage, "Ferry's data directory is full: ") {
			t.Errorf("attempt %d: %s, %+v; want failed, the commit first", a.Number, a.Status, r)
		}
	}
	if st := cursors(t, d, conn.ID); len(st) != 0 {
		t.Errorf("committed state %v, want none", st)
	}
}

// TestCancelOnAFullDisk cancels a running sync whose data dir is full:
// the cancel is answered with the job, not refused with 507, and the
// attempt stops. With the reserve in place the cancel and the attempt's
// end are recorded at once; without one (used up already) the attempt
// still stops, and its end is recorded as cancelled once space is freed.
func TestCancelOnAFullDisk(t *testing.T) {
	for _, reserve := range []bool{true, false} {
		t.Run(fmt.Sprintf("reserve=%v", reserve), func(t *testing.T) { cancelOnAFullDisk(t, reserve) })
	}
}

func cancelOnAFullDisk(t *testing.T, reserve bool) {
	cfg := testConfig(t, scriptedDir(t))
	cfg.DataDir = mountTmpfs(t, 32)
	bindMount(t, t.TempDir(), cfg.LocalRoot()) // the destination's disk is not the one filled
	d := openDaemon(t, cfg, Options{})
	stopped := make(chan struct{}, 1)
	d.probes.finishRetry = func(error) {
		select {
		case stopped <- struct{}{}:
		default:
		}
	}
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 100, "state_every": 2, "hang_after_record": 4}}, scenario{})
	serve(t, d)
	ctx := context.Background()
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	waitCommitted(t, d, j.ID, 4)
	truncateWAL(t, raw, cfg.StorePath())
	free := fillDisk(t, cfg.DataDir)
	if !reserve {
		// Used up: deleted once the disk is full (before, the dispatcher
		// would make it again), and its space filled too.
		if err := os.Remove(filepath.Join(cfg.DataDir, reserveName)); err != nil {
			t.Fatal(err)
		}
		free = joinFree(free, fillDiskWith(t, filepath.Join(cfg.DataDir, "filler2")))
	}
	start := time.Now()
	got, err := d.Cancel(ctx, j.ID)
	if err != nil {
		t.Fatalf("Cancel on a full disk: %v, want the job", err)
	}
	if !reserve {
		if got.Status != store.JobRunning {
			t.Errorf("Cancel returned the job %s, want it as stored: running", got.Status)
		}
		select {
		case <-stopped: // the attempt has ended, and its end waits for space
		case <-time.After(2 * time.Minute):
			t.Fatal("the attempt's end was never retried: was the disk full for the store?")
		}
		t.Logf("the attempt stopped %s after the cancel", time.Since(start).Round(time.Millisecond))
		free()
	}
	got = waitJob(t, d, j.ID)
	if got.Status != store.JobCancelled || got.Attempts[0].Status != store.AttemptCancelled {
		t.Fatalf("job %s, attempt %s; want both cancelled", got.Status, got.Attempts[0].Status)
	}
	if took := time.Since(start); reserve && took > 15*time.Second {
		t.Errorf("the cancel took %s, want seconds", took)
	}
	integrityCheck(t, raw)
}

package daemon

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// lockedBuffer collects a subprocess's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs `ferry serve` on dataDir as a subprocess.
func startServe(t *testing.T, bin, dataDir string, out *lockedBuffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--runtime", "docker", "--no-demo", "--shutdown-grace", "5s",
		// Any free port: the test does not use the API, and 8000 may be taken.
		"--listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ferry serve: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// openStore opens a data dir's store beside a running daemon (SQLite in
// WAL mode lets two processes share it).
func openStore(t *testing.T, cfg Config) *store.DB {
	t.Helper()
	key, err := store.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.StorePath(), store.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eventually polls cond until it holds or a minute passes.
func eventually(t *testing.T, what string, out *lockedBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up waiting; ferry serve said:\n%s", what, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKillNineMidSync kills `ferry serve` with SIGKILL while a sync hangs
// after committing state, then starts it again (G6): the old attempt is
// failed ("daemon restarted"), the orphaned containers are removed, and the
// retry resumes from the committed state with no record lost.
func TestKillNineMidSync(t *testing.T) {
	c := runnertest.RequireDocker(t)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	bin := runnertest.BuildBinary(t, "ferry", "./cmd/ferry")
	cfg := dockerConfig(t)
	ctx := context.Background()

	// Prepare the data dir: a connection whose source hangs after record
	// 8 (states every 2), and a pending job.
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 20, "state_every": 2, "hang_after_record": 8}}, scenario{})
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()

	out := &lockedBuffer{}
	first := startServe(t, bin, cfg.DataDir, out)
	db := openStore(t, cfg)
	eventually(t, "cursor 8 committed", out, func() bool {
		st, err := db.State(ctx, conn.ID)
		return err == nil && len(st) == 1 && string(st[0].Stream.StreamState) == `{"cursor":8}`
	})
	if cs, _ := leftovers(t, c, d.InstanceID()); cs != 2 {
		t.Fatalf("%d containers running mid-sync, want the source and the destination", cs)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if cs, _ := leftovers(t, c, d.InstanceID()); cs != 2 {
		t.Fatalf("%d containers after kill -9, want the 2 orphans the restart must remove", cs)
	}

	// The source no longer hangs; restart.
	src, err := db.Actor(ctx, store.KindSource, conn.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	src.Config = scenario{Source: map[string]any{"records": 20, "state_every": 2}}.json(t)
	if err := db.UpdateActor(ctx, src); err != nil {
		t.Fatal(err)
	}
	second := startServe(t, bin, cfg.DataDir, out)
	var final *store.Job
	eventually(t, "the job ends", out, func() bool {
		final, err = db.Job(ctx, j.ID)
		return err == nil && final.Status.Terminal()
	})
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Errorf("ferry serve after SIGTERM: %v, want exit 0", err)
	}

	if final.Status != store.JobSucceeded || final.AttemptCount != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2; ferry serve said:\n%s", final.Status, final.AttemptCount, out)
	}
	old := final.Attempts[0]
	if old.Status != store.AttemptFailed || len(old.FailureReasons) == 0 || old.FailureReasons[0].ExternalMessage != restartMessage {
		t.Errorf("killed attempt: %s %+v, want failed with %q", old.Status, old.FailureReasons, restartMessage)
	}
	if n := final.Attempts[1].Stats.RecordsEmitted; n != 12 {
		t.Errorf("the retry emitted %d records, want 12 (9..20, resumed from cursor 8)", n)
	}
	if ids := receivedIDs(t, d)["items"]; len(missing(ids, 20)) != 0 {
		t.Errorf("destination got %v, missing %v", ids, missing(ids, 20))
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}

package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/ferrysync/ferry/failpoint"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// sweepLimit is how long a restart may take to remove a killed attempt's
// containers and volumes (scenario 3).
const sweepLimit = 30 * time.Second

// startServeAt runs `ferry serve` on dataDir with the failpoint fp armed
// (none when empty) and generous retry limits, so that five kills in a
// row stay within one job's attempts.
func startServeAt(t *testing.T, bin, dataDir, fp string, out *lockedBuffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--runtime", "docker", "--no-demo", "--shutdown-grace", "5s",
		"--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), failpoint.Env+"="+fp,
		"FERRY_RETRY_MAX_SUCCESSIVE_NO_PROGRESS=10", "FERRY_RETRY_MAX_TOTAL_NO_PROGRESS=10",
		"FERRY_RETRY_MAX_TOTAL_WITH_PROGRESS=20")
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

// attemptLeftovers counts the containers and volumes of one attempt.
func attemptLeftovers(t *testing.T, c *client.Client, instanceID string, jobID int64, attempt int) int {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", runner.LabelInstance+"="+instanceID),
		filters.Arg("label", runner.LabelJob+"="+strconv.FormatInt(jobID, 10)),
		filters.Arg("label", runner.LabelAttempt+"="+strconv.Itoa(attempt)))
	cs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	vs, err := c.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	return len(cs) + len(vs.Volumes)
}

// overlapWatch samples, until stopped, the attempts the store says are
// running and the attempts whose containers run, and records every sample
// where two attempts of the job ran at once.
type overlapWatch struct {
	mu      sync.Mutex
	samples int
	bad     []string
	stop    chan struct{}
	done    chan struct{}
}

func watchOverlap(t *testing.T, c *client.Client, db *store.DB, instanceID string, jobID int64) *overlapWatch {
	w := &overlapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	f := filters.NewArgs(filters.Arg("label", runner.LabelInstance+"="+instanceID),
		filters.Arg("status", "running"))
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			var running []int
			if j, err := db.Job(context.Background(), jobID); err == nil {
				for _, a := range j.Attempts {
					if a.Status == store.AttemptRunning {
						running = append(running, a.Number)
					}
				}
			}
			live := map[string]bool{}
			if cs, err := c.ContainerList(context.Background(), container.ListOptions{Filters: f}); err == nil {
				for _, ct := range cs {
					live[ct.Labels[runner.LabelAttempt]] = true
				}
			}
			w.mu.Lock()
			w.samples++
			if len(running) > 1 || len(live) > 1 {
				w.bad = append(w.bad, fmt.Sprintf("running attempts in the store %v, with running containers %v", running, live))
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.end)
	return w
}

// end stops the sampling; it may be called more than once.
func (w *overlapWatch) end() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// killStep is one of scenario 3's kills.
type killStep struct {
	what      string
	failpoint string
	// records, when set, is the source's record count from this step on:
	// new rows arrived, so the retry has work to be killed in.
	records int
}

// TestKillNineAtFailpoints is scenario 3 of issue 18 on real Docker: one
// job's sync is killed with SIGKILL five times, each time paused at a
// failpoint so the kill lands exactly there, and restarted. After each
// restart the killed attempt's containers and volumes are gone within
// sweepLimit, the attempt is failed ("daemon restarted"), and the next
// attempt's source receives the state committed when the process died;
// a poller finds no two attempts running at once; finally the job
// succeeds with every record at the destination, and a sixth kill just
// after its success was recorded leaves it succeeded, with no retry.
func TestKillNineAtFailpoints(t *testing.T) {
	c := runnertest.RequireDocker(t)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	bin := runnertest.BuildBinaryTags(t, "ferry-failpoints", "./cmd/ferry", "ferry_failpoints")
	cfg := dockerConfig(t)
	ctx := context.Background()

	// The source flushes after each record (pace_ms), so that the
	// destination's acknowledgements arrive apart and mid-sync commits
	// happen one by one: a burst could be committed in one go, and the
	// second commit that kill 2 waits for would never come.
	source := func(records int) scenario {
		return scenario{Source: map[string]any{"records": records, "state_every": 2, "pace_ms": 10, "log_input_state": true}}
	}
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	conn := scriptedConnection(t, d, source(30), scenario{})
	j, err := d.Trigger(ctx, conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	db := openStore(t, cfg)
	watch := watchOverlap(t, c, db, d.InstanceID(), j.ID)

	steps := []killStep{
		{what: "while the source's container starts", failpoint: failpoint.DockerStartSource},
		{what: "mid-stream, after states were committed", failpoint: failpoint.CheckpointCommitted + "@2"},
		{what: "inside the final commit's transaction", failpoint: failpoint.FinalCommit},
		{what: "after the runner's last commit, before the attempt's end is recorded", failpoint: failpoint.BeforeFinish},
		{what: "mid-stream in a retry with new rows to read", failpoint: failpoint.CheckpointCommitted + "@1", records: 60},
	}
	total := 30
	// committed[n] is the state committed when attempt n was killed: what
	// attempt n+1 must start from. Attempt 1 starts from none.
	committed := map[int]string{}
	var all lockedBuffer
	for i, step := range steps {
		if step.records > 0 {
			total = step.records
			if err := db.UpdateActorConfig(ctx, store.KindSource, conn.SourceID, source(total).json(t)); err != nil {
				t.Fatal(err)
			}
		}
		out := &lockedBuffer{}
		restarted := time.Now()
		srv := startServeAt(t, bin, cfg.DataDir, step.failpoint, out)
		if i > 0 {
			checkRecovered(t, c, db, d.InstanceID(), j.ID, i, restarted, out)
		}
		name := strings.SplitN(step.failpoint, "@", 2)[0]
		eventually(t, "pause at "+step.failpoint, out, func() bool {
			return strings.Contains(out.String(), failpoint.Marker+name)
		})
		n := runningAttempt(t, db, j.ID)
		if n != i+1 {
			t.Fatalf("kill %d (%s): attempt %d runs, want %d", i+1, step.what, n, i+1)
		}
		if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = srv.Wait()
		all.Write([]byte(out.String()))
		// What died with the process did not land: the attempt still
		// runs in the store (at the final commit: its success, state and
		// stats were rolled back together, G4).
		if got := runningAttempt(t, db, j.ID); got != n {
			t.Fatalf("kill %d (%s): after the kill the store says attempt %d runs, want %d", i+1, step.what, got, n)
		}
		committed[n] = committedCursor(t, db, conn.ID)
		t.Logf("kill %d (%s): attempt %d killed with state %s committed", i+1, step.what, n, committed[n])
	}

	// The last attempt succeeds, and a sixth kill lands just after its
	// end was recorded: the job is succeeded in the store already, so
	// the next start has nothing to recover and starts no attempt.
	out := &lockedBuffer{}
	restarted := time.Now()
	srv := startServeAt(t, bin, cfg.DataDir, failpoint.AfterFinish, out)
	checkRecovered(t, c, db, d.InstanceID(), j.ID, len(steps), restarted, out)
	eventually(t, "pause at "+failpoint.AfterFinish, out, func() bool {
		return strings.Contains(out.String(), failpoint.Marker+failpoint.AfterFinish)
	})
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	all.Write([]byte(out.String()))
	final, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != store.JobSucceeded {
		t.Fatalf("killed after the final commit: job %s, want succeeded; ferry serve said:\n%s", final.Status, all.String())
	}
	out = &lockedBuffer{}
	srv = startServeAt(t, bin, cfg.DataDir, "", out)
	eventually(t, "the restart serves", out, func() bool { return strings.Contains(out.String(), `msg=serving`) })
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	watch.end()
	again, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != store.JobSucceeded || again.AttemptCount != final.AttemptCount {
		t.Errorf("after a restart: job %s with %d attempts, want it succeeded with %d, untouched", again.Status, again.AttemptCount, final.AttemptCount)
	}

	if final.Status != store.JobSucceeded || final.AttemptCount != len(steps)+1 {
		t.Fatalf("job %s after %d attempts, want succeeded after %d; ferry serve said:\n%s%s", final.Status, final.AttemptCount, len(steps)+1, all.String(), out)
	}
	for _, a := range final.Attempts {
		want := committed[a.Number-1]
		if a.Number == 1 {
			want = "" // killed before its source started
		}
		if got := inputState(t, cfg, j.ID, a.Number); got != want {
			t.Errorf("attempt %d started from state %s, want %s (committed when attempt %d was killed)", a.Number, got, want, a.Number-1)
		}
	}
	if ids := receivedIDs(t, d)["items"]; len(missing(ids, int64(total))) != 0 {
		t.Errorf("destination got %v, missing %v", ids, missing(ids, int64(total)))
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if len(watch.bad) > 0 {
		t.Errorf("two attempts ran at once in %d of %d samples, e.g. %s", len(watch.bad), watch.samples, watch.bad[0])
	}
	t.Logf("overlap poller: %d samples, %d with two attempts running", watch.samples, len(watch.bad))
	if watch.samples < 10 {
		t.Errorf("the overlap poller took %d samples, too few to mean anything", watch.samples)
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}

// checkRecovered checks a restart's recovery of killed attempt n: its
// containers and volumes go within sweepLimit, and it is failed with the
// restart message.
func checkRecovered(t *testing.T, c *client.Client, db *store.DB, instanceID string, jobID int64, n int, restarted time.Time, out *lockedBuffer) {
	t.Helper()
	eventually(t, fmt.Sprintf("attempt %d's containers and volumes removed", n), out, func() bool {
		return attemptLeftovers(t, c, instanceID, jobID, n) == 0
	})
	took := time.Since(restarted)
	t.Logf("attempt %d's leftovers gone %v after the restart", n, took.Round(time.Millisecond))
	if took > sweepLimit {
		t.Errorf("attempt %d's leftovers went %v after the restart, want within %v", n, took, sweepLimit)
	}
	eventually(t, fmt.Sprintf("attempt %d failed", n), out, func() bool {
		j, err := db.Job(context.Background(), jobID)
		return err == nil && len(j.Attempts) >= n && j.Attempts[n-1].Status != store.AttemptRunning
	})
	j, err := db.Job(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	a := j.Attempts[n-1]
	if a.Status != store.AttemptFailed || len(a.FailureReasons) == 0 || a.FailureReasons[0].ExternalMessage != restartMessage {
		t.Errorf("killed attempt %d: %s %+v, want failed with %q", n, a.Status, a.FailureReasons, restartMessage)
	}
}

// runningAttempt returns the number of the job's running attempt, or 0.
func runningAttempt(t *testing.T, db *store.DB, jobID int64) int {
	t.Helper()
	j, err := db.Job(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range j.Attempts {
		if a.Status == store.AttemptRunning {
			return a.Number
		}
	}
	return 0
}

// committedCursor returns the committed stream_state of stream items, as
// JSON, or "none".
func committedCursor(t *testing.T, db *store.DB, connID string) string {
	t.Helper()
	states, err := db.State(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Stream != nil && s.Stream.StreamDescriptor.Name == "items" {
			return string(s.Stream.StreamState)
		}
	}
	return "none"
}

// inputState returns the state attempt n's source said it started from
// (log_input_state), or "" when its log has no such line.
func inputState(t *testing.T, cfg Config, jobID int64, n int) string {
	t.Helper()
	b, err := os.ReadFile(store.LogPath(cfg.DataDir, jobID, n))
	if err != nil {
		t.Fatalf("attempt %d's log: %v", n, err)
	}
	const prefix = "input state of items: "
	for _, line := range strings.Split(string(b), "\n") {
		if _, rest, ok := strings.Cut(line, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

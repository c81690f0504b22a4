package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// cancelPoint is a moment of a socket-mode retry at which
// TestCancelAtEveryPointOfARetry cancels the job.
type cancelPoint struct {
	name string
	// role and marker: cancel when a connector of that role is run
	// (marker "") or first writes marker on its stdout.
	role   runner.Role
	marker string
}

// TestCancelAtEveryPointOfARetry is issue 18's slow cancel (31.5 s, 0.8 s
// into an automatic retry in socket mode) on the real Docker runtime: the
// first attempt fails (the destination crashes), and the job is cancelled
// at each point of its retry, found from events, not sleeps: while it
// waits for its backoff; as the source's container is being created; as
// the source starts listening on its sockets (the SIGTERM then arrived
// before the source listened, and cdk's listener overwrote the stop with
// its 15-minute accept deadline, so the source waited for Docker's SIGKILL
// after the 30 s stop grace); as the destination connects; and mid-stream.
// Each cancel must end the job within a few seconds. connector-scripted
// has no stop watchdog, so a lost stop shows as the full grace.
func TestCancelAtEveryPointOfARetry(t *testing.T) {
	runnertest.RequireDocker(t)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	t.Run("in backoff", cancelInBackoff)
	for _, p := range []cancelPoint{
		{name: "source starting", role: runner.RoleSource},
		{name: "source about to listen", role: runner.RoleSource, marker: "waiting for the destination to connect"},
		{name: "destination connecting", role: runner.RoleDestination, marker: "connecting to the source's sockets"},
		{name: "mid-stream", role: runner.RoleSource, marker: `"type":"STATE"`},
	} {
		t.Run(p.name, func(t *testing.T) { cancelInRetry(t, p) })
	}
}

// cancelGrace is how long a cancel may take to end the job: stopping two
// containers and removing them and their volume on a loaded machine.
const cancelGrace = 10 * time.Second

// cancelInBackoff cancels while the job waits for its retry.
func cancelInBackoff(t *testing.T) {
	cfg := dockerConfig(t)
	cfg.Retry.BackoffBase, cfg.Retry.BackoffMax, cfg.Retry.MinBackoff = time.Hour, time.Hour, time.Hour
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 20, "state_every": 2}},
		scenario{Destination: map[string]any{"crash_after_records": 3}})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, d, j.ID, func(j *store.Job) bool { return j.Status == store.JobIncomplete })
	expectPromptCancel(t, d, j.ID, 1)
}

// cancelInRetry cancels the retry's attempt at point p.
func cancelInRetry(t *testing.T, p cancelPoint) {
	cfg := dockerConfig(t)
	id := fmt.Sprintf("cancel-%d", time.Now().UnixNano())
	inner, err := dockerRuntime(context.Background(), cfg, id, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = inner.Sweep(ctx, id, nil)
	})
	rt := &cancelingRuntime{Runtime: inner, point: p, fire: make(chan struct{})}
	d := openDaemon(t, cfg, Options{Runtime: rt, Sweeper: inner})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 400, "state_every": 2, "pace_ms": 20}},
		scenario{Destination: map[string]any{"crash_after_records": 3}})
	serve(t, d)
	j, err := d.Trigger(context.Background(), conn.ID, store.JobSync)
	if err != nil {
		t.Fatal(err)
	}
	// Arm the trap once the first attempt has failed: the retry's
	// connectors spring it.
	waitStatus(t, d, j.ID, func(j *store.Job) bool { return j.Status == store.JobIncomplete })
	rt.arm()
	select {
	case <-rt.fire:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the retry never reached %q", p.name)
	}
	expectPromptCancel(t, d, j.ID, 2)
}

// expectPromptCancel cancels the job and waits for it to end cancelled
// with the given number of attempts, within cancelGrace.
func expectPromptCancel(t *testing.T, d *Daemon, jobID int64, attempts int) {
	t.Helper()
	start := time.Now()
	if _, err := d.Cancel(context.Background(), jobID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	got := waitJob(t, d, jobID)
	took := time.Since(start)
	t.Logf("the cancel took %s", took.Round(time.Millisecond))
	if got.Status != store.JobCancelled || got.AttemptCount != attempts {
		t.Fatalf("job %s with %d attempts, want cancelled with %d", got.Status, got.AttemptCount, attempts)
	}
	if took > cancelGrace {
		t.Errorf("the cancel took %s, want under %s", took, cancelGrace)
	}
}

// waitStatus follows a job until cond holds.
func waitStatus(t *testing.T, d *Daemon, jobID int64, cond func(*store.Job) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub, stop := context.WithCancel(ctx)
	defer stop()
	reached := false
	_ = d.Subscribe(sub, jobID, func(j *store.Job) {
		if cond(j) {
			reached = true
			stop()
		}
	}, func(int, string) {})
	if !reached {
		t.Fatalf("job %d never reached the awaited status", jobID)
	}
}

// cancelingRuntime is the Docker runtime with a trap: once armed, it
// closes fire when the point's connector is run or first writes the
// point's marker on its stdout.
type cancelingRuntime struct {
	*docker.Runtime
	point cancelPoint
	fire  chan struct{}

	mu    sync.Mutex
	armed bool
	fired bool
}

func (r *cancelingRuntime) arm() {
	r.mu.Lock()
	r.armed = true
	r.mu.Unlock()
}

// spring closes fire once, if armed.
func (r *cancelingRuntime) spring() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.armed && !r.fired {
		r.fired = true
		close(r.fire)
	}
}

func (r *cancelingRuntime) Run(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	if spec.Role == r.point.role {
		if r.point.marker == "" {
			r.spring()
		} else {
			stdio.Out = &markerWriter{w: stdio.Out, marker: []byte(r.point.marker), found: r.spring}
		}
	}
	return r.Runtime.Run(ctx, spec, stdio)
}

// markerWriter calls found when marker passes through it (within one
// write, which is how the connectors' short log lines arrive).
type markerWriter struct {
	w      io.Writer
	marker []byte
	found  func()
}

func (m *markerWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, m.marker) {
		m.found()
	}
	return m.w.Write(p)
}

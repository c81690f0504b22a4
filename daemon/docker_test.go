package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// dockerConfig is testConfig on the Docker runtime.
func dockerConfig(t *testing.T) Config {
	cfg := testConfig(t, t.TempDir())
	cfg.Runtime.Kind = RuntimeDocker
	return cfg
}

// leftovers lists the containers and volumes labelled with an instance.
func leftovers(t *testing.T, c *client.Client, instanceID string) (containers, volumes int) {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", runner.LabelInstance+"="+instanceID))
	cs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	vs, err := c.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	return len(cs), len(vs.Volumes)
}

// sweepAtCleanup removes whatever the test's instance left on the engine,
// and only that.
func sweepAtCleanup(t *testing.T, d *Daemon) {
	t.Cleanup(func() {
		if d.sweeper != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = d.sweeper.Sweep(ctx, d.InstanceID(), nil)
		}
	})
}

// TestDockerQueueAndRetry runs the retry scenario on the Docker runtime:
// the destination container crashes every 8 records, each retry resumes
// from the committed state, no record is lost, and no container is left.
func TestDockerQueueAndRetry(t *testing.T) {
	c := runnertest.RequireDocker(t)
	runnertest.BuildImage(t, "connector-scripted", scriptedPkg)
	d := openDaemon(t, dockerConfig(t), Options{})
	sweepAtCleanup(t, d)
	if d.Runtime().Name() != RuntimeDocker {
		t.Fatalf("runtime %s, want docker", d.Runtime().Name())
	}
	conn := scriptedConnection(t, d,
		scenario{Source: map[string]any{"records": 20, "state_every": 3}},
		scenario{Destination: map[string]any{"crash_after_records": 8}})
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobSucceeded || j.AttemptCount < 3 {
		t.Fatalf("job %s after %d attempts, want succeeded after at least 3", j.Status, j.AttemptCount)
	}
	if got := receivedIDs(t, d)["items"]; len(missing(got, 20)) != 0 {
		t.Errorf("destination got %v, missing %v", got, missing(got, 20))
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}

// TestDockerDemoOnSchedule is the end-to-end test of a first start on
// Docker: the reference connectors are registered from their images, the
// demo connection faker → JSONL syncs at once, then again when its
// schedule comes due (on an injected clock), and the jobs, their stats and
// the committed state are in the store.
func TestDockerDemoOnSchedule(t *testing.T) {
	c := runnertest.RequireDocker(t)
	for _, name := range []string{"source-faker", "destination-jsonl", "connector-scripted"} {
		runnertest.BuildImage(t, name, "./connectors/"+name)
	}
	start := time.Now().UTC()
	clock := &fakeClock{t: start}
	cfg := dockerConfig(t)
	// The test runs the scheduler's tick itself once the clock has moved;
	// the loop's own ticks (its first one sees nothing due) stay out of it.
	cfg.Scheduler.Tick = time.Hour
	d := openDaemon(t, cfg, Options{Bootstrap: true, Now: clock.Now})
	sweepAtCleanup(t, d)
	ctx := context.Background()
	defs, total, err := d.db.Definitions(ctx, store.DefinitionFilter{})
	if err != nil || total != len(ReferenceConnectors) {
		t.Fatalf("definitions: %d (%v), want %d", total, err, len(ReferenceConnectors))
	}
	for _, def := range defs {
		if def.Spec == nil || def.IPCOptions == nil {
			t.Errorf("definition %s: spec %v, IPC options %v; want both read from the image", def.Name, def.Spec != nil, def.IPCOptions)
		}
	}
	conns, _, err := d.db.Connections(ctx, store.ConnectionFilter{})
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections: %d (%v), want the demo", len(conns), err)
	}
	demo := conns[0]
	jobs := jobsOf(t, d, demo.ID)
	if len(jobs) != 1 || jobs[0].Trigger != store.TriggerManual {
		t.Fatalf("jobs at first start: %+v, want one manual job", jobs)
	}
	serve(t, d)
	first := waitJob(t, d, jobs[0].ID)
	if first.Status != store.JobSucceeded || len(JobWarnings(first)) != 0 {
		t.Fatalf("first demo sync: %s, warnings %q; want a plain success", first.Status, JobWarnings(first))
	}

	// An hour later the schedule fires: the tick creates the job, and the
	// trigger wakes the dispatcher.
	now := start.Add(time.Duration(DemoInterval)*time.Second + time.Second)
	clock.Set(now)
	d.scheduleTick(ctx, now)
	js := jobsOf(t, d, demo.ID)
	if len(js) != 2 || js[0].Trigger != store.TriggerSchedule {
		t.Fatalf("jobs after the interval: %+v, want the first and a scheduled one", js)
	}
	second := waitJob(t, d, js[0].ID)
	if second.Status != store.JobSucceeded {
		t.Fatalf("scheduled demo sync: %s, want succeeded", second.Status)
	}
	a := second.Attempts[0]
	if a.Stats.RecordsCommitted == 0 && first.Attempts[0].Stats.RecordsCommitted == 0 {
		t.Errorf("no records committed by either sync")
	}
	if len(a.Stats.Streams) != 3 {
		t.Errorf("stream stats %+v, want users, products and purchases", a.Stats.Streams)
	}
	states, err := d.db.State(ctx, demo.ID)
	if err != nil || len(states) == 0 {
		t.Errorf("committed state: %v (%v), want some", states, err)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.LocalRoot(), "demo", "users.jsonl")); err != nil {
		t.Errorf("demo output: %v", err)
	}
	if cs, vs := leftovers(t, c, d.InstanceID()); cs != 0 || vs != 0 {
		t.Errorf("left %d containers and %d volumes, want none", cs, vs)
	}
}

package docker

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// timedEngine adds up the time spent in each engine call.
type timedEngine struct {
	engine
	mu      sync.Mutex
	total   map[string]time.Duration
	started time.Time
}

func (e *timedEngine) add(name string, since time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.total[name] += time.Since(since)
}

func (e *timedEngine) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error) {
	defer e.add("inspect-image", time.Now())
	return e.engine.ImageInspect(ctx, ref, opts...)
}

func (e *timedEngine) ContainerCreate(ctx context.Context, c *container.Config, h *container.HostConfig, n *network.NetworkingConfig, p *ocispec.Platform, name string) (container.CreateResponse, error) {
	defer e.add("create", time.Now())
	return e.engine.ContainerCreate(ctx, c, h, n, p, name)
}

func (e *timedEngine) CopyToContainer(ctx context.Context, id, path string, content io.Reader, opts container.CopyToContainerOptions) error {
	defer e.add("copy", time.Now())
	return e.engine.CopyToContainer(ctx, id, path, content, opts)
}

func (e *timedEngine) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	defer e.add("attach", time.Now())
	return e.engine.ContainerAttach(ctx, id, opts)
}

func (e *timedEngine) ContainerStart(ctx context.Context, id string, opts container.StartOptions) error {
	defer e.add("start", time.Now())
	err := e.engine.ContainerStart(ctx, id, opts)
	e.mu.Lock()
	e.started = time.Now()
	e.mu.Unlock()
	return err
}

// ContainerWait times from the end of start to the exit notice: the
// connector's own run time (exit 0 at once) plus the engine's teardown.
func (e *timedEngine) ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	waitC, errC := e.engine.ContainerWait(ctx, id, cond)
	out := make(chan container.WaitResponse, 1)
	go func() {
		if w, ok := <-waitC; ok {
			e.mu.Lock()
			e.total["wait"] += time.Since(e.started)
			e.mu.Unlock()
			out <- w
		}
	}()
	return out, errC
}

func (e *timedEngine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	defer e.add("inspect", time.Now())
	return e.engine.ContainerInspect(ctx, id)
}

func (e *timedEngine) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	defer e.add("remove", time.Now())
	return e.engine.ContainerRemove(ctx, id, opts)
}

// BenchmarkRunOverhead measures what one Run costs beyond the connector's
// own work: a testconn that exits at once, with a config file copied in,
// as for spec/check/discover. It reports each engine call in ms/op.
//
//	go test -run '^$' -bench RunOverhead -benchtime 20x ./runner/docker/
func BenchmarkRunOverhead(b *testing.B) {
	c := runnertest.RequireDocker(b)
	img := runnertest.BuildImage(b, "testconn", runnertest.TestconnPkg)
	te := &timedEngine{engine: c, total: map[string]time.Duration{}}
	rt, err := New(te, Options{InstanceID: "bench-overhead"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Sweep(context.Background(), "bench-overhead", nil) })
	spec := runner.ConnectorSpec{
		Name: "ferry-bench", Image: img, Args: []string{"cat", "/config/connectorConfig.json"},
		WorkDir: "/config", NetworkMode: os.Getenv("BENCH_NETWORK"), Files: map[string][]byte{"/config/connectorConfig.json": []byte(`{"host":"x"}`)},
	}
	b.ResetTimer()
	for b.Loop() {
		status, err := rt.Run(b.Context(), spec, runner.Stdio{Out: io.Discard, Err: io.Discard})
		if err != nil || status.Code != 0 {
			b.Fatalf("Run: got %+v, %v", status, err)
		}
	}
	b.StopTimer()
	for name, d := range te.total {
		b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), name+"-ms/op")
	}
}

package docker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ferrysync/ferry/runner"
)

// fakeEngine scripts the engine for orchestration tests. Unset methods of
// the embedded interface panic, so a test notices a call it did not expect.
type fakeEngine struct {
	engine
	mu      sync.Mutex
	calls   []string
	stdout  string // written to the attach stream once started
	start   func() error
	wait    func() (<-chan container.WaitResponse, <-chan error)
	inspect func() (container.InspectResponse, error)
	stop    func() error
	created func(ctx context.Context)
	server  net.Conn // the engine's end of the attach stream
}

var _ engine = (*fakeEngine)(nil)

func (f *fakeEngine) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeEngine) called(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (f *fakeEngine) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	f.record("image")
	cfg := &dockerspec.DockerOCIImageConfig{}
	cfg.Entrypoint = []string{"/connector"}
	return image.InspectResponse{ID: "sha256:img", Config: cfg}, nil
}

func (f *fakeEngine) ContainerCreate(ctx context.Context, _ *container.Config, _ *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	f.record("create")
	if f.created != nil {
		f.created(ctx)
	}
	return container.CreateResponse{ID: "c1"}, nil
}

func (f *fakeEngine) ContainerAttach(ctx context.Context, id string, _ container.AttachOptions) (types.HijackedResponse, error) {
	f.record("attach")
	if err := ctx.Err(); err != nil {
		return types.HijackedResponse{}, err
	}
	client, server := net.Pipe()
	f.server = server
	return types.NewHijackedResponse(client, ""), nil
}

func (f *fakeEngine) ContainerWait(ctx context.Context, id string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.record("wait")
	if f.wait == nil {
		// Like the client: the error channel reports the context's end.
		errC := make(chan error, 1)
		go func() { <-ctx.Done(); errC <- ctx.Err() }()
		return nil, errC
	}
	return f.wait()
}

func (f *fakeEngine) ContainerStart(ctx context.Context, id string, _ container.StartOptions) error {
	f.record("start")
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.start != nil {
		if err := f.start(); err != nil {
			return err
		}
	}
	// The "container" writes its output and ends the stream.
	go func() {
		stdcopy.NewStdWriter(f.server, stdcopy.Stdout).Write([]byte(f.stdout))
		f.server.Close()
	}()
	return nil
}

func (f *fakeEngine) ContainerStop(ctx context.Context, id string, _ container.StopOptions) error {
	f.record("stop")
	return f.stop()
}

func (f *fakeEngine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	f.record("inspect")
	return f.inspect()
}

func (f *fakeEngine) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	f.record("remove")
	if ctx.Err() != nil || !opts.Force {
		return errors.New("remove on a cancelled context or without force")
	}
	return nil
}

func exitedWith(code int) func() (container.InspectResponse, error) {
	return func() (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
			State: &container.State{Status: "exited", ExitCode: code},
		}}, nil
	}
}

func newFakeRuntime(t *testing.T, f *fakeEngine) *Runtime {
	rt, err := New(f, Options{InstanceID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

var spec = runner.ConnectorSpec{Name: "n", Image: "ferry/x:dev", Args: []string{"spec"}}

// TestRunStartFails verifies that a failed start is reported in short form
// and the created container is still removed.
func TestRunStartFails(t *testing.T) {
	f := &fakeEngine{
		start: func() error {
			return errors.New(`Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/connector": permission denied: unknown`)
		},
	}
	_, err := newFakeRuntime(t, f).Run(t.Context(), spec, runner.Stdio{Out: io.Discard})
	if want := `start ferry/x:dev: exec: "/connector": permission denied`; err == nil || err.Error() != want {
		t.Errorf("Run: got %v, want %q", err, want)
	}
	if f.called("remove") != 1 {
		t.Errorf("calls %v: want one remove", f.calls)
	}
}

// TestRunWaitBreaks verifies that a broken wait request falls back to
// polling inspect, and the output still arrives whole.
func TestRunWaitBreaks(t *testing.T) {
	errC := make(chan error, 1)
	errC <- errors.New("unexpected EOF")
	f := &fakeEngine{
		stdout:  "hello\n",
		wait:    func() (<-chan container.WaitResponse, <-chan error) { return nil, errC },
		inspect: exitedWith(3),
	}
	var out bytes.Buffer
	status, err := newFakeRuntime(t, f).Run(t.Context(), spec, runner.Stdio{Out: &out})
	if err != nil || status != (runner.ExitStatus{Code: 3}) {
		t.Errorf("Run: got %+v, %v, want exit code 3", status, err)
	}
	if out.String() != "hello\n" {
		t.Errorf("stdout: got %q, want %q", out.String(), "hello\n")
	}
}

// TestRunStopFails verifies that when a cancel's stop request fails, the
// container is force-removed (which kills it) and Run still returns.
func TestRunStopFails(t *testing.T) {
	waitC := make(chan container.WaitResponse, 1)
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeEngine{
		wait:    func() (<-chan container.WaitResponse, <-chan error) { return waitC, nil },
		start:   func() error { cancel(); return nil },
		inspect: exitedWith(137),
	}
	f.stop = func() error {
		waitC <- container.WaitResponse{StatusCode: 137} // the forced remove kills it
		return errors.New("Error response from daemon: cannot stop container: engine busy")
	}
	status, err := newFakeRuntime(t, f).Run(ctx, spec, runner.Stdio{Out: io.Discard})
	if !errors.Is(err, runner.ErrCancelled) || status != (runner.ExitStatus{Code: 137, Signalled: true}) {
		t.Errorf("Run: got %+v, %v, want Signalled, exit code 137 and ErrCancelled", status, err)
	}
	if f.called("stop") != 1 || f.called("remove") != 2 {
		t.Errorf("calls %v: want a stop and two removes (after the failed stop, and the final one)", f.calls)
	}
}

// TestRunCreateDetached verifies that create and remove run on contexts the
// caller's cancel does not reach, so a container created while the caller
// gave up is still found and removed.
func TestRunCreateDetached(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var createErr error
	f := &fakeEngine{
		created: func(c context.Context) { cancel(); createErr = c.Err() },
	}
	_, err := newFakeRuntime(t, f).Run(ctx, spec, runner.Stdio{Out: io.Discard})
	if createErr != nil {
		t.Errorf("create saw a cancelled context: %v", createErr)
	}
	if !errors.Is(err, runner.ErrCancelled) {
		t.Errorf("Run: got %v, want ErrCancelled", err)
	}
	if f.called("remove") != 1 || f.called("start") != 0 {
		t.Errorf("calls %v: want a remove and no start", f.calls)
	}
}

package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// newTestRuntime returns a Runtime with an instance ID of its own, and
// sweeps that instance when the test ends, so a failing test leaves nothing
// on the shared engine.
func newTestRuntime(t *testing.T, c *client.Client) (*docker.Runtime, string) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	instance := "test-" + hex.EncodeToString(b[:])
	rt, err := docker.New(c, docker.Options{InstanceID: instance})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n, err := rt.Sweep(context.Background(), instance, nil); err != nil || n > 0 {
			t.Errorf("sweep after test: removed %d, error %v; want nothing left", n, err)
		}
	})
	return rt, instance
}

// leftovers lists the containers a suite run left behind, by its marker.
func leftovers(c *client.Client) runnertest.Leftovers {
	return func(t *testing.T, marker string) []string {
		list, err := c.ContainerList(context.Background(), container.ListOptions{
			All: true, Filters: filters.NewArgs(filters.Arg("label", runnertest.MarkerLabel+"="+marker)),
		})
		if err != nil {
			t.Errorf("list containers: %v", err)
		}
		var names []string
		for _, s := range list {
			names = append(names, strings.Join(s.Names, ",")+" ("+s.State+")")
		}
		return names
	}
}

func testconnImage(t *testing.T) (*client.Client, string) {
	c := runnertest.RequireDocker(t)
	return c, runnertest.BuildImage(t, "testconn", runnertest.TestconnPkg)
}

// TestAcceptance holds the Docker runtime to the Runtime contract on a real
// engine.
func TestAcceptance(t *testing.T) {
	c, image := testconnImage(t)
	newRuntime := func(t *testing.T) runner.Runtime {
		rt, _ := newTestRuntime(t, c)
		return rt
	}
	images := runnertest.TestImages{Testconn: image, Missing: "ferry/no-such-image:dev"}
	runnertest.RuntimeAcceptance(t, newRuntime, images, leftovers(c))
}

// TestOOMKilled verifies that a connector over its memory limit is reported
// as OOM-killed, not as a plain failure.
func TestOOMKilled(t *testing.T) {
	c, image := testconnImage(t)
	rt, _ := newTestRuntime(t, c)
	spec := runner.ConnectorSpec{
		Name: "ferry-test-oom", Image: image, Args: []string{"alloc", "512", "out", "survived"},
		Resources: runner.Resources{MemoryBytes: 32 << 20},
	}
	// Docker 20.10 on cgroup v1 now and then loses the OOM event of a
	// container with an init process (about 1 run in 12 here, also with the
	// docker CLI), so the flag gets three chances.
	var status runner.ExitStatus
	for range 3 {
		var err error
		if status, err = rt.Run(t.Context(), spec, runner.Stdio{Out: io.Discard, Err: io.Discard}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if status.OOMKilled {
			break
		}
	}
	if want := (runner.ExitStatus{Code: 137, OOMKilled: true}); status != want {
		t.Errorf("status: got %+v, want %+v", status, want)
	}
	if got, want := status.String(), "killed: out of memory (exit code 137)"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
}

// TestLocalRootBind verifies that a host directory given as the local root
// is where the connector's /local writes land.
func TestLocalRootBind(t *testing.T) {
	c, image := testconnImage(t)
	rt, _ := newTestRuntime(t, c)
	dir := t.TempDir()
	spec := runner.ConnectorSpec{
		Name: "ferry-test-local", Image: image, LocalRoot: dir,
		Args: []string{"write", "/local/out.jsonl", "hello"},
		// As the image runs (root): TestStrictContainer covers strict's
		// user, who needs a local root it can write.
		Hardening: runner.HardeningCompatible,
	}
	if status, err := rt.Run(t.Context(), spec, runner.Stdio{Out: io.Discard, Err: io.Discard}); err != nil || status.Code != 0 {
		t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out.jsonl"))
	if err != nil || string(got) != "hello\n" {
		t.Errorf("host file: got %q, %v, want %q", got, err, "hello\n")
	}
}

// TestSocketVolume verifies the socket-mode volume: tmpfs, world-writable
// with the sticky bit, shared between runs, and removed on request.
func TestSocketVolume(t *testing.T) {
	c, image := testconnImage(t)
	rt, instance := newTestRuntime(t, c)
	name, err := rt.CreateSocketVolume(t.Context(), "", map[string]string{docker.LabelJob: "7", docker.LabelAttempt: "1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.VolumeInspect(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Labels[docker.LabelInstance]; got != instance {
		t.Errorf("instance label: got %q, want %q", got, instance)
	}
	if got, want := v.Options["type"], "tmpfs"; got != want {
		t.Errorf("volume type: got %q, want %q", got, want)
	}
	// A tmpfs volume lives while a container mounts it, so the two runs
	// overlap, as source and destination do in socket mode.
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		spec := runner.ConnectorSpec{Name: "ferry-test-sockets", Image: image, SocketVolume: name, Args: args}
		status, err := rt.Run(t.Context(), spec, runner.Stdio{Out: &out, Err: io.Discard})
		if err == nil && status.Code != 0 {
			err = fmt.Errorf("exit code %d", status.Code)
		}
		return out.String(), err
	}
	dir := runner.SocketDir
	first := make(chan error, 1)
	go func() {
		// The probe's content is written after the file appears, so the
		// second run waits for a marker written after it.
		_, err := run("write", dir+"/probe", "shared", "write", dir+"/ready", "", "waitfor", dir+"/done")
		first <- err
	}()
	got, err := run("waitfor", dir+"/ready", "stat", dir, "cat", dir+"/probe", "write", dir+"/done", "")
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first run: %v", err)
	}
	if want := "mode=dtrwxrwxrwx\nshared\n"; got != want {
		t.Errorf("second run: got %q, want %q", got, want)
	}
	if err := rt.RemoveVolume(t.Context(), name); err != nil {
		t.Fatalf("RemoveVolume: %v", err)
	}
	if err := rt.RemoveVolume(t.Context(), name); err != nil {
		t.Errorf("RemoveVolume again: got %v, want nil for a volume already gone", err)
	}
}

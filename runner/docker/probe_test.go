package docker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// probeEngine answers the probe's calls: create fails with createErr, or
// the marker's stat answers statErr.
type probeEngine struct {
	engine
	createErr, statErr error
	mu                 sync.Mutex
	creates, removes   int
	mount              string
}

func (e *probeEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{ID: "sha256:probe"}, nil
}

func (e *probeEngine) ContainerCreate(_ context.Context, _ *container.Config, h *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creates++
	e.mount = h.Mounts[0].Source
	if e.createErr != nil {
		return container.CreateResponse{}, e.createErr
	}
	return container.CreateResponse{ID: "probe1"}, nil
}

func (e *probeEngine) ContainerStatPath(context.Context, string, string) (container.PathStat, error) {
	return container.PathStat{}, e.statErr
}

func (e *probeEngine) ContainerRemove(context.Context, string, container.RemoveOptions) error {
	e.mu.Lock()
	e.removes++
	e.mu.Unlock()
	return nil
}

// TestSharesDirsAnswers: the probe's three answers. The engine finds no
// such directory (Ferry's temp dir is not the engine host's), finds
// another directory without the marker, or finds the marker; the answer
// is cached, and the probe container is always removed.
func TestSharesDirsAnswers(t *testing.T) {
	for _, tc := range []struct {
		name               string
		createErr, statErr error
		shared             bool
		why                string
	}{
		{"no such directory", errdefs.ErrInvalidArgument.WithMessage(`invalid mount config for type "bind": bind source path does not exist: /tmp/ferry-probe-1`), nil, false, "the engine has no directory"},
		{"another directory", nil, errdefs.ErrNotFound.WithMessage("no such file"), false, "is another directory than Ferry's"},
		{"shared", nil, nil, true, "bind-mounts Ferry's temp directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &probeEngine{createErr: tc.createErr, statErr: tc.statErr}
			r, err := New(e, Options{InstanceID: "probe-test"})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				shared, why, err := r.SharesDirs(context.Background(), "img")
				if err != nil || shared != tc.shared || !strings.Contains(why, tc.why) {
					t.Fatalf("got %t %q %v, want %t %q", shared, why, err, tc.shared, tc.why)
				}
			}
			if e.creates != 1 {
				t.Errorf("probe containers created: got %d, want 1 (the answer is cached)", e.creates)
			}
			if tc.createErr == nil && e.removes != 1 {
				t.Errorf("probe containers removed: got %d, want 1", e.removes)
			}
		})
	}
}

// TestSharesDirsEngineError: an engine failure is an error, not an answer,
// and is not cached.
func TestSharesDirsEngineError(t *testing.T) {
	e := &probeEngine{createErr: errors.New("engine on fire")}
	r, _ := New(e, Options{InstanceID: "probe-test"})
	for range 2 {
		if _, _, err := r.SharesDirs(context.Background(), "img"); err == nil {
			t.Fatal("no error")
		}
	}
	if e.creates != 2 {
		t.Fatalf("creates: got %d, want 2 (errors are not cached)", e.creates)
	}
}

// TestSharesDirsDocker asks a real engine on this host, which shares
// Ferry's temp directory: the direct path works here.
func TestSharesDirsDocker(t *testing.T) {
	c := runnertest.RequireDocker(t)
	img := runnertest.BuildImage(t, "relay", runnertest.RelayPkg)
	r, err := New(c, Options{InstanceID: "probe-test-docker"})
	if err != nil {
		t.Fatal(err)
	}
	shared, why, err := r.SharesDirs(t.Context(), img)
	if err != nil || !shared {
		t.Fatalf("got %t %q %v, want shared", shared, why, err)
	}
}

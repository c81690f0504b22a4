// Package docker is a runner.Runtime on the Docker Engine API. Each Run
// creates one container, copies the connector's files into it, attaches its
// stdio over the API's hijacked stream, and removes it afterwards. Ferry
// therefore works the same when it runs in a container itself: it needs the
// engine's socket, never a shared host path.
//
// The pure translation from a runner.ConnectorSpec to container settings
// lives in convert.go; this file and run.go hold the lifecycle.
package docker

import (
	"context"
	"errors"
	"fmt"
	cerrdefs "github.com/containerd/errdefs"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ferrysync/ferry/runner"
)

// Labels on every container and volume Ferry creates (the same keys as the
// runner package's). A sweep selects by LabelInstance, so it only ever
// touches its own instance's leftovers. The runtime sets LabelInstance and
// LabelRole itself; the caller sets LabelJob and LabelAttempt in
// ConnectorSpec.Labels.
const (
	LabelInstance = runner.LabelInstance
	LabelJob      = runner.LabelJob
	LabelAttempt  = runner.LabelAttempt
	LabelRole     = runner.LabelRole
)

// engine is the part of the Docker client the runtime uses. It is declared
// here, narrow, so orchestration can be tested with a fake and a change of
// client module touches one file. *client.Client implements it.
type engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ContainerCreate(ctx context.Context, config *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	CopyToContainer(ctx context.Context, id, path string, content io.Reader, opts container.CopyToContainerOptions) error
	ContainerStatPath(ctx context.Context, id, path string) (container.PathStat, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error)
	VolumeRemove(ctx context.Context, id string, force bool) error
	VolumeList(ctx context.Context, opts volume.ListOptions) (volume.ListResponse, error)
}

var _ engine = (*client.Client)(nil)

// Runtime runs connectors as Docker containers. It is safe for concurrent
// use. Create it with New.
type Runtime struct {
	c        engine
	instance string
	defaults runner.Resources
	log      *slog.Logger
	probe    probeCache // SharesDirs' answer

	beforeStart func(runner.ConnectorSpec)
}

var (
	_ runner.Runtime        = (*Runtime)(nil)
	_ runner.ImageInspector = (*Runtime)(nil)
	_ runner.DirProber      = (*Runtime)(nil)
)

// Options configure a Runtime.
type Options struct {
	// InstanceID goes on every container and volume as LabelInstance. It
	// must be set and unique per Ferry instance (daemon, CLI run or test).
	InstanceID string
	// Defaults fill the resource limits a spec leaves at zero; memory and
	// pids fall back to runner.DefaultResources, so no connector runs
	// unbounded.
	Defaults runner.Resources
	// Logger receives cleanup problems; nil discards them.
	Logger *slog.Logger
	// BeforeStart, when set, runs after a container was created and its
	// files copied in, just before it starts. Crash tests pause there
	// (package failpoint); nil outside them.
	BeforeStart func(runner.ConnectorSpec)
}

// New returns a Runtime on c, usually a *client.Client from NewClient.
func New(c engine, opts Options) (*Runtime, error) {
	if opts.InstanceID == "" {
		return nil, errors.New("docker runtime: an instance ID is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defaults := opts.Defaults
	if defaults.MemoryBytes == 0 {
		defaults.MemoryBytes = runner.DefaultResources.MemoryBytes
	}
	if defaults.PidsLimit == 0 {
		defaults.PidsLimit = runner.DefaultResources.PidsLimit
	}
	return &Runtime{c: c, instance: opts.InstanceID, defaults: defaults, log: log.With("component", "runtime.docker"),
		beforeStart: opts.BeforeStart}, nil
}

// NewClient returns a client for the engine named by the DOCKER_HOST family
// of variables, negotiating the API version (the engine here speaks 1.41).
func NewClient() (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
}

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Ping checks that the engine answers.
func (r *Runtime) Ping(ctx context.Context) error {
	_, err := r.c.Ping(ctx)
	return wrapErr("ping docker", err)
}

// cleanupTimeout bounds each cleanup call (stop aside, which adds the stop
// grace period). Cleanup runs on a context detached from the caller's, so
// it needs a bound of its own.
const cleanupTimeout = 30 * time.Second

// detached returns a context that cancellation of ctx cannot cut, bounded
// by d, for cleanup that must happen whatever the caller does.
func detached(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// InspectImage reports an image's ID and labels without running it. A
// missing image is a *runner.ImageNotFoundError.
func (r *Runtime) InspectImage(ctx context.Context, ref string) (runner.ImageInfo, error) {
	img, err := r.inspectImage(ctx, ref)
	if err != nil {
		return runner.ImageInfo{}, err
	}
	return runner.ImageInfo{ID: img.ID, Labels: img.Labels, Entrypoint: imageEntrypoint(img)}, nil
}

func (r *Runtime) inspectImage(ctx context.Context, ref string) (imageConfig, error) {
	resp, err := r.c.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return imageConfig{}, &runner.ImageNotFoundError{Image: ref, Hint: buildHint(ref)}
	}
	if err != nil {
		return imageConfig{}, wrapErr("inspect image "+ref, err)
	}
	img := imageConfig{ID: resp.ID}
	if resp.Config != nil {
		img.Entrypoint = resp.Config.Entrypoint
		img.Env = resp.Config.Env
		img.Labels = resp.Config.Labels
		img.User = resp.Config.User
	}
	return img, nil
}

// buildHint tells how to get a missing image. No registry is reachable, so
// Ferry never pulls.
func buildHint(ref string) string {
	if name, ok := strings.CutPrefix(ref, "ferry/"); ok {
		name, _, _ = strings.Cut(name, ":")
		return fmt.Sprintf("build it with scripts/build-images.sh %s (make images builds them all); Ferry does not pull", name)
	}
	return "load or build it on this engine (docker load, docker build); Ferry does not pull, no registry is reachable"
}

package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// probeCache holds the answer of SharesDirs: whether the engine sees
// Ferry's temp directory cannot change while Ferry runs.
type probeCache struct {
	mu     sync.Mutex
	done   bool
	shared bool
	why    string
}

// probeTarget is where the probe container mounts the directory.
const probeTarget = "/ferry-probe"

// SharesDirs reports whether a directory Ferry creates in its temp dir is
// the directory a container bind-mounts from that path, which bridged
// mode's direct path needs (runner.DirProber). The probe is a fact, not a
// guess from /.dockerenv: Ferry creates a directory holding a file with a
// random name, creates (never starts) a container of image that
// bind-mounts it, and asks the engine whether the file is there. When
// Ferry runs in a container whose temp dir is its own, the engine finds
// no such directory on its host, or another one without the file. The
// answer is cached; errors are not, so a later call probes again.
func (r *Runtime) SharesDirs(ctx context.Context, image string) (bool, string, error) {
	r.probe.mu.Lock()
	defer r.probe.mu.Unlock()
	if r.probe.done {
		return r.probe.shared, r.probe.why, nil
	}
	shared, why, err := r.probeDirs(ctx, image)
	if err != nil {
		return false, "", err
	}
	r.probe.done, r.probe.shared, r.probe.why = true, shared, why
	r.log.Info("probed whether connectors see Ferry's directories", "shared", shared, "why", why)
	return shared, why, nil
}

func (r *Runtime) probeDirs(ctx context.Context, image string) (bool, string, error) {
	// A Ferry that cannot even make a temp directory (a FROM scratch
	// container has no /tmp) shares none with the engine.
	dir, err := os.MkdirTemp("", "ferry-probe-")
	if err != nil {
		return false, fmt.Sprintf("Ferry cannot create a temp directory (%v)", err), nil
	}
	defer os.RemoveAll(dir)
	var b [8]byte
	rand.Read(b[:])
	marker := "marker-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(filepath.Join(dir, marker), nil, 0o644); err != nil {
		return false, fmt.Sprintf("Ferry cannot write in its temp directory (%v)", err), nil
	}
	img, err := r.inspectImage(ctx, image)
	if err != nil {
		return false, "", fmt.Errorf("probe: %w", err)
	}
	cfg := &container.Config{Image: img.ID, Entrypoint: []string{"/ferry-probe-never-runs"},
		Labels: map[string]string{LabelInstance: r.instance, LabelRole: "probe"}}
	host := &container.HostConfig{LogConfig: container.LogConfig{Type: "none"}, NetworkMode: "none",
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: dir, Target: probeTarget, ReadOnly: true}}}
	cctx, cancel := detached(ctx, cleanupTimeout)
	created, err := r.c.ContainerCreate(cctx, cfg, host, nil, nil, containerName("ferry-probe"))
	cancel()
	if err != nil {
		if strings.Contains(err.Error(), "bind source path does not exist") || cerrdefs.IsInvalidArgument(err) {
			return false, fmt.Sprintf("the engine has no directory %s: Ferry's temp directory is not the engine host's (Ferry runs in a container?)", dir), nil
		}
		return false, "", wrapErr("probe: create container", err)
	}
	defer r.remove(ctx, created.ID)
	_, err = r.c.ContainerStatPath(ctx, created.ID, probeTarget+"/"+marker)
	switch {
	case err == nil:
		return true, "the engine bind-mounts Ferry's temp directory", nil
	case cerrdefs.IsNotFound(err):
		return false, fmt.Sprintf("the engine's %s is another directory than Ferry's (Ferry runs in a container?)", dir), nil
	}
	return false, "", wrapErr("probe: stat the marker", err)
}

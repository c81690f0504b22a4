package docker

import (
	"context"
	"errors"
	"fmt"
	cerrdefs "github.com/containerd/errdefs"
	"maps"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// Sweep removes the containers and volumes labelled with instanceID,
// except those keep approves (keep may be nil). It never looks at anything
// without that label, so a daemon's sweep leaves a `ferry sync`, another
// daemon and other test packages alone. It returns how many objects it
// removed; objects that vanish meanwhile are not errors.
//
// Containers go first, with their anonymous volumes, so that the named
// volumes they used are free to remove.
func (r *Runtime) Sweep(ctx context.Context, instanceID string, keep func(labels map[string]string) bool) (int, error) {
	if instanceID == "" {
		return 0, errors.New("sweep: an instance ID is required")
	}
	byInstance := filters.NewArgs(filters.Arg("label", LabelInstance+"="+instanceID))
	containers, err := r.c.ContainerList(ctx, container.ListOptions{All: true, Filters: byInstance})
	if err != nil {
		return 0, wrapErr("sweep: list containers", err)
	}
	removed := 0
	var errs []error
	for _, c := range containers {
		if c.Labels[LabelInstance] != instanceID || keep != nil && keep(c.Labels) {
			continue
		}
		err := r.c.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			removed++
			r.log.Info("swept container", "container", c.ID, "names", c.Names)
		case !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err):
			errs = append(errs, wrapErr("sweep: remove container "+c.ID, err))
		}
	}
	vols, err := r.c.VolumeList(ctx, volume.ListOptions{Filters: byInstance})
	if err != nil {
		return removed, errors.Join(append(errs, wrapErr("sweep: list volumes", err))...)
	}
	for _, v := range vols.Volumes {
		if v.Labels[LabelInstance] != instanceID || keep != nil && keep(v.Labels) {
			continue
		}
		err := r.c.VolumeRemove(ctx, v.Name, true)
		switch {
		case err == nil:
			removed++
			r.log.Info("swept volume", "volume", v.Name)
		case !cerrdefs.IsNotFound(err):
			errs = append(errs, wrapErr("sweep: remove volume "+v.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}

// CreateSocketVolume creates the per-attempt volume that socket mode mounts
// at runner.SocketDir in both containers: a local volume on tmpfs (the
// sockets carry no data at rest, and Airbyte uses an in-memory emptyDir),
// with mode 1777 because a fresh volume root is root:root 0755 and the
// connectors' user is not known. It carries labels plus this runtime's
// instance, so a sweep finds it. An empty name lets the engine pick one.
// It returns the volume's name, for ConnectorSpec.SocketVolume.
func (r *Runtime) CreateSocketVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelInstance] = r.instance
	v, err := r.c.VolumeCreate(ctx, volume.CreateOptions{
		Name:       name,
		Driver:     "local",
		DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "mode=1777"},
		Labels:     l,
	})
	if err != nil {
		return "", wrapErr("create socket volume", err)
	}
	return v.Name, nil
}

// RemoveVolume removes a volume, on a context detached from ctx so that a
// cancelled attempt still cleans up. A volume that is already gone is not
// an error.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	rctx, cancel := detached(ctx, cleanupTimeout)
	defer cancel()
	err := r.c.VolumeRemove(rctx, name, true)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return wrapErr(fmt.Sprintf("remove volume %s", name), err)
	}
	return nil
}

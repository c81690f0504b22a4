package docker_test

import (
	"context"
	"sort"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/runner/docker"
)

// TestSweep verifies that a sweep removes its own instance's containers and
// volumes, spares what keep approves, and never touches another instance.
func TestSweep(t *testing.T) {
	c, image := testconnImage(t)
	mine, instance := newTestRuntime(t, c)
	_, other := newTestRuntime(t, c)
	ctx := t.Context()
	mk := func(inst, job string) {
		labels := map[string]string{docker.LabelInstance: inst, docker.LabelJob: job}
		if _, err := c.ContainerCreate(ctx, &container.Config{Image: image, Labels: labels}, nil, nil, nil, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.VolumeCreate(ctx, volume.CreateOptions{Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	mk(instance, "stale")
	mk(instance, "running")
	mk(other, "stale")

	keep := func(l map[string]string) bool { return l[docker.LabelJob] == "running" }
	n, err := mine.Sweep(ctx, instance, keep)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != 2 {
		t.Errorf("Sweep removed %d objects, want 2 (a container and a volume)", n)
	}
	want := []string{instance + "/running", other + "/stale"}
	sort.Strings(want)
	if diff := cmp.Diff(want, jobs(t, c, instance, other)); diff != "" {
		t.Errorf("containers left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, volumeJobs(t, c, instance, other)); diff != "" {
		t.Errorf("volumes left (-want +got):\n%s", diff)
	}
	// Clean up what the test kept on purpose; newTestRuntime's own sweep
	// then finds nothing.
	for _, inst := range []string{instance, other} {
		if _, err := mine.Sweep(context.Background(), inst, nil); err != nil {
			t.Error(err)
		}
	}
	if _, err := mine.Sweep(ctx, "", nil); err == nil {
		t.Error("Sweep with no instance: got nil, want an error")
	}
}

// jobs lists instance/job of the containers of the given instances.
func jobs(t *testing.T, c *client.Client, instances ...string) []string {
	var got []string
	for _, inst := range instances {
		list, err := c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+inst))})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			got = append(got, inst+"/"+s.Labels[docker.LabelJob])
		}
	}
	sort.Strings(got)
	return got
}

// volumeJobs lists instance/job of the volumes of the given instances.
func volumeJobs(t *testing.T, c *client.Client, instances ...string) []string {
	var got []string
	for _, inst := range instances {
		list, err := c.VolumeList(t.Context(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+inst))})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range list.Volumes {
			got = append(got, inst+"/"+v.Labels[docker.LabelJob])
		}
	}
	sort.Strings(got)
	return got
}

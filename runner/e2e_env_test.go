package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// env is one runtime with the reference connectors built for it: local
// binaries for the local runtime, ferry/*:dev images for Docker.
type env struct {
	name     string
	rt       runner.Runtime
	instance string
	images   map[string]string
	// leftovers lists containers (docker) of this test's instance, and
	// volumes its volumes.
	leftovers func(t *testing.T) []string
	volumes   func(t *testing.T) []string
}

var connectorNames = []string{"source-faker", "destination-jsonl", "connector-scripted"}

// envs returns the runtimes to run a scenario on: local always, local
// with the in-pod pump, Docker when an engine answers (skipped with a
// message otherwise, or failed when FERRY_REQUIRE_DOCKER=1).
func envs(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		e := &env{name: "local", rt: local.New(local.Options{}), images: map[string]string{}}
		for _, n := range connectorNames {
			e.images[n] = runnertest.BuildBinary(t, n, "./connectors/"+n)
		}
		fn(t, e)
	})
	// stdio mode with the pump of Kubernetes pods (package podpump), run
	// in the test's process between the local runtime's connectors.
	t.Run("pumped", func(t *testing.T) {
		t.Parallel()
		e := &env{name: "pumped", rt: runnertest.Pumped{Runtime: local.New(local.Options{})}, images: map[string]string{}}
		for _, n := range connectorNames {
			e.images[n] = runnertest.BuildBinary(t, n, "./connectors/"+n)
		}
		fn(t, e)
	})
	t.Run("docker", func(t *testing.T) {
		t.Parallel()
		c := runnertest.RequireDocker(t)
		instance := fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"), time.Now().UnixNano())
		rt, err := docker.New(c, docker.Options{InstanceID: instance})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{name: "docker", rt: rt, instance: instance, images: map[string]string{}}
		for _, n := range connectorNames {
			e.images[n] = runnertest.BuildImage(t, n, "./connectors/"+n)
		}
		e.leftovers = func(t *testing.T) []string {
			list, err := c.ContainerList(context.Background(), container.ListOptions{All: true,
				Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+instance))})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ct := range list {
				names = append(names, strings.Join(ct.Names, ","))
			}
			return names
		}
		e.volumes = func(t *testing.T) []string {
			list, err := c.VolumeList(context.Background(), volume.ListOptions{
				Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+instance))})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range list.Volumes {
				names = append(names, v.Name)
			}
			return names
		}
		fn(t, e)
	})
}

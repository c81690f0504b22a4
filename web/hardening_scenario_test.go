package web

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// assertHardened checks a connector container's `docker inspect` against
// scenario 7's defaults: no capabilities, no-new-privileges, not
// privileged, memory and pids limits, and no Docker socket among its
// mounts.
func assertHardened(t *testing.T, raw string) {
	t.Helper()
	var c container.InspectResponse
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.HostConfig == nil {
		t.Fatalf("docker inspect: %v", err)
	}
	h := c.HostConfig
	name := c.Name
	if !slices.Contains(h.CapDrop, "ALL") || len(h.CapAdd) > 0 {
		t.Errorf("%s: CapDrop %v CapAdd %v, want ALL dropped and none added", name, h.CapDrop, h.CapAdd)
	}
	if !slices.Contains(h.SecurityOpt, "no-new-privileges") {
		t.Errorf("%s: SecurityOpt %v, want no-new-privileges", name, h.SecurityOpt)
	}
	if h.Privileged {
		t.Errorf("%s: privileged", name)
	}
	if h.Memory <= 0 || h.PidsLimit == nil || *h.PidsLimit <= 0 {
		t.Errorf("%s: memory %d, pids %v; want both limited", name, h.Memory, h.PidsLimit)
	}
	for _, m := range c.Mounts {
		if strings.Contains(m.Source, "docker.sock") || strings.Contains(m.Destination, "docker.sock") {
			t.Errorf("%s: mounts the Docker socket: %+v", name, m)
		}
	}
	for _, b := range h.Binds {
		if strings.Contains(b, "docker.sock") {
			t.Errorf("%s: binds the Docker socket: %s", name, b)
		}
	}
}

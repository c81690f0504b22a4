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
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
)

// inspected is what the strict test saw of its container before start.
type inspected struct {
	user     string
	readOnly bool
	tmpfs    map[string]string
	mounts   []string
}

// TestStrictContainer runs testconn under strict hardening on a real
// engine: docker inspect shows the non-root user, the read-only root
// filesystem and the /tmp tmpfs; the config file copied in is readable;
// /tmp and /local are writable and the root filesystem is not; and the
// file volume goes with the container.
func TestStrictContainer(t *testing.T) {
	c, image := testconnImage(t)
	var b [6]byte
	rand.Read(b[:])
	instance := "test-" + hex.EncodeToString(b[:])
	var seen []inspected
	rt, err := docker.New(c, docker.Options{InstanceID: instance, BeforeStart: func(runner.ConnectorSpec) {
		seen = append(seen, inspectInstance(t, c, instance))
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n, err := rt.Sweep(context.Background(), instance, nil); err != nil || n > 0 {
			t.Errorf("sweep after test: removed %d, error %v; want nothing left", n, err)
		}
	})
	dir := t.TempDir()
	localUser := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	if os.Getuid() == 0 {
		// As the daemon does when it runs as root (prepareLocalRoot).
		if err := os.Chown(dir, 65532, 65532); err != nil {
			t.Fatal(err)
		}
		localUser = runner.StrictUser
	}
	spec := runner.ConnectorSpec{
		Name: "ferry-test-strict", Image: image, Hardening: runner.HardeningStrict, Role: runner.RoleDestination,
		LocalRoot: dir, LocalUser: localUser, WorkDir: "/dest",
		Files: map[string][]byte{"/dest/connectorConfig.json": []byte(`{"k":"v"}`)},
		Args: []string{"cat", "/dest/connectorConfig.json", "env", "HOME", "write", "/tmp/scratch", "x",
			"write", "/local/out.jsonl", "hello"},
	}
	var out, errOut bytes.Buffer
	status, err := rt.Run(t.Context(), spec, runner.Stdio{Out: &out, Err: &errOut})
	if err != nil || status.Code != 0 {
		t.Fatalf("Run: %+v, %v, want exit code 0; stderr:\n%s", status, err, errOut.String())
	}
	if got, want := out.String(), "{\"k\":\"v\"}HOME=/tmp\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out.jsonl")); err != nil || string(got) != "hello\n" {
		t.Errorf("/local/out.jsonl on the host: %q, %v; want hello", got, err)
	}
	want := inspected{user: localUser, readOnly: true, tmpfs: map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777"},
		mounts: []string{"bind:/local", "volume:/dest"}}
	if len(seen) != 1 || fmt.Sprint(seen[0]) != fmt.Sprint(want) {
		t.Errorf("docker inspect before start: %+v, want %+v", seen, want)
	}

	// The root filesystem is read-only.
	spec.Args = []string{"write", "/dest-not-a-volume", "x"}
	errOut.Reset()
	status, err = rt.Run(t.Context(), spec, runner.Stdio{Out: io.Discard, Err: &errOut})
	if err != nil || status.Code == 0 || !strings.Contains(errOut.String(), "read-only file system") {
		t.Errorf("write to the root filesystem: %+v, %v, stderr %q; want a read-only file system error", status, err, errOut.String())
	}
}

// inspectInstance inspects the instance's one container.
func inspectInstance(t *testing.T, c *client.Client, instance string) inspected {
	ctx := context.Background()
	list, err := c.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+instance))})
	if err != nil || len(list) != 1 {
		t.Errorf("containers of the instance: %d, %v; want one", len(list), err)
		return inspected{}
	}
	ct, err := c.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		t.Errorf("inspect: %v", err)
		return inspected{}
	}
	got := inspected{user: ct.Config.User, readOnly: ct.HostConfig.ReadonlyRootfs, tmpfs: ct.HostConfig.Tmpfs}
	for _, m := range ct.Mounts {
		got.mounts = append(got.mounts, string(m.Type)+":"+m.Destination)
	}
	slices.Sort(got.mounts) // the engine lists them in no fixed order
	return got
}

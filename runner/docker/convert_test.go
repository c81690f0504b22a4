package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/runner"
)

var connectorImage = imageConfig{ID: "sha256:abc", Entrypoint: []string{"/connector"}}

// TestContainerConfig verifies the translation of a spec into container
// settings, including the fixed security and logging defaults.
func TestContainerConfig(t *testing.T) {
	useInit := true
	pids := int64(256)
	for _, tc := range []struct {
		name     string
		spec     runner.ConnectorSpec
		img      imageConfig
		defaults runner.Resources
		wantCfg  *container.Config
		wantHost *container.HostConfig
	}{
		{
			name: "source",
			spec: runner.ConnectorSpec{
				Image: "ferry/source-faker:dev", Args: []string{"read", "--config", "/source/connectorConfig.json"},
				Env: map[string]string{"B": "2", "A": "1"}, WorkDir: "/source", Role: runner.RoleSource,
				Labels:    map[string]string{LabelJob: "12", LabelAttempt: "1", LabelInstance: "forged"},
				Resources: runner.Resources{MemoryBytes: 1 << 30, CPUs: 1.5, PidsLimit: 256}, NetworkMode: "none",
			},
			img: connectorImage,
			wantCfg: &container.Config{
				Image: "sha256:abc", Cmd: []string{"read", "--config", "/source/connectorConfig.json"},
				Env: []string{"A=1", "B=2"}, WorkingDir: "/source", AttachStdout: true, AttachStderr: true,
				Labels: map[string]string{LabelJob: "12", LabelAttempt: "1", LabelInstance: "inst", LabelRole: "source"},
			},
			wantHost: &container.HostConfig{
				LogConfig: container.LogConfig{Type: "none"}, Init: &useInit, NetworkMode: "none",
				CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
				Resources: container.Resources{Memory: 1 << 30, MemorySwap: 1 << 30, NanoCPUs: 1.5e9, PidsLimit: &pids},
			},
		},
		{
			name: "destination with stdin, local root directory and sockets",
			spec: runner.ConnectorSpec{
				Image: "ferry/destination-jsonl:dev", Args: []string{"write"}, OpenStdin: true, Role: runner.RoleDestination,
				LocalRoot: "/srv/ferry/local", SocketVolume: "ferry-sock-1",
			},
			img:      connectorImage,
			defaults: runner.Resources{MemoryBytes: 2 << 30, PidsLimit: 256},
			wantCfg: &container.Config{
				Image: "sha256:abc", Cmd: []string{"write"}, Env: []string{},
				OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
				Labels: map[string]string{LabelInstance: "inst", LabelRole: "destination"},
			},
			wantHost: &container.HostConfig{
				LogConfig: container.LogConfig{Type: "none"}, Init: &useInit,
				CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: "/srv/ferry/local", Target: "/local"},
					{Type: mount.TypeVolume, Source: "ferry-sock-1", Target: "/var/run/sockets"},
				},
				Resources: container.Resources{Memory: 2 << 30, MemorySwap: 2 << 30, PidsLimit: &pids},
			},
		},
		{
			name: "local root volume and AIRBYTE_ENTRYPOINT fallback",
			spec: runner.ConnectorSpec{Image: "airbyte/destination-sqlite:0.1.0", Args: []string{"spec"}, LocalRoot: "ferry-local"},
			img:  imageConfig{Env: []string{"PATH=/bin", "AIRBYTE_ENTRYPOINT=python /airbyte/main.py"}},
			wantCfg: &container.Config{
				Image: "airbyte/destination-sqlite:0.1.0", Entrypoint: []string{"python", "/airbyte/main.py"},
				Cmd: []string{"spec"}, Env: []string{}, AttachStdout: true, AttachStderr: true,
				Labels: map[string]string{LabelInstance: "inst"},
			},
			wantHost: &container.HostConfig{
				LogConfig: container.LogConfig{Type: "none"}, Init: &useInit,
				CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
				Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "ferry-local", Target: "/local"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, host, err := containerConfig(tc.spec, tc.img, "inst", tc.defaults)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCfg, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantHost, host); diff != "" {
				t.Errorf("host config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestContainerConfigNoEntrypoint verifies that an image with neither an
// ENTRYPOINT nor AIRBYTE_ENTRYPOINT is refused before anything is created.
func TestContainerConfigNoEntrypoint(t *testing.T) {
	_, _, err := containerConfig(runner.ConnectorSpec{Image: "busybox"}, imageConfig{Env: []string{"AIRBYTE_ENTRYPOINT= "}}, "inst", runner.Resources{})
	if err == nil || !strings.Contains(err.Error(), "AIRBYTE_ENTRYPOINT") {
		t.Errorf("got %v, want an error naming AIRBYTE_ENTRYPOINT", err)
	}
}

// TestFilesTar verifies the tar: parent directories first, then the files
// with their contents and modes.
func TestFilesTar(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	b, err := filesTar(map[string][]byte{
		"/source/connectorConfig.json": []byte(`{"a":1}`),
		"/source/catalog.json":         []byte(`{}`),
		"/dest/a/b/state.json":         nil,
	}, "/", mtime)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name string
		Type byte
		Mode int64
		Body string
	}
	var got []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", hdr.Name, hdr.ModTime, mtime)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, entry{hdr.Name, hdr.Typeflag, hdr.Mode, string(body)})
	}
	want := []entry{
		{"dest/", tar.TypeDir, 0o755, ""},
		{"dest/a/", tar.TypeDir, 0o755, ""},
		{"dest/a/b/", tar.TypeDir, 0o755, ""},
		{"source/", tar.TypeDir, 0o755, ""},
		{"dest/a/b/state.json", tar.TypeReg, 0o644, ""},
		{"source/catalog.json", tar.TypeReg, 0o644, "{}"},
		{"source/connectorConfig.json", tar.TypeReg, 0o644, `{"a":1}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar entries (-want +got):\n%s", diff)
	}
}

// TestFilesTarRejects verifies that paths which could escape or collide are
// refused.
func TestFilesTarRejects(t *testing.T) {
	for _, files := range []map[string][]byte{
		{"relative.json": nil},
		{"/source/../etc/passwd": nil},
		{"/": nil},
		{"/source": nil, "/source/config.json": nil},
	} {
		if _, err := filesTar(files, "/", time.Time{}); err == nil {
			t.Errorf("filesTar(%v): got no error, want one", files)
		}
	}
}

// TestContainerName verifies that names are valid for Docker and unique.
func TestContainerName(t *testing.T) {
	a, b := containerName("ferry-12-1/source"), containerName("ferry-12-1/source")
	if !strings.HasPrefix(a, "ferry-12-1-source-") || a == b {
		t.Errorf("got %q and %q, want distinct names starting ferry-12-1-source-", a, b)
	}
	if got := containerName(""); !strings.HasPrefix(got, "ferry-connector-") {
		t.Errorf("empty name: got %q, want ferry-connector-...", got)
	}
}

// TestImageEntrypoint: what a definition keeps of an image's command is
// its AIRBYTE_ENTRYPOINT when set, else its ENTRYPOINT, never its CMD.
func TestImageEntrypoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  imageConfig
		want []string
	}{
		{"AIRBYTE_ENTRYPOINT wins", imageConfig{Entrypoint: []string{"/bin/tini", "--"},
			Env: []string{"PATH=/bin", "AIRBYTE_ENTRYPOINT=python  /airbyte/main.py "}}, []string{"python", "/airbyte/main.py"}},
		{"ENTRYPOINT without it", imageConfig{Entrypoint: []string{"/connector", "--quiet"}, Env: []string{"PATH=/bin"}},
			[]string{"/connector", "--quiet"}},
		{"a blank AIRBYTE_ENTRYPOINT is none", imageConfig{Entrypoint: []string{"/connector"}, Env: []string{"AIRBYTE_ENTRYPOINT= "}},
			[]string{"/connector"}},
		{"neither", imageConfig{Env: []string{"AIRBYTE_ENTRYPOINTX=/x"}}, nil},
	} {
		if got := imageEntrypoint(tc.img); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

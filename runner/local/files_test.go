package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/runner"
)

// TestLayoutRewrite verifies which arguments and variables are remapped into
// the run directory, and that nothing else is.
func TestLayoutRewrite(t *testing.T) {
	spec := runner.ConnectorSpec{
		WorkDir: "/source",
		Files: map[string][]byte{
			"/source/connectorConfig.json": nil,
			"/source/catalog.json":         nil,
			"/dest/namespace-mapping.json": nil,
		},
		Args: []string{
			"read", "--config", "/source/connectorConfig.json",
			"--catalog=/source/catalog.json", "/source/other.json", "x=/source/catalog.json",
		},
		Env: map[string]string{
			"NAMESPACE_MAPPING_CONFIG_PATH": "/dest/namespace-mapping.json",
			"DATA_CHANNEL_SOCKET_PATHS":     "/var/run/sockets/a.sock,/var/run/sockets/b.sock",
			"PLAIN":                         "/local/out.jsonl",
		},
		SocketVolume: "/tmp/sock",
		LocalRoot:    "/srv/local",
	}
	l, err := newLayout("/run/x", spec)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{
		"read", "--config", "/run/x/source/connectorConfig.json",
		"--catalog=/run/x/source/catalog.json", "/source/other.json", "x=/source/catalog.json",
	}
	if diff := cmp.Diff(wantArgs, l.args(spec.Args)); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if got, want := l.dir, "/run/x/source"; got != want {
		t.Errorf("dir: got %q, want %q", got, want)
	}
	getenv := map[string]string{"PATH": "/bin", "SECRET_TOKEN": "t"}
	wantEnv := []string{
		"DATA_CHANNEL_SOCKET_PATHS=/tmp/sock/a.sock,/tmp/sock/b.sock",
		"FERRY_LOCAL_ROOT=/srv/local",
		"NAMESPACE_MAPPING_CONFIG_PATH=/run/x/dest/namespace-mapping.json",
		"PATH=/bin",
		"PLAIN=/local/out.jsonl",
		"TMPDIR=/run/x/tmp",
	}
	if diff := cmp.Diff(wantEnv, l.env(spec, func(k string) string { return getenv[k] })); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

// TestLayoutRejectsBadPaths verifies that only clean absolute container
// paths are accepted, so no file can land outside the run directory.
func TestLayoutRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"relative.json", "/source/../../etc/passwd", "/", "/source/"} {
		spec := runner.ConnectorSpec{Files: map[string][]byte{p: nil}}
		if _, err := newLayout("/run/x", spec); err == nil {
			t.Errorf("newLayout with file %q: got no error, want one", p)
		}
	}
	if _, err := newLayout("/run/x", runner.ConnectorSpec{WorkDir: "work"}); err == nil {
		t.Error("newLayout with a relative work dir: got no error, want one")
	}
}

package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestShorten verifies that engine errors are cut down to the part a user
// can act on.
func TestShorten(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{
			`Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/connector": stat /connector: no such file or directory: unknown`,
			`exec: "/connector": stat /connector: no such file or directory`,
		},
		{
			"Error response from daemon: No such image: ferry/nope:dev",
			"No such image: ferry/nope:dev",
		},
		{
			"container exited (0x2) extra info: {\"Env\":[\"API_KEY=secret\"]}",
			"container exited",
		},
		{
			"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
			"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
		},
		{"first line\nsecond line", "first line"},
		{strings.Repeat("é", 400), strings.Repeat("é", 150) + "..."},
	} {
		if got := shorten(tc.in); got != tc.want {
			t.Errorf("shorten(%.60q...):\ngot  %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestWrapErrKeepsCause verifies that shortened errors still match the
// engine's error classes.
func TestWrapErrKeepsCause(t *testing.T) {
	cause := errdefs.ErrNotFound
	err := wrapErr("inspect", cause)
	if !errdefs.IsNotFound(err) || !errors.Is(err, cause) {
		t.Errorf("got %v, want it to match errdefs.ErrNotFound", err)
	}
	if wrapErr("x", nil) != nil {
		t.Error("wrapErr(nil): got an error, want nil")
	}
}

// TestBuildHint verifies that a missing Ferry image names its build
// command, and any other image says how to get it without a registry.
func TestBuildHint(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"ferry/source-faker:dev", "scripts/build-images.sh source-faker "},
		{"airbyte/source-postgres:3.6.0", "docker load"},
	} {
		if got := buildHint(tc.ref); !strings.Contains(got, tc.want) {
			t.Errorf("buildHint(%q) = %q, want it to contain %q", tc.ref, got, tc.want)
		}
	}
}

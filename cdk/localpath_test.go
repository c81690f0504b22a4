package cdk

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLocalPath follows Airbyte's /local rules and maps onto
// FERRY_LOCAL_ROOT when it is set.
func TestLocalPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/local/json_data", "/local/json_data", true},
		{"/local", "/local", true},
		{"/json_data", "/local/json_data", true},
		{"rel/dir", "/local/rel/dir", true},
		{"/localx/a", "/local/localx/a", true},
		{"/local/../etc", "", false},
		{"../escape", "", false},
		{"/local/a/../../b", "", false},
		{"  ", "", false},
	}
	t.Setenv(LocalRootEnv, "")
	for _, tt := range tests {
		got, err := LocalPath(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("LocalPath(%q): got %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !IsConfigError(err) {
			t.Errorf("LocalPath(%q): error %v is not a config error", tt.in, err)
		}
	}
	root := t.TempDir()
	t.Setenv(LocalRootEnv, root)
	if got, _ := LocalPath("/local/a/b"); got != filepath.Join(root, "a", "b") {
		t.Errorf("mapped: got %q, want %q", got, filepath.Join(root, "a", "b"))
	}
}

// TestLocalPathSymlinks refuses a path that a symbolic link inside the
// local root leads out of (a linked directory, a linked file, a dangling
// link), and accepts links that stay inside.
func TestLocalPathSymlinks(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	t.Setenv(LocalRootEnv, root)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(root, "inside"), 0o755))
	must(os.Symlink(outside, filepath.Join(root, "out")))
	must(os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "file")))
	must(os.WriteFile(filepath.Join(outside, "passwd"), nil, 0o600))
	must(os.Symlink(filepath.Join(outside, "nowhere", "x"), filepath.Join(root, "dangling")))
	must(os.Symlink("inside", filepath.Join(root, "alias")))
	for _, p := range []string{"/local/out/data.jsonl", "/local/out", "out/new/dir/x", "/local/file", "/local/dangling", "/local/../../etc"} {
		if got, err := LocalPath(p); err == nil || !IsConfigError(err) {
			t.Errorf("LocalPath(%q): got %q, %v; want a config error", p, got, err)
		}
	}
	for _, p := range []string{"/local/alias/x.jsonl", "/local/inside/new/x", "/local/fresh"} {
		if _, err := LocalPath(p); err != nil {
			t.Errorf("LocalPath(%q): %v, want it accepted", p, err)
		}
	}
	t.Setenv(LocalRootEnv, filepath.Join(root, "not-yet"))
	if _, err := LocalPath("/local/x"); err != nil {
		t.Errorf("a local root that does not exist yet: %v", err)
	}
}

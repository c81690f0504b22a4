package cdk

import (
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

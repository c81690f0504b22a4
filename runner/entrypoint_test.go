package runner

import (
	"context"
	"slices"
	"testing"
)

// TestSyncCarriesEntrypoints: each connector of a sync runs with its own
// definition's entrypoint in its spec (the Kubernetes runtime's command).
func TestSyncCarriesEntrypoints(t *testing.T) {
	dst := &destRecorder{}
	rt := &FakeRuntime{Source: scriptedSource(0, recordLine("users", 1)), Destination: dst.run}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Source.Entrypoint = []string{"python", "/src.py"}
	cfg.Destination.Entrypoint = []string{"/dst"}
	if _, err := Sync(context.Background(), rt, cfg); err != nil {
		t.Fatal(err)
	}
	if got := rt.spec(RoleSource).Entrypoint; !slices.Equal(got, cfg.Source.Entrypoint) {
		t.Errorf("source entrypoint %q, want %q", got, cfg.Source.Entrypoint)
	}
	if got := rt.spec(RoleDestination).Entrypoint; !slices.Equal(got, cfg.Destination.Entrypoint) {
		t.Errorf("destination entrypoint %q, want %q", got, cfg.Destination.Entrypoint)
	}
}

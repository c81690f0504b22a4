package daemon

import (
	"slices"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// TestDefinitionEntrypointsReachTheRunner: a sync's connectors run with
// their definitions' entrypoints; none set stays none.
func TestDefinitionEntrypointsReachTheRunner(t *testing.T) {
	d := &Daemon{instanceID: "test"}
	claim := &store.Claim{Job: &store.Job{ID: 1}, Attempt: &store.Attempt{Number: 1},
		Connection:   &store.Connection{Catalog: &protocol.ConfiguredCatalog{}},
		SourceConfig: &store.ResolvedConfig{}, DestinationConfig: &store.ResolvedConfig{},
		SourceDefinition:      &store.Definition{Entrypoint: []string{"python", "/main.py"}},
		DestinationDefinition: &store.Definition{}}
	cfg := d.runnerConfig(&activeRun{claim: claim}, "src", "dst", nil, runner.CheckpointFunc(nil))
	if !slices.Equal(cfg.Source.Entrypoint, []string{"python", "/main.py"}) || cfg.Destination.Entrypoint != nil {
		t.Errorf("entrypoints: source %q, destination %q; want the source definition's and none", cfg.Source.Entrypoint, cfg.Destination.Entrypoint)
	}
}

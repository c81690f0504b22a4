package daemon

import (
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// TestConnectionTimeoutsReachTheRunner: each of a connection's timeouts,
// the destination-write one included, is the attempt's; unset ones keep
// the runner's defaults.
func TestConnectionTimeoutsReachTheRunner(t *testing.T) {
	d := &Daemon{instanceID: "test"}
	noProgress, eoi, maxDur, destWrite := time.Minute, 2*time.Minute, 3*time.Minute, 4*time.Minute
	claim := &store.Claim{Job: &store.Job{ID: 1}, Attempt: &store.Attempt{Number: 1},
		Connection:   &store.Connection{Catalog: &protocol.ConfiguredCatalog{}, Timeouts: store.Timeouts{NoProgress: &noProgress, EndOfInput: &eoi, MaxAttemptDuration: &maxDur, DestinationWrite: &destWrite}},
		SourceConfig: &store.ResolvedConfig{}, DestinationConfig: &store.ResolvedConfig{},
		SourceDefinition: &store.Definition{}, DestinationDefinition: &store.Definition{}}
	cfg := d.runnerConfig(&activeRun{claim: claim}, "src", "dst", nil, runner.CheckpointFunc(nil))
	want := runner.Timeouts{NoProgress: noProgress, EndOfInput: eoi, MaxDuration: maxDur, DestinationWrite: destWrite}
	if cfg.Timeouts != want {
		t.Errorf("timeouts: got %+v, want %+v", cfg.Timeouts, want)
	}
	claim.Connection.Timeouts = store.Timeouts{}
	if cfg := d.runnerConfig(&activeRun{claim: claim}, "src", "dst", nil, runner.CheckpointFunc(nil)); cfg.Timeouts != (runner.Timeouts{}) {
		t.Errorf("unset timeouts: got %+v, want the runner's defaults (zero)", cfg.Timeouts)
	}
}

package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// TestHostNetworkOptIn: the daemon refuses the host network unless its
// setting (or FERRY_ALLOW_HOST_NETWORK) allows it, and says how to.
func TestHostNetworkOptIn(t *testing.T) {
	d := &Daemon{cfg: testConfig(t, t.TempDir())}
	for _, mode := range []string{"host", " HOST "} {
		if err := d.networkAllowed(mode); err == nil || !strings.Contains(err.Error(), "--allow-host-network") {
			t.Errorf("%q: %v, want a refusal naming the switch", mode, err)
		}
	}
	for _, mode := range []string{"", "bridge", "none", "ferry-net"} {
		if err := d.networkAllowed(mode); err != nil {
			t.Errorf("%q: %v", mode, err)
		}
	}
	cfg := testConfig(t, t.TempDir())
	if err := cfg.LoadEnv(func(k string) (string, bool) {
		return "true", k == "FERRY_ALLOW_HOST_NETWORK"
	}); err != nil {
		t.Fatal(err)
	}
	d.cfg = cfg
	if err := d.networkAllowed("host"); err != nil {
		t.Errorf("allowed by the environment: %v", err)
	}
}

// TestFailOnCountMismatchReachesTheRunner: the daemon's switch (flag
// --fail-on-count-mismatch, FERRY_FAIL_ON_COUNT_MISMATCH) reaches every
// attempt's runner config.
func TestFailOnCountMismatchReachesTheRunner(t *testing.T) {
	claim := &store.Claim{Job: &store.Job{ID: 1}, Attempt: &store.Attempt{Number: 1},
		Connection:   &store.Connection{Catalog: &protocol.ConfiguredCatalog{}},
		SourceConfig: &store.ResolvedConfig{}, DestinationConfig: &store.ResolvedConfig{},
		SourceDefinition: &store.Definition{}, DestinationDefinition: &store.Definition{}}
	for _, on := range []bool{false, true} {
		cfg := testConfig(t, t.TempDir())
		if err := cfg.LoadEnv(func(k string) (string, bool) {
			return fmt.Sprint(on), k == "FERRY_FAIL_ON_COUNT_MISMATCH"
		}); err != nil {
			t.Fatal(err)
		}
		d := &Daemon{instanceID: "test", cfg: cfg}
		if got := d.runnerConfig(&activeRun{claim: claim}, "src", "dst", nil, runner.CheckpointFunc(nil)).FailOnCountMismatch; got != on {
			t.Errorf("FERRY_FAIL_ON_COUNT_MISMATCH=%v: the runner got %v", on, got)
		}
	}
}

// TestListensOnLoopbackByDefault: scenario 7's default address is the
// loopback interface only; exposing Ferry takes --listen or FERRY_LISTEN.
func TestListensOnLoopbackByDefault(t *testing.T) {
	if got := DefaultConfig().Web.Listen; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("default listen address %q, want 127.0.0.1:<port>", got)
	}
}

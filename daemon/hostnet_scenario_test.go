package daemon

import (
	"strings"
	"testing"
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

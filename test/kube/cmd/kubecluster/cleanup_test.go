package main

import (
	"strings"
	"testing"
)

func TestJumpsToOwn(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{"-A INPUT -j KUBE-FIREWALL", true},
		{"-A POSTROUTING -s 10.217.3.0/24 -j CNI-abc123", true},
		{"-A FORWARD -g KUBE-FORWARD", true},
		{"-A FORWARD -j DOCKER-USER", false},
		{"-A INPUT -m comment --comment KUBE-FIREWALL -j ACCEPT", false},
	} {
		if got := jumpsToOwn(strings.Fields(tc.rule)); got != tc.want {
			t.Errorf("jumpsToOwn(%q) = %v, want %v", tc.rule, got, tc.want)
		}
	}
}

func TestDockerOwned(t *testing.T) {
	for _, tc := range []struct {
		kind, item, master string
		want               bool
	}{
		{"mount", "/var/lib/docker/overlay2/abc/merged", "", true},
		{"mount", "/run/docker/netns/1cb54425c9ac", "", true},
		{"mount", "/tmp/ferry-kube/kubelet/pods/x/volumes/kubernetes.io~empty-dir/sockets", "", false},
		{"iptables", "iptables-save filter -A DOCKER-USER -j RETURN", "", true},
		{"iptables", "iptables-save filter -A INPUT -j KUBE-FIREWALL", "", false},
		{"link", "vethbe9360f", "", true},         // Docker's: 7 hex digits
		{"link", "veth726879d2", "", false},       // the CNI bridge plugin's: 8
		{"link", "veth726879d2", "docker0", true}, // attached to Docker's bridge
		{"link", "fkubea0269cb6", "", false},
	} {
		if got := dockerOwned(tc.kind, tc.item, tc.master); got != tc.want {
			t.Errorf("dockerOwned(%s, %s, %s) = %v, want %v", tc.kind, tc.item, tc.master, got, tc.want)
		}
	}
}

// TestNamesPerStateDir: clusters in two state directories get different
// names outside them, and the bridge's fits a device name (15 bytes).
func TestNamesPerStateDir(t *testing.T) {
	a, b := &cluster{State: "/tmp/ferry-kube"}, &cluster{State: "/tmp/fk-other"}
	if a.bridgeName() == b.bridgeName() || a.cgroupRoot() == b.cgroupRoot() {
		t.Fatalf("same names for two state directories: %s %s", a.bridgeName(), a.cgroupRoot())
	}
	for _, c := range []*cluster{a, b} {
		if n := c.bridgeName(); len(n) > 15 {
			t.Errorf("bridge name %q has %d bytes, over 15", n, len(n))
		}
		if s := c.podSubnet(); !strings.HasPrefix(s, "10.217.") || !strings.HasSuffix(s, ".0/24") {
			t.Errorf("pod subnet %q is not a /24 of 10.217.0.0/16", s)
		}
	}
	if a.bridgeName() != (&cluster{State: "/tmp/ferry-kube"}).bridgeName() {
		t.Error("the bridge name is not a function of the state directory: down after a crash could not find it")
	}
}

func TestClusterMountPlace(t *testing.T) {
	c := &cluster{State: "/tmp/ferry-kube"}
	for m, want := range map[string]bool{
		"/tmp/ferry-kube/containerd/state/io.containerd.grpc.v1.cri/sandboxes/x/shm": true,
		"/run/netns/cni-1234":                     true,
		"/tmp/TestFullDiskScenario2857333512/001": false,
		"/tmp/ferry-kube-other/x":                 false,
	} {
		if got := clusterMountPlace(c, m); got != want {
			t.Errorf("clusterMountPlace(%s) = %v, want %v", m, got, want)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/tmp/a\040b\134c`); got != `/tmp/a b\c` {
		t.Errorf("unescapeMount = %q", got)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cniBinDir is where Debian's containernetworking-plugins installs the
// bridge, host-local and loopback plugins.
const cniBinDir = "/usr/lib/cni"

// writeConfigs writes containerd's config, the CNI network, the kubelet's
// config and a kubeconfig per client into the state directory.
func (c *cluster) writeConfigs() error {
	files := map[string]string{
		c.path("containerd", "config.toml"):             c.containerdConfig(),
		c.path("cni", "net.d", "10-ferrykube.conflist"): c.cniConfig(),
		c.path("kubelet-config.yaml"):                   c.kubeletConfig(),
	}
	for _, who := range []string{"admin", "kubelet", "controller-manager", "scheduler"} {
		files[c.path(who+".kubeconfig")] = c.kubeconfig(who)
	}
	for path, body := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// containerdConfig keeps this containerd apart from the one dockerd runs
// (/run/containerd): its own root, state, socket, runc root and CNI
// directories, and no debug or metrics listeners.
//
// restrict_oom_score_adj is needed on these hosts: without it runc fails
// every pod with "can't get final child's PID from pipe: EOF", because it
// may not lower the OOM score below the one containerd itself runs with.
// netns_mounts_under_state_dir puts the pods' network namespace mounts in
// the state directory, where down unmounts them, rather than /run/netns.
func (c *cluster) containerdConfig() string {
	// $CNIBIN before $CNI: the replacer tries the old strings in order.
	r := strings.NewReplacer("$STATE", c.path("containerd"), "$CNIBIN", cniBinDir,
		"$CNI", c.path("cni"), "$PAUSE", pauseImage)
	return r.Replace(`version = 2
root = "$STATE/root"
state = "$STATE/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$STATE/containerd.sock"

[ttrpc]
  address = "$STATE/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$STATE/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNIBIN"
    conf_dir = "$CNI/net.d"
`)
}

// cniConfig is a bridge network on c.podSubnet() with no masquerading: pods
// reach each other and the host (the bridge's address is their gateway),
// nothing beyond, and the plugin adds no iptables rules.
func (c *cluster) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "ferrykube",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": %q}]
      }
    },
    {"type": "loopback"}
  ]
}
`, c.bridgeName(), c.path("cni", "ipam"), c.podSubnet(), c.podSubnet())
}

// kubeletConfig: cgroup v1 allowed (failCgroupV1), the cgroupfs driver
// under c.cgroupRoot(), no swap check, no static pods, TLS with the cluster CA,
// eviction and image garbage collection kept out of the way (a build
// machine's disk is often fuller than the defaults tolerate, and image GC
// would delete the imported images, which cannot be pulled again).
func (c *cluster) kubeletConfig() string {
	r := strings.NewReplacer("$STATE", c.State, "$SOCK", c.socket(),
		"$PORT", fmt.Sprint(c.Ports.Kubelet), "$HEALTH", fmt.Sprint(c.Ports.KubeletHealth),
		"$CGROOT", "/"+c.cgroupRoot())
	return r.Replace(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROOT
containerRuntimeEndpoint: unix://$SOCK
failSwapOn: false
address: 127.0.0.1
port: $PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $HEALTH
tlsCertFile: $STATE/pki/kubelet-serving.crt
tlsPrivateKeyFile: $STATE/pki/kubelet-serving.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: $STATE/pki/ca.crt
authorization:
  mode: AlwaysAllow
podLogsDir: $STATE/pod-logs
makeIPTablesUtilChains: false
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`)
}

// kubeconfig for one client certificate of writePKI.
func (c *cluster) kubeconfig(who string) string {
	r := strings.NewReplacer("$PKI", c.path("pki"), "$URL", c.apiURL(), "$WHO", who)
	return r.Replace(`apiVersion: v1
kind: Config
clusters:
- name: ferry-kube
  cluster:
    server: $URL
    certificate-authority: $PKI/ca.crt
users:
- name: $WHO
  user:
    client-certificate: $PKI/$WHO.crt
    client-key: $PKI/$WHO.key
contexts:
- name: ferry-kube
  context:
    cluster: ferry-kube
    user: $WHO
    namespace: default
current-context: ferry-kube
`)
}

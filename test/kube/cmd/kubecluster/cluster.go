package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// The components, in the order up starts them. down stops them in reverse,
// except that the kubelet's pods are killed before containerd and the
// apiserver before etcd (an apiserver without etcd retries for minutes).
const (
	compContainerd = "containerd"
	compEtcd       = "etcd"
	compAPIServer  = "kube-apiserver"
	compController = "kube-controller-manager"
	compScheduler  = "kube-scheduler"
	compKubelet    = "kubelet"
)

var startOrder = []string{compContainerd, compEtcd, compAPIServer, compController, compScheduler, compKubelet}

// Names of what the cluster creates outside its state directory.
const (
	// serviceSubnet holds the services' cluster IPs, which nothing routes
	// (there is no kube-proxy).
	serviceSubnet = "10.218.0.0/24"
	serviceIP     = "10.218.0.1"
	// nodeName is the node's name and the host name the apiserver dials for
	// logs, exec and attach (--kubelet-preferred-address-types=Hostname).
	nodeName = "localhost"
	// pauseImage is every pod's sandbox image, built by kubepause and
	// imported at up: no registry is reachable here.
	pauseImage = "docker.io/ferry/kube-pause:1"
)

// cluster is one cluster's layout, kept in <state>/cluster.json so that
// status and down know the ports and binaries after up has exited.
type cluster struct {
	State string `json:"state"`
	Bin   string `json:"bin"`
	Ports ports  `json:"ports"`
}

// ports are picked free at up; every server listens on 127.0.0.1 only.
type ports struct {
	EtcdClient    int `json:"etcdClient"`
	EtcdPeer      int `json:"etcdPeer"`
	APIServer     int `json:"apiServer"`
	Controller    int `json:"controller"`
	Scheduler     int `json:"scheduler"`
	Kubelet       int `json:"kubelet"`
	KubeletHealth int `json:"kubeletHealth"`
}

// stateHash tells clusters in different state directories apart in the
// names they use outside it, so two can run side by side and one's down
// leaves the other alone.
func (c *cluster) stateHash() [sha256.Size]byte { return sha256.Sum256([]byte(c.State)) }

// cgroupRoot holds the kubelet's kubepods hierarchy in every cgroup v1
// controller, so the cluster's pods are told apart from Docker's.
func (c *cluster) cgroupRoot() string {
	h := c.stateHash()
	return "ferry-kube-" + hex.EncodeToString(h[:4])
}

// bridgeName is the pod network's bridge (the CNI bridge plugin); a
// device name has at most 15 bytes.
func (c *cluster) bridgeName() string {
	h := c.stateHash()
	return "fkube" + hex.EncodeToString(h[:4])
}

// podSubnet is the pod network, one /24 of 10.217.0.0/16.
func (c *cluster) podSubnet() string {
	return fmt.Sprintf("10.217.%d.0/24", c.stateHash()[4])
}

func (c *cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.State}, elem...)...)
}

func (c *cluster) binary(name string) string { return filepath.Join(c.Bin, name) }

func (c *cluster) socket() string { return c.path("containerd", "containerd.sock") }

func (c *cluster) apiURL() string { return fmt.Sprintf("https://127.0.0.1:%d", c.Ports.APIServer) }

func (c *cluster) save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.path("cluster.json"), b, 0o600)
}

func loadCluster(dir string) (*cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return nil, fmt.Errorf("no cluster in %s: %w", dir, err)
	}
	var c cluster
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s/cluster.json: %w", dir, err)
	}
	c.State = dir
	return &c, nil
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. They
// are closed again before the servers bind them; the window is short and
// nothing else on the machine binds loopback ports by number.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func newCluster(dir, bin string) (*cluster, error) {
	p, err := freePorts(7)
	if err != nil {
		return nil, fmt.Errorf("free ports: %w", err)
	}
	return &cluster{State: dir, Bin: bin, Ports: ports{
		EtcdClient: p[0], EtcdPeer: p[1], APIServer: p[2], Controller: p[3],
		Scheduler: p[4], Kubelet: p[5], KubeletHealth: p[6],
	}}, nil
}

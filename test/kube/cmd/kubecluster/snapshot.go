package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// snapshot is what the host looks like from outside the cluster: up saves
// one before starting anything and down compares the host against it
// after cleaning up. Processes are not compared wholesale (other work on
// the machine starts and ends its own); leftovers of ours are found by
// signature (ownLeftovers).
type snapshot struct {
	Mounts   []string `json:"mounts"`   // mount points
	Iptables []string `json:"iptables"` // iptables-save and ip6tables-save lines, counters cut
	Links    []string `json:"links"`    // network device names
}

func takeSnapshot() (*snapshot, error) {
	var s snapshot
	var err error
	if s.Mounts, err = mountPoints(); err != nil {
		return nil, err
	}
	if s.Iptables, err = iptablesLines(); err != nil {
		return nil, err
	}
	links, err := listLinks()
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		s.Links = append(s.Links, l.Name)
	}
	return &s, nil
}

func (s *snapshot) save(path string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func loadSnapshot(path string) (*snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s snapshot
	return &s, json.Unmarshal(b, &s)
}

// mountPoints lists /proc/self/mountinfo's mount points, octal escapes
// (\040 for a space) left as they are.
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 {
			out = append(out, fields[4])
		}
	}
	return out, sc.Err()
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// iptablesLines is both families' rule sets, comments and counters cut.
func iptablesLines() ([]string, error) {
	var out []string
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		b, err := exec.Command(tool).Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
		table := ""
		for _, line := range strings.Split(string(b), "\n") {
			if line == "" || line[0] == '#' || line == "COMMIT" {
				continue
			}
			if line[0] == '*' {
				table = line[1:]
				continue
			}
			out = append(out, tool+" "+table+" "+counters.ReplaceAllString(line, ""))
		}
	}
	return out, nil
}

type link struct {
	Name   string `json:"ifname"`
	Master string `json:"master"`
}

func listLinks() ([]link, error) {
	b, err := exec.Command("ip", "-j", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip link: %w", err)
	}
	var ls []link
	return ls, json.Unmarshal(b, &ls)
}

// dockerOwned says whether a new mount, rule or device belongs to the
// machine's Docker engine, which other work uses while the cluster runs:
// its containers' mounts, chains and veth devices come and go, and are
// no leak of ours. Docker names a veth "veth" and 7 hex digits; the CNI
// bridge plugin uses 8.
func dockerOwned(kind, item, master string) bool {
	switch kind {
	case "mount":
		for _, p := range []string{"/var/lib/docker/", "/run/docker/", "/run/containerd/io.containerd.", "/var/run/docker/"} {
			if strings.HasPrefix(item, p) {
				return true
			}
		}
	case "iptables":
		return strings.Contains(item, "DOCKER") || strings.Contains(item, "docker") || strings.Contains(item, "br-")
	case "link":
		return master == "docker0" || strings.HasPrefix(master, "br-") || strings.HasPrefix(item, "br-") ||
			(strings.HasPrefix(item, "veth") && len(item) == len("veth")+7)
	}
	return false
}

// otherCluster says whether a new mount or device belongs to another
// kubecluster on the machine (another state directory, e.g. another
// clone's make kube-test): its pods come and go as Docker's do.
func otherCluster(c *cluster, kind, item, master string) bool {
	switch kind {
	case "mount":
		for d := filepath.Dir(item); d != "/" && d != "."; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "baseline.json")); err == nil {
				return d != c.State
			}
		}
	case "link":
		other := func(n string) bool { return strings.HasPrefix(n, "fkube") && n != c.bridgeName() }
		return other(item) || other(master)
	}
	return false
}

// clusterMountPlace says whether a mount point lies where a cluster's
// components mount things: the state directory, and the default places
// of network namespaces, the kubelet, containerd and cgroups. Other work
// on the machine mounts elsewhere (a test's tmpfs in /tmp), and is no
// leak of ours.
func clusterMountPlace(c *cluster, m string) bool {
	for _, p := range []string{c.State + "/", "/run/netns/", "/var/run/netns/", "/var/lib/kubelet/",
		"/run/containerd/", "/var/lib/containerd/", "/sys/fs/cgroup/", "/var/log/pods/"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// compare lists what the host has now that base did not, less Docker's
// and other clusters'.
func compare(c *cluster, base *snapshot) ([]string, error) {
	now, err := takeSnapshot()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range now.Mounts {
		if !slices.Contains(base.Mounts, m) && clusterMountPlace(c, m) &&
			!dockerOwned("mount", m, "") && !otherCluster(c, "mount", unescapeMount(m), "") {
			out = append(out, "mount "+m)
		}
	}
	for _, r := range now.Iptables {
		if !slices.Contains(base.Iptables, r) && !dockerOwned("iptables", r, "") {
			out = append(out, r)
		}
	}
	links, err := listLinks()
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if !slices.Contains(base.Links, l.Name) && !dockerOwned("link", l.Name, l.Master) && !otherCluster(c, "link", l.Name, l.Master) {
			out = append(out, "network device "+l.Name)
		}
	}
	return out, nil
}

// ownLeftovers finds what the cluster may leave whatever the baseline
// says: processes whose command line names the state or binary directory
// or that live in the kubelet's cgroups, mounts under the state directory,
// the kubelet's and CNI's iptables chains, the pod bridge, the cgroups.
func ownLeftovers(c *cluster) []string {
	var out []string
	for _, p := range ownProcesses(c) {
		out = append(out, fmt.Sprintf("process %d: %s", p.pid, p.cmdline))
	}
	mounts, _ := mountPoints()
	for _, m := range mounts {
		if strings.HasPrefix(m, c.State+"/") {
			out = append(out, "mount "+m)
		}
	}
	lines, _ := iptablesLines()
	for _, l := range lines {
		if ownChainLine(l) {
			out = append(out, l)
		}
	}
	if _, err := os.Stat("/sys/class/net/" + c.bridgeName()); err == nil {
		out = append(out, "network device "+c.bridgeName())
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + c.cgroupRoot())
	for _, d := range dirs {
		out = append(out, "cgroup "+d)
	}
	return out
}

// ownChainLine: a KUBE-* or CNI-* chain, or a rule that jumps to one.
func ownChainLine(line string) bool {
	return strings.Contains(line, ":KUBE-") || strings.Contains(line, ":CNI-") ||
		strings.Contains(line, "-j KUBE-") || strings.Contains(line, "-j CNI-") ||
		strings.Contains(line, "-A KUBE-") || strings.Contains(line, "-A CNI-")
}

type proc struct {
	pid     int
	cmdline string
}

// ownProcesses: every process but this one that runs one of the cluster's
// binaries (ownBinary) or that runs in the kubelet's cgroup root (the
// pods' containers). A shell whose command line merely
// mentions the state directory (make's recipe) is not one.
func ownProcesses(c *cluster) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(raw) == 0 {
			continue // gone, or a kernel thread or zombie
		}
		cmdline := string(bytes.ReplaceAll(bytes.TrimRight(raw, "\x00"), []byte{0}, []byte{' '}))
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if ownBinary(c, exe, cmdline) || strings.Contains(string(cg), ":/"+c.cgroupRoot()+"/") {
			out = append(out, proc{pid, cmdline})
		}
	}
	return out
}

// ownBinary: the process runs a cluster component (a binary from the bin
// directory, containerd or its shim) with this cluster's state directory
// on its command line. Both are needed: the bin directory is a cache that
// other clusters (other state directories) run from too.
func ownBinary(c *cluster, exe, cmdline string) bool {
	if !strings.Contains(cmdline, c.State+"/") {
		return false
	}
	if c.Bin != "" && strings.HasPrefix(exe, c.Bin+"/") {
		return true
	}
	switch filepath.Base(exe) {
	case "containerd", "containerd-shim-runc-v2", "etcd", "kube-apiserver",
		"kube-controller-manager", "kube-scheduler", "kubelet":
		return true
	}
	return false
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// down stops the cluster in dir and removes everything it made, then
// checks the host against the baseline up saved. It needs only the state
// directory, so it also cleans up after a crashed or interrupted up; with
// no state directory there is nothing to do.
func down(dir string) error {
	start := time.Now()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Printf("kubecluster: no cluster in %s\n", dir)
		return nil
	}
	c, err := loadCluster(dir)
	if err != nil {
		// up died before writing cluster.json: find what it started by
		// signature alone.
		c = &cluster{State: dir}
	}
	base, baseErr := loadSnapshot(c.path("baseline.json"))
	var errs []error
	c.stopAll()
	errs = append(errs, unmountUnder(c.State))
	errs = append(errs, removeChains())
	errs = append(errs, c.removeLinks())
	errs = append(errs, c.removeCgroupRoot())
	removePodLogLinks(c.State)
	errs = append(errs, os.RemoveAll(c.State))
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster: cleanup:", err)
	}
	left := ownLeftovers(c)
	if baseErr == nil {
		more, err := compare(c, base)
		if err != nil {
			return err
		}
		for _, m := range more {
			if !slices.Contains(left, m) {
				left = append(left, m)
			}
		}
	} else {
		fmt.Fprintln(os.Stderr, "kubecluster: no baseline to compare the host with; checked the cluster's own traces only")
	}
	if len(left) > 0 {
		return fmt.Errorf("down left %d things behind:\n  %s", len(left), strings.Join(left, "\n  "))
	}
	fmt.Printf("kubecluster: down in %.1fs; no process, mount, iptables rule, network device or cgroup left behind\n", time.Since(start).Seconds())
	return nil
}

// stopAll stops the components in an order that lets each stop cleanly:
// the kubelet first (else it restarts what goes), then the pods'
// processes and containerd's shims, containerd, then the apiserver before
// etcd (the other way round the apiserver retries etcd for minutes).
// Whatever still runs afterwards is killed by signature.
func (c *cluster) stopAll() {
	for _, comp := range []string{compKubelet, compScheduler, compController} {
		report(c.stop(comp, 10*time.Second))
	}
	c.killOwn(func(p proc) bool {
		return !strings.Contains(p.cmdline, "--config "+c.path("containerd", "config.toml"))
	})
	report(c.stop(compContainerd, 10*time.Second))
	report(c.stop(compAPIServer, 15*time.Second))
	report(c.stop(compEtcd, 10*time.Second))
	c.killOwn(func(proc) bool { return true })
}

// killOwn SIGKILLs every process of ownProcesses that pick selects, a few
// rounds (a dying shim may leave a child a moment longer).
func (c *cluster) killOwn(pick func(proc) bool) {
	for range 5 {
		var picked []proc
		for _, p := range ownProcesses(c) {
			if pick(p) {
				picked = append(picked, p)
			}
		}
		if len(picked) == 0 {
			return
		}
		for _, p := range picked {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		for _, p := range picked {
			waitGone(p.pid, 5*time.Second)
		}
	}
}

func report(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
	}
}

// unmountUnder unmounts every mount below dir, deepest first, until none
// is left: the kubelet's volumes (the Memory emptyDirs), containerd's
// rootfs, shm and network-namespace mounts. A busy mount is detached.
func unmountUnder(dir string) error {
	for round := 0; round < 10; round++ {
		mounts, err := mountPoints()
		if err != nil {
			return err
		}
		var ours []string
		for _, m := range mounts {
			if m = unescapeMount(m); strings.HasPrefix(m, dir+"/") {
				ours = append(ours, m)
			}
		}
		if len(ours) == 0 {
			return nil
		}
		slices.SortFunc(ours, func(a, b string) int { return len(b) - len(a) })
		for _, m := range ours {
			if err := syscall.Unmount(m, 0); err != nil {
				_ = syscall.Unmount(m, syscall.MNT_DETACH)
			}
		}
	}
	return fmt.Errorf("mounts under %s survive 10 rounds of umount", dir)
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash.
func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// removeChains deletes the kubelet's KUBE-* and the CNI plugins' CNI-*
// chains in both families and every table, and the rules that jump to
// them. The kubelet leaves KUBE-FIREWALL behind, which drops traffic to
// 127.0.0.0/8 that does not come from loopback. Docker's chains are not
// touched.
func removeChains() error {
	var errs []error
	for _, fam := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			errs = append(errs, removeTableChains(fam, table))
		}
	}
	return errors.Join(errs...)
}

func removeTableChains(fam, table string) error {
	out, err := exec.Command(fam, "-w", "-t", table, "-S").Output()
	if err != nil {
		return nil // the table does not exist in this family
	}
	var chains []string
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "-N" && ownChain(f[1]):
			chains = append(chains, f[1])
		case len(f) > 2 && f[0] == "-A" && !ownChain(f[1]) && jumpsToOwn(f):
			// A jump into one of ours from a built-in or foreign chain.
			args := append([]string{"-w", "-t", table, "-D"}, f[1:]...)
			if b, err := exec.Command(fam, args...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w: %s", fam, strings.Join(args, " "), err, b))
			}
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, ch := range chains {
			if b, err := exec.Command(fam, "-w", "-t", table, op, ch).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s -t %s %s %s: %w: %s", fam, table, op, ch, err, b))
			}
		}
	}
	return errors.Join(errs...)
}

func ownChain(name string) bool {
	return strings.HasPrefix(name, "KUBE-") || strings.HasPrefix(name, "CNI-")
}

func jumpsToOwn(f []string) bool {
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && ownChain(f[i+1]) {
			return true
		}
	}
	return false
}

// removeLinks deletes the pod bridge and any veth still attached to it
// (their pods' network namespaces normally take them along).
func (c *cluster) removeLinks() error {
	links, err := listLinks()
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		if l.Master == c.bridgeName() || l.Name == c.bridgeName() {
			if b, err := exec.Command("ip", "link", "delete", l.Name).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link delete %s: %w: %s", l.Name, err, b))
			}
		}
	}
	return errors.Join(errs...)
}

// removePodLogLinks removes the kubelet's symlinks in /var/log/containers
// that point into the state directory.
func removePodLogLinks(dir string) {
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil && strings.HasPrefix(target, dir+"/") {
			_ = os.Remove(l)
		}
	}
}

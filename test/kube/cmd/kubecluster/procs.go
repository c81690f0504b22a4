package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// args are each component's command line.
func (c *cluster) args(comp string) (string, []string) {
	pki := func(f string) string { return c.path("pki", f) }
	p := c.Ports
	switch comp {
	case compContainerd:
		return "/usr/bin/containerd", []string{"--config", c.path("containerd", "config.toml")}
	case compEtcd:
		peer := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
		client := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdClient)
		return c.binary("etcd"), []string{"--name", "ferry-kube", "--data-dir", c.path("etcd"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "ferry-kube=" + peer, "--unsafe-no-fsync", "--log-level", "warn"}
	case compAPIServer:
		return c.binary("kube-apiserver"), []string{
			fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", p.EtcdClient),
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", p.APIServer), "--cert-dir=" + c.path("apiserver"),
			"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
			"--client-ca-file=" + pki("ca.crt"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + pki("sa.pub"), "--service-account-signing-key-file=" + pki("sa.key"),
			"--service-cluster-ip-range=" + serviceSubnet,
			"--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
			"--kubelet-preferred-address-types=Hostname",
			"--kubelet-certificate-authority=" + pki("ca.crt"),
			"--kubelet-client-certificate=" + pki("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + pki("apiserver-kubelet-client.key"),
			// The "kubernetes" service's endpoint would be 127.0.0.1, which
			// the API refuses; nothing here routes service IPs anyway.
			"--endpoint-reconciler-type=none",
			"--profiling=false", "--v=1"}
	case compController:
		return c.binary("kube-controller-manager"), []string{
			"--kubeconfig=" + c.path("controller-manager.kubeconfig"),
			"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", p.Controller),
			"--cert-dir=" + c.path("controller-manager"),
			"--service-account-private-key-file=" + pki("sa.key"), "--root-ca-file=" + pki("ca.crt"),
			// Each controller acts as its own service account, with the
			// roles the apiserver bootstraps for it; under the manager's
			// own user most of them are refused (the node lifecycle
			// controller could not lift the node's not-ready taint).
			"--use-service-account-credentials=true",
			"--leader-elect=false", "--profiling=false", "--v=1"}
	case compScheduler:
		return c.binary("kube-scheduler"), []string{
			"--kubeconfig=" + c.path("scheduler.kubeconfig"),
			"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", p.Scheduler),
			"--cert-dir=" + c.path("scheduler"),
			"--leader-elect=false", "--profiling=false", "--v=1"}
	case compKubelet:
		return c.binary("kubelet"), []string{
			"--config=" + c.path("kubelet-config.yaml"),
			"--kubeconfig=" + c.path("kubelet.kubeconfig"),
			"--root-dir=" + c.path("kubelet"), "--cert-dir=" + c.path("kubelet", "pki"),
			"--hostname-override=" + nodeName, "--v=1"}
	}
	panic("unknown component " + comp)
}

// start runs one component in its own session, so that signals meant for
// the caller (make, a Ctrl-C) do not reach it and it outlives up, with
// its output in <state>/logs/<comp>.log and its pid in <state>/pids.
func (c *cluster) start(comp string) error {
	name, args := c.args(comp)
	logf, err := os.OpenFile(c.path("logs", comp+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.State
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", comp, err)
	}
	if err := os.WriteFile(c.path("pids", comp+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	// Released, not waited for: the component outlives this process, and
	// init reaps it when it exits.
	return cmd.Process.Release()
}

// pid is the component's recorded pid and whether that process still runs
// the component's binary (a pid file outlives its process, and a pid can
// be reused).
func (c *cluster) pid(comp string) (int, bool) {
	b, err := os.ReadFile(c.path("pids", comp+".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	name, _ := c.args(comp)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return pid, false
	}
	want, _ := filepath.EvalSymlinks(name)
	return pid, exe == name || exe == want
}

// alive is pid(comp)'s verdict alone, for the wait loops.
func (c *cluster) alive(comp string) bool {
	_, ok := c.pid(comp)
	return ok
}

// stop sends SIGTERM to the component, SIGKILL after grace, and waits for
// it to be gone.
func (c *cluster) stop(comp string, grace time.Duration) error {
	pid, ok := c.pid(comp)
	if !ok {
		return nil
	}
	if err := killWait(pid, grace); err != nil {
		return fmt.Errorf("stop %s (pid %d): %w", comp, pid, err)
	}
	return nil
}

// killWait ends one process: SIGTERM, then SIGKILL after grace.
func killWait(pid int, grace time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, 10*time.Second) {
		return nil
	}
	return errors.New("still running after SIGKILL")
}

// waitGone polls until pid no longer exists or is a zombie.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the parenthesised command name.
		if s := string(b); strings.Contains(s[strings.LastIndexByte(s, ')')+1:], " Z ") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logTail is the end of a component's log, for error messages.
func (c *cluster) logTail(comp string, lines int) string {
	b, _ := os.ReadFile(c.path("logs", comp+".log"))
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

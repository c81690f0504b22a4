package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// upTimeout bounds each component's wait; the whole cluster is normally
// Ready within seconds.
const upTimeout = 2 * time.Minute

// up starts the cluster in dir. On failure the components already started
// keep running, their logs in <state>/logs: down cleans up.
func up(ctx context.Context, dir, bin string) error {
	start := time.Now()
	if err := checkBinaries(bin); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "cluster.json")); err == nil {
		return fmt.Errorf("%s holds a cluster already: run down first", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c, err := newCluster(dir, bin)
	if err != nil {
		return err
	}
	if err := c.prepare(); err != nil {
		return err
	}
	steps := []struct {
		comp  string
		ready func(context.Context) error
	}{
		{compContainerd, c.containerdReady},
		{compEtcd, c.etcdReady},
		{compAPIServer, c.apiReady},
		{compController, nil},
		{compScheduler, nil},
		{compKubelet, c.nodeReady},
	}
	for _, s := range steps {
		if err := c.start(s.comp); err != nil {
			return err
		}
		if s.comp == compContainerd {
			s.ready = c.containerdWithPause
		}
		if s.ready == nil {
			continue
		}
		if err := c.waitFor(ctx, s.comp, s.ready); err != nil {
			return err
		}
	}
	// Pods are refused in a namespace until the controller manager has
	// made its default service account: wait for default's.
	if err := c.waitFor(ctx, compController, c.defaultServiceAccount); err != nil {
		return err
	}
	if err := os.WriteFile(c.path("ready"), nil, 0o600); err != nil {
		return err
	}
	fmt.Printf("kubecluster: node %s Ready in %.1fs; kubeconfig %s\n", nodeName, time.Since(start).Seconds(), c.path("admin.kubeconfig"))
	return nil
}

func checkBinaries(bin string) error {
	if bin == "" {
		return errors.New("no binaries: pass -bin DIR or set FERRY_KUBE_BIN (scripts/kube-bin.sh builds them)")
	}
	if _, err := os.Stat(pausePath()); err != nil {
		return fmt.Errorf("no kubepause beside kubecluster: %w", err)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("missing %s in %s (scripts/kube-bin.sh builds it): %w", b, bin, err)
		}
	}
	for _, p := range []string{"/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2", cniBinDir + "/bridge"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("missing %s: install Debian's docker.io and containernetworking-plugins", p)
		}
	}
	return nil
}

// prepare writes everything the components read before any starts: the
// baseline that down compares against, directories, PKI, configs, and
// the kubelet's cgroup root.
func (c *cluster) prepare() error {
	base, err := takeSnapshot()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := base.save(c.path("baseline.json")); err != nil {
		return err
	}
	for _, d := range []string{"logs", "pids", "pod-logs", "kubelet"} {
		if err := os.MkdirAll(c.path(d), 0o700); err != nil {
			return err
		}
	}
	if err := c.save(); err != nil {
		return err
	}
	if err := writePKI(c.path("pki")); err != nil {
		return err
	}
	if err := c.writeConfigs(); err != nil {
		return err
	}
	return c.makeCgroupRoot()
}

// waitFor polls ready until it succeeds, the component exits, or upTimeout.
func (c *cluster) waitFor(ctx context.Context, comp string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		if !c.alive(comp) {
			return fmt.Errorf("%s exited: %v\n--- %s\n%s", comp, last, c.path("logs", comp+".log"), c.logTail(comp, 30))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %v\n--- %s\n%s", comp, last, c.path("logs", comp+".log"), c.logTail(comp, 30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *cluster) containerdReady(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket())
	if err != nil {
		return err
	}
	return conn.Close()
}

// containerdWithPause waits for the socket, then imports the sandbox image
// every pod needs.
func (c *cluster) containerdWithPause(ctx context.Context) error {
	if err := c.containerdReady(ctx); err != nil {
		return err
	}
	return c.importPause(ctx)
}

func (c *cluster) etcdReady(ctx context.Context) error {
	var v struct {
		Health string `json:"health"`
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports.EtcdClient)
	if err := getJSON(ctx, http.DefaultClient, url, &v); err != nil {
		return err
	}
	if v.Health != "true" {
		return fmt.Errorf("etcd health %q", v.Health)
	}
	return nil
}

func (c *cluster) apiReady(ctx context.Context) error {
	hc, err := c.adminClient()
	if err != nil {
		return err
	}
	return getJSON(ctx, hc, c.apiURL()+"/readyz", nil)
}

// nodeReady: the node registered and its Ready condition is True, which
// needs the runtime and the CNI network up.
func (c *cluster) nodeReady(ctx context.Context) error {
	hc, err := c.adminClient()
	if err != nil {
		return err
	}
	var node struct {
		Status struct {
			Conditions []struct {
				Type, Status, Message string
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := getJSON(ctx, hc, c.apiURL()+"/api/v1/nodes/"+nodeName, &node); err != nil {
		return err
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == "Ready" && cond.Status == "True" {
			return nil
		}
		if cond.Type == "Ready" {
			return fmt.Errorf("node not Ready: %s", cond.Message)
		}
	}
	return errors.New("node has no Ready condition yet")
}

func (c *cluster) defaultServiceAccount(ctx context.Context) error {
	hc, err := c.adminClient()
	if err != nil {
		return err
	}
	return getJSON(ctx, hc, c.apiURL()+"/api/v1/namespaces/default/serviceaccounts/default", nil)
}

// adminClient speaks TLS to the apiserver with the admin certificate.
func (c *cluster) adminClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(c.path("pki", "admin.crt"), c.path("pki", "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}, nil
}

// getJSON GETs url and decodes a 200 answer into v (nil: body ignored).
func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}

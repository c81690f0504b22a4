package kube

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/kube/kubetest"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// cluster is the test cluster with the images the tests need in it.
type cluster struct {
	rt     *Runtime
	images map[string]string // name -> reference
}

// requireCluster returns a runtime on the test cluster, or skips (fails
// under FERRY_REQUIRE_KUBE=1) without one. It builds the named images with
// Docker (runnertest.BuildImage) and imports them into the cluster, with
// Ferry's relay image as the helper.
func requireCluster(t testing.TB, images map[string]string) *cluster {
	t.Helper()
	path := kubetest.Require(t)
	runnertest.RequireDocker(t)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{"relay": runnertest.BuildImage(t, "relay", runnertest.RelayPkg)}
	for name, pkg := range images {
		refs[name] = runnertest.BuildImage(t, name, pkg)
	}
	for _, ref := range refs {
		kubetest.Import(t, ref)
	}
	rt, err := New(cfg, Options{Namespace: kubetest.Namespace(), HelperImage: refs["relay"], PullPolicy: corev1.PullNever,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &cluster{rt: rt, images: refs}
}

// leftovers lists the pods and Secrets still carrying a marker label.
func (c *cluster) leftovers(t *testing.T, marker string) []string {
	t.Helper()
	return c.labelled(t, runnertest.MarkerLabel+"="+marker)
}

// labelled lists the pods and Secrets that selector matches.
func (c *cluster) labelled(t *testing.T, selector string) []string {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	sel := metav1.ListOptions{LabelSelector: selector}
	var out []string
	pods, err := c.rt.core.Pods(c.rt.opts.Namespace).List(ctx, sel)
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		out = append(out, "pod "+p.Name)
	}
	secrets, err := c.rt.core.Secrets(c.rt.opts.Namespace).List(ctx, sel)
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	for _, s := range secrets.Items {
		out = append(out, "secret "+s.Name)
	}
	return out
}

// TestRuntimeAcceptance holds the Kubernetes runtime to the contract every
// runtime keeps (runner/runnertest), each run a one-container pod.
func TestRuntimeAcceptance(t *testing.T) {
	c := requireCluster(t, map[string]string{"testconn": runnertest.TestconnPkg})
	images := runnertest.TestImages{Testconn: c.images["testconn"], Missing: "ferry/no-such-image:never"}
	runnertest.RuntimeAcceptance(t, func(*testing.T) runner.Runtime { return c.rt }, images, c.leftovers)
}

// TestOOMKilled: a connector over its memory limit is reported as
// OOM-killed, from the container's Kubernetes reason.
func TestOOMKilled(t *testing.T) {
	c := requireCluster(t, map[string]string{"testconn": runnertest.TestconnPkg})
	spec := runner.ConnectorSpec{
		Name: "ferry-test-oom", Image: c.images["testconn"], Args: []string{"alloc", "512", "out", "survived"},
		Resources: runner.Resources{MemoryBytes: 32 << 20}, Labels: map[string]string{runner.LabelInstance: "kube-oom"},
	}
	status, err := c.rt.Run(t.Context(), spec, runner.Stdio{Out: io.Discard, Err: io.Discard})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := (runner.ExitStatus{Code: 137, OOMKilled: true}); status != want {
		t.Errorf("status: got %+v, want %+v", status, want)
	}
	if left := c.labelled(t, runner.LabelInstance+"=kube-oom"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestStrictPod: a strict connector runs as a non-root user on a
// read-only root filesystem, reads its files, and writes only to /tmp and
// its own directories.
func TestStrictPod(t *testing.T) {
	c := requireCluster(t, map[string]string{"testconn": runnertest.TestconnPkg})
	run := func(args ...string) (string, runner.ExitStatus, error) {
		var out, errOut strings.Builder
		spec := runner.ConnectorSpec{Name: "ferry-test-strict", Image: c.images["testconn"], Args: args, WorkDir: "/source",
			Files:     map[string][]byte{"/source/config.json": []byte(`{"k":1}`)},
			Hardening: runner.HardeningStrict, Labels: map[string]string{runner.LabelInstance: "kube-strict"}}
		st, err := c.rt.Run(t.Context(), spec, runner.Stdio{Out: &out, Err: &errOut})
		return out.String() + errOut.String(), st, err
	}
	out, st, err := run("cat", "/source/config.json", "write", "/tmp/x", "ok", "write", "/source/y", "ok", "env", "HOME")
	if err != nil || st.Code != 0 || !strings.Contains(out, `{"k":1}`) || !strings.Contains(out, "HOME=/tmp") {
		t.Fatalf("strict run: %+v, %v, output %q", st, err, out)
	}
	out, st, err = run("write", "/rootfs-file", "no")
	if err != nil || st.Code == 0 || !strings.Contains(out, "read-only file system") {
		t.Errorf("write to the root filesystem: %+v, %v, output %q; want a read-only failure", st, err, out)
	}
	if left := c.labelled(t, runner.LabelInstance+"=kube-strict"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

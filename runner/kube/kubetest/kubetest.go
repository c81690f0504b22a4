// Package kubetest gives tests the Kubernetes cluster that `make
// kube-test` starts (scripts/kube-test.sh): its kubeconfig, and a way to
// put the images a test built with Docker into the cluster's image store.
// Without a cluster the tests skip, or fail under FERRY_REQUIRE_KUBE=1.
package kubetest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment of the tests, set by make kube-test.
const (
	// EnvKubeconfig names the test cluster's kubeconfig.
	EnvKubeconfig = "FERRY_KUBECONFIG"
	// EnvRequire, set to 1, fails the tests instead of skipping them when
	// there is no cluster.
	EnvRequire = "FERRY_REQUIRE_KUBE"
	// EnvImport is a command that copies Docker images into the cluster's
	// image store, the references following its own arguments, e.g.
	// "bin/kube/kubecluster -state /tmp/ferry-kube import".
	EnvImport = "FERRY_KUBE_IMPORT"
	// EnvNamespace is the namespace the tests use (default "default").
	EnvNamespace = "FERRY_KUBE_NAMESPACE"
)

// Require returns the test cluster's kubeconfig path, or skips the test
// (fails it under FERRY_REQUIRE_KUBE=1) when there is none.
func Require(t testing.TB) string {
	t.Helper()
	path := os.Getenv(EnvKubeconfig)
	if path == "" {
		msg := "no Kubernetes cluster: set " + EnvKubeconfig + " (make kube-test starts one and sets it); " +
			EnvRequire + "=1 fails instead of skipping"
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// Namespace is the namespace tests run their pods in.
func Namespace() string {
	if ns := os.Getenv(EnvNamespace); ns != "" {
		return ns
	}
	return "default"
}

var (
	mu       sync.Mutex
	imported = map[string]bool{}
)

// Import copies Docker images into the cluster, once per test process.
func Import(t testing.TB, refs ...string) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	var todo []string
	for _, ref := range refs {
		if !imported[ref] {
			todo = append(todo, ref)
		}
	}
	if len(todo) == 0 {
		return
	}
	argv := strings.Fields(os.Getenv(EnvImport))
	if len(argv) == 0 {
		t.Fatalf("%s is not set: the test cannot put its images into the cluster", EnvImport)
	}
	cmd := exec.Command(argv[0], append(argv[1:], todo...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import %v: %v\n%s", todo, err, out)
	}
	for _, ref := range todo {
		imported[ref] = true
	}
}

// DeletePods deletes the pods of namespace that selector matches, as
// `kubectl delete pod -l selector` would (with the default grace period),
// and returns how many it deleted.
func DeletePods(t testing.TB, kubeconfig, namespace, selector string) int {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIPath, cfg.GroupVersion = "/api", &corev1.SchemeGroupVersion
	sch := runtime.NewScheme()
	if err := corev1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(sch).WithoutConversion()
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pods corev1.PodList
	if err := rc.Get().Namespace(namespace).Resource("pods").Param("labelSelector", selector).
		Do(context.Background()).Into(&pods); err != nil {
		t.Fatalf("list pods %s: %v", selector, err)
	}
	for _, p := range pods.Items {
		if err := rc.Delete().Namespace(namespace).Resource("pods").Name(p.Name).Do(context.Background()).Error(); err != nil {
			t.Fatalf("delete pod %s: %v", p.Name, err)
		}
	}
	return len(pods.Items)
}

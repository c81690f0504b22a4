// Package smoke checks the test cluster that `make kube-test` starts
// (test/kube/cmd/kubecluster) with Ferry's own connector images, before
// the Kubernetes runtime's suites rely on it: a one-container pod whose
// output is read back through the API's log stream, and the pod shape the
// runtime uses for socket mode, a source and a destination sharing a
// Memory emptyDir for the sockets, run to completion with the records
// counted on both sides.
//
// It needs FERRY_KUBECONFIG (the cluster's admin kubeconfig) and the
// images ferry/source-faker and ferry/destination-jsonl imported into the
// cluster under FERRY_KUBE_IMAGE_TAG (default dev). Without a kubeconfig
// it skips, or fails under FERRY_REQUIRE_KUBE=1.
package smoke

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// cluster connects to the cluster FERRY_KUBECONFIG names and gives the
// test a fresh namespace, deleted at the end.
func cluster(t *testing.T) (*kubernetes.Clientset, string) {
	t.Helper()
	path := os.Getenv("FERRY_KUBECONFIG")
	if path == "" {
		if os.Getenv("FERRY_REQUIRE_KUBE") == "1" {
			t.Fatal("FERRY_REQUIRE_KUBE=1 but FERRY_KUBECONFIG is unset: run `make kube-test`, which starts a cluster and sets it")
		}
		t.Skip("no Kubernetes cluster: set FERRY_KUBECONFIG (make kube-test does), or FERRY_REQUIRE_KUBE=1 to fail instead")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", path, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "ferry-smoke-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	// The API refuses pods in a namespace until the controller manager
	// has made its default service account.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s never got its default service account: %v", ns.Name, err)
	}
	return cs, ns.Name
}

func image(name string) string {
	tag := os.Getenv("FERRY_KUBE_IMAGE_TAG")
	if tag == "" {
		tag = "dev"
	}
	return "ferry/" + name + ":" + tag
}

// connector is a container running one of Ferry's connector images, whose
// entrypoint is /connector (scripts/build-images.sh): the images are FROM
// scratch and were imported, not pulled.
func connector(name, img string, args ...string) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           image(img),
		ImagePullPolicy: corev1.PullNever,
		Command:         append([]string{"/connector"}, args...),
	}
}

// runPod creates pod, waits until it ends, and deletes it.
func runPod(t *testing.T, cs *kubernetes.Clientset, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.AutomountServiceAccountToken = new(false)
	pod.Spec.EnableServiceLinks = new(false)
	start := time.Now()
	created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	t.Cleanup(func() {
		start := time.Now()
		deletePod(t, cs, ns, created.Name)
		t.Logf("pod %s: deleted and gone in %.1fs", created.Name, time.Since(start).Seconds())
	})
	last := created
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if err != nil {
		status, _ := json.MarshalIndent(last.Status, "", "  ")
		t.Fatalf("pod %s did not finish: %v\n%s", created.Name, err, status)
	}
	t.Logf("pod %s: created to %s in %.1fs", created.Name, last.Status.Phase, time.Since(start).Seconds())
	return last
}

// deletePod deletes the pod and waits until the API no longer has it.
func deletePod(t *testing.T, cs *kubernetes.Clientset, ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Errorf("delete pod %s: %v", name, err)
		return
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err != nil, nil
	})
	if err != nil {
		t.Errorf("pod %s still there after deletion: %v", name, err)
	}
}

// logs reads one container's output through the API, which fetches it
// from the kubelet (the path --kubelet-preferred-address-types=Hostname
// and the node name localhost make work).
func logs(t *testing.T, cs *kubernetes.Clientset, ns, pod, container string) []byte {
	t.Helper()
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("logs of %s/%s: %v", pod, container, err)
	}
	return b
}

// Command kubecluster starts and stops the throwaway single-node Kubernetes
// cluster that `make kube-test` runs Ferry's Kubernetes tests on: a second
// containerd (the one Debian's docker.io ships, with its own config, root,
// state and socket), etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and a kubelet, all on loopback, all in one state directory.
//
//	kubecluster -bin DIR [-state DIR] up      start, wait for the node to be Ready
//	kubecluster [-state DIR] import IMAGE...  docker save IMAGE | ctr images import
//	kubecluster [-state DIR] status           what runs, the kubeconfig's path
//	kubecluster [-state DIR] down             stop everything, clean up, check for leaks
//
// down works from the state directory alone (pid files, cluster.json), so it
// also cleans up after an up that crashed or was killed half way.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("kubecluster", flag.ContinueOnError)
	state := fs.String("state", defaultStateDir(), "state directory (certs, configs, data, logs, pid files)")
	bin := fs.String("bin", os.Getenv("FERRY_KUBE_BIN"), "directory holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet (kubepause is found beside kubecluster)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: kubecluster [-state DIR] [-bin DIR] up|down|status|import IMAGE...")
		return 2
	}
	dir, err := filepath.Abs(*state)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd := fs.Arg(0); cmd {
	case "up":
		err = up(ctx, dir, *bin)
	case "down":
		err = down(dir)
	case "status":
		err = status(dir)
	case "import":
		err = importImages(ctx, dir, fs.Args()[1:])
	default:
		err = fmt.Errorf("unknown command %q (want up, down, status or import)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
		return 1
	}
	return 0
}

// defaultStateDir is fixed rather than random so that a `down` after a
// crashed `up` finds what to clean. It is short: containerd's socket lives
// in it, and a unix socket path has at most 107 bytes.
func defaultStateDir() string {
	if d := os.Getenv("FERRY_KUBE_STATE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "ferry-kube")
}

// status prints the components' pids and whether they still run.
func status(dir string) error {
	c, err := loadCluster(dir)
	if err != nil {
		return err
	}
	for _, comp := range startOrder {
		pid, alive := c.pid(comp)
		state := "not running"
		if alive {
			state = "running"
		}
		fmt.Printf("%-24s pid %-7d %s\n", comp, pid, state)
	}
	fmt.Printf("kubeconfig               %s\n", c.path("admin.kubeconfig"))
	if _, err := os.Stat(c.path("ready")); errors.Is(err, os.ErrNotExist) {
		fmt.Println("the node was not Ready yet")
	}
	return nil
}

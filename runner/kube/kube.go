// Package kube is the Kubernetes runtime: each run of a connector, or each
// pair of connectors of a sync attempt, is one pod. It implements
// runner.Runtime (one-container pods for spec, check, discover and the
// runtime acceptance suite) and runner.PairRuntime (a source and a
// destination container in one pod, sharing a Memory emptyDir at
// runner.SocketDir in socket mode). docs/kubernetes.md explains the design.
//
// Ferry reaches the connectors only through the Kubernetes API: it
// attaches to each connector container's stdio, stops one connector with
// an exec of the shim's signal command, and stops a whole pod by deleting
// it. Nothing crosses through a host path. Configs and catalogs travel as
// a Secret created per pod and deleted with it, never in the pod spec.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrysync/ferry/runner"
)

// Options configure the runtime.
type Options struct {
	// Namespace holds every pod and Secret the runtime creates.
	Namespace string
	// HelperImage is Ferry's relay image (ferry/relay): its binary is the
	// connector containers' shim (package shim), copied into each pod by
	// an init container.
	HelperImage string
	// PullPolicy applies to connector images and the helper image. Empty
	// means IfNotPresent.
	PullPolicy corev1.PullPolicy
	// StartTimeout bounds how long a pod may take to get every container
	// running (scheduling, image pulls, volume mounts). Zero means 5 minutes.
	StartTimeout time.Duration
	// Logger receives the runtime's own warnings; nil discards them.
	Logger *slog.Logger
}

// Runtime runs connectors as pods.
type Runtime struct {
	cfg  *rest.Config
	core *coreClient
	opts Options
	log  *slog.Logger
}

var (
	_ runner.Runtime       = (*Runtime)(nil)
	_ runner.PairRuntime   = (*Runtime)(nil)
	_ runner.SocketVolumes = (*Runtime)(nil)
)

// DefaultStartTimeout is Options.StartTimeout's default.
const DefaultStartTimeout = 5 * time.Minute

// New returns a runtime on the cluster that cfg reaches.
func New(cfg *rest.Config, opts Options) (*Runtime, error) {
	if opts.Namespace == "" {
		return nil, errors.New("kubernetes runtime: no namespace")
	}
	if opts.HelperImage == "" {
		return nil, errors.New("kubernetes runtime: no helper image (Ferry's relay image)")
	}
	if opts.PullPolicy == "" {
		opts.PullPolicy = corev1.PullIfNotPresent
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Attach streams carry records: the client's default rate limit (5
	// requests per second) would throttle the pods' setup, not the data.
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	c, err := newCoreClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	return &Runtime{cfg: cfg, core: c, opts: opts, log: log}, nil
}

// LoadConfig returns the client config of a kubeconfig file, or the
// in-cluster config (the pod's service account) when path is empty.
func LoadConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no kubeconfig given and not running in a cluster: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// Namespace is where the runtime's pods run.
func (r *Runtime) Namespace() string { return r.opts.Namespace }

// InClusterNamespace is the namespace of the pod Ferry runs in, read from
// its service account, or "default" outside a cluster.
func InClusterNamespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// Name implements runner.Runtime.
func (r *Runtime) Name() string { return "kubernetes" }

// Ping checks that the namespace can be read, which needs a reachable API
// server and working credentials.
func (r *Runtime) Ping(ctx context.Context) error {
	if _, err := r.core.Pods(r.opts.Namespace).List(ctx, listOne); err != nil {
		return fmt.Errorf("kubernetes: list pods in namespace %s: %w", r.opts.Namespace, err)
	}
	return nil
}

// CreateSocketVolume implements runner.SocketVolumes: the socket volume of
// a pod is its own Memory emptyDir, made with the pod, so there is nothing
// to create; the name only tells RunPair to mount it.
func (r *Runtime) CreateSocketVolume(ctx context.Context, name string, labels map[string]string) (string, error) {
	return name, nil
}

// RemoveVolume implements runner.SocketVolumes: the emptyDir goes with its
// pod.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error { return nil }

// cleanupTimeout bounds each cleanup call, which runs on a context that a
// cancel cannot cut.
const cleanupTimeout = 2 * time.Minute

func detached(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// cancelled wraps runner.ErrCancelled with the context's reason.
func cancelled(cause error) error { return fmt.Errorf("%w: %v", runner.ErrCancelled, cause) }

// NoBridgeReason implements runner.NoBridge: a source's sockets are in
// its pod's emptyDir, which neither Ferry nor a relay pod can reach, so a
// source that speaks only SOCKET into a STDIO destination runs in stdio
// mode.
func (r *Runtime) NoBridgeReason() string {
	return "on Kubernetes the source's sockets are in its pod's own emptyDir, which Ferry cannot reach"
}

var (
	_ runner.NoBridge    = (*Runtime)(nil)
	_ runner.PumpRuntime = (*Runtime)(nil)
)

package daemon

import (
	"context"

	"fmt"
	corev1 "k8s.io/api/core/v1"
	"log/slog"
	"os"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/kube"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/store"
)

// ChooseRuntime returns the runtime cfg.Runtime asks for: docker, local,
// or with auto the Docker runtime when an engine answers within
// Runtime.PingTimeout and the local runtime otherwise. It logs which one
// it chose and why, since the two run different connector builds (images
// against bin/connectors).
func ChooseRuntime(ctx context.Context, cfg Config, instanceID string, log *slog.Logger) (runner.Runtime, error) {
	if cfg.Runtime.Kind == RuntimeKubernetes {
		rt, err := kubeRuntime(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("runtime kubernetes: %w", err)
		}
		log.Info("using the Kubernetes runtime: each attempt runs as a pod", "runtime", RuntimeKubernetes,
			"namespace", rt.Namespace())
		return rt, nil
	}
	if cfg.Runtime.Kind != RuntimeLocal {
		rt, err := dockerRuntime(ctx, cfg, instanceID, log)
		if err == nil {
			log.Info("using the Docker runtime: connectors run as containers of their images", "runtime", RuntimeDocker)
			return rt, nil
		}
		if cfg.Runtime.Kind == RuntimeDocker {
			return nil, fmt.Errorf("runtime docker: %w", err)
		}
		log.Info("no Docker engine answers; using the local runtime", "reason", err.Error())
	}
	if fi, err := os.Stat(cfg.Runtime.ConnectorsDir); err != nil || !fi.IsDir() {
		log.Warn("the local connectors directory is missing: build it with make connectors", "dir", cfg.Runtime.ConnectorsDir)
	}
	log.Info("using the local runtime: connectors run as local processes", "runtime", RuntimeLocal,
		"connectors_dir", cfg.Runtime.ConnectorsDir)
	return local.New(local.Options{Logger: log}), nil
}

func dockerRuntime(ctx context.Context, cfg Config, instanceID string, log *slog.Logger) (*docker.Runtime, error) {
	c, err := docker.NewClient()
	if err != nil {
		return nil, err
	}
	rt, err := docker.New(c, docker.Options{InstanceID: instanceID, Logger: log, BeforeStart: failpointBeforeStart()})
	if err != nil {
		c.Close()
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Runtime.PingTimeout)
	defer cancel()
	if err := rt.Ping(pctx); err != nil {
		c.Close()
		return nil, err
	}
	return rt, nil
}

// chooseDataChannel picks the attempt's data channel (chooseMode) and, in
// bridged mode, how Ferry reaches the source's sockets: the connection's
// bridge setting, else the daemon's, auto by default, decided by the
// runtime's probe
// (runner.ResolveBridge). When auto finds neither a shared directory nor
// the relay's image, the only-source-speaks-SOCKET case runs in stdio mode,
// and the reason says what to build.
func (d *Daemon) chooseDataChannel(ctx context.Context, c *store.Claim) (runner.Mode, error) {
	mode, err := chooseMode(c, "")
	if err != nil || mode.Mode != protocol.ModeBridged {
		return mode, err
	}
	src, err := d.connectorImage(c.SourceDefinition)
	if err != nil {
		return mode, err
	}
	want := d.cfg.Runtime.Bridge
	if c.Connection.Bridge != "" {
		want = c.Connection.Bridge
	}
	plan, err := runner.ResolveBridge(ctx, d.rt, runner.BridgeRequest{Want: want,
		SourceImage: src, RelayImage: d.cfg.Runtime.RelayImage})
	if err != nil {
		return mode, fmt.Errorf("bridged mode: %w", err)
	}
	if plan.Unavailable != "" {
		return chooseMode(c, plan.Unavailable)
	}
	mode.Bridge = plan.Bridge
	mode.Reason += "; " + plan.Reason
	return mode, nil
}

// attemptBridge is the path the attempt records: in bridged mode the one
// chosen (direct when none was named, as the runner then goes), else none.
func attemptBridge(m runner.Mode) string {
	switch {
	case m.Mode != protocol.ModeBridged:
		return ""
	case m.Bridge == "":
		return store.BridgeDirect
	}
	return m.Bridge
}

// kubeRuntime connects to the cluster of cfg and checks that the
// namespace's pods can be listed.
func kubeRuntime(ctx context.Context, cfg Config, log *slog.Logger) (*kube.Runtime, error) {
	kc := cfg.Runtime.Kubernetes
	rest, err := kube.LoadConfig(kc.Kubeconfig)
	if err != nil {
		return nil, err
	}
	ns := kc.Namespace
	if ns == "" {
		ns = kube.InClusterNamespace()
	}
	helper := cfg.Runtime.RelayImage
	if helper == "" {
		helper = runner.DefaultRelayImage
	}
	rt, err := kube.New(rest, kube.Options{Namespace: ns, HelperImage: helper,
		PullPolicy: corev1.PullPolicy(kc.PullPolicy), Logger: log})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Runtime.PingTimeout)
	defer cancel()
	if err := rt.Ping(pctx); err != nil {
		return nil, err
	}
	return rt, nil
}

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/local"
)

// ChooseRuntime returns the runtime cfg.Runtime asks for: docker, local,
// or with auto the Docker runtime when an engine answers within
// Runtime.PingTimeout and the local runtime otherwise. It logs which one
// it chose and why, since the two run different connector builds (images
// against bin/connectors).
func ChooseRuntime(ctx context.Context, cfg Config, instanceID string, log *slog.Logger) (runner.Runtime, error) {
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
	rt, err := docker.New(c, docker.Options{InstanceID: instanceID, Logger: log})
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

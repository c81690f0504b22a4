package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ferrysync/ferry/daemon"
)

// serve registers itself, so main.go's table stays the one place that
// lists the other commands and this file can be added or removed alone.
func init() {
	commands["serve"] = command{"run the daemon: scheduler, job queue and workers on a data dir", runServe}
}

// runServe is `ferry serve`: the configuration comes from the defaults,
// then FERRY_* variables, then flags; the daemon runs until SIGINT or
// SIGTERM, then shuts down gracefully (running syncs get
// --shutdown-grace to finish, then are cancelled and retried at the next
// start) and exits 0.
func runServe(ctx context.Context, e *env, args []string) error {
	cfg := daemon.DefaultConfig()
	lookup := func(k string) (string, bool) { v := e.getenv(k); return v, v != "" }
	if err := cfg.LoadEnv(lookup); err != nil {
		return usageError("%v", err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory: database, secrets key, instance ID, logs, local root (env FERRY_DATA_DIR)")
	fs.StringVar(&cfg.Runtime.Kind, "runtime", cfg.Runtime.Kind, "connector runtime: auto (Docker when an engine answers), docker or local (env FERRY_RUNTIME)")
	fs.StringVar(&cfg.Runtime.ConnectorsDir, "connectors-dir", cfg.Runtime.ConnectorsDir, "connector binaries for the local runtime (env FERRY_CONNECTORS_DIR)")
	fs.IntVar(&cfg.Workers.Count, "workers", cfg.Workers.Count, "syncs that may run at once (env FERRY_WORKERS)")
	fs.DurationVar(&cfg.Shutdown.Grace, "shutdown-grace", cfg.Shutdown.Grace, "on SIGTERM, how long running syncs may go on before they are cancelled (env FERRY_SHUTDOWN_GRACE)")
	fs.BoolVar(&cfg.Runtime.AllowHostNetwork, "allow-host-network", cfg.Runtime.AllowHostNetwork, "let connections run connectors on the host's network (networkMode host); off by default (env FERRY_ALLOW_HOST_NETWORK=true)")
	fs.BoolVar(&cfg.Runtime.FailOnCountMismatch, "fail-on-count-mismatch", cfg.Runtime.FailOnCountMismatch, "fail an attempt whose source, Ferry and destination record counts disagree, instead of warning (env FERRY_FAIL_ON_COUNT_MISMATCH=true)")
	fs.StringVar(&cfg.Web.Listen, "listen", cfg.Web.Listen, "address of the REST API (env FERRY_LISTEN)")
	metricsPublic := fs.Bool("metrics-public", e.getenv("FERRY_METRICS_PUBLIC") == "true", "serve /metrics without the API token (env FERRY_METRICS_PUBLIC=true)")
	// The URL's default is not shown in the help: it may hold a password.
	dbURL := fs.String("database-url", "", "postgres://... to share a PostgreSQL database with other replicas; empty keeps SQLite in the data dir (env FERRY_DATABASE_URL; FERRY_DATABASE_URL_FILE keeps the password out of the process list)")
	fs.StringVar(&cfg.Replica.ID, "replica-id", cfg.Replica.ID, "this replica's id on its attempts and containers; empty uses the data dir's instance ID (env FERRY_REPLICA_ID)")
	noDemo := fs.Bool("no-demo", false, "on first start, register the reference connectors but create no demo connection")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: ferry serve [flags]\n\nRuns the daemon on a data directory. On first start it registers the reference\nconnectors and a demo connection (faker -> jsonl under DATA-DIR/local/demo) that\nsyncs at once and then every hour.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(e.stderr, "\nEvery setting can also come from the environment:")
		for _, n := range daemon.EnvNames() {
			fmt.Fprintln(e.stderr, "  "+n)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: exitUsage}
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments %q", fs.Args())
	}
	if *dbURL != "" {
		cfg.Store.DatabaseURL = *dbURL
	}
	if err := cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	d, err := daemon.Open(ctx, cfg, daemon.Options{Logger: e.log, Bootstrap: true, NoDemo: *noDemo})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &exitError{code: exitUnavailable, msg: err.Error()}
	}
	defer d.Close()
	e.log.Info("ferry serve", "data_dir", cfg.DataDir, "instance", d.InstanceID(), "runtime", d.Runtime().Name())
	// The API stays up while Run drains running syncs, so their end can be
	// watched; it closes before the store does.
	srv, err := d.OpenWeb(daemon.WebOptions{Logger: e.log, MetricsPublic: *metricsPublic})
	if err != nil {
		return &exitError{code: exitUnavailable, msg: err.Error()}
	}
	defer srv.Close()
	return d.Run(ctx)
}

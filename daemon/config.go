package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// Config is the daemon's configuration. DefaultConfig alone gives a working
// setup; tests build values in code, and LoadEnv overlays FERRY_* variables
// (docker-compose), which cmd/ferry's flags override in turn.
type Config struct {
	// DataDir holds the database, the key file, the instance ID, attempt
	// logs and the local root. Default ./.ferry.
	DataDir   string
	Store     StoreConfig
	Runtime   RuntimeConfig
	Workers   WorkersConfig
	Scheduler SchedulerConfig
	Retry     RetryPolicy
	Logging   LoggingConfig
	Webhooks  WebhookConfig
	Web       WebConfig
	Shutdown  ShutdownConfig
	Replica   ReplicaConfig
}

// StoreConfig locates the database: SQLite in the data dir by default, or
// a PostgreSQL database that several replicas share. The key that encrypts
// secrets at rest is <DataDir>/secret.key, generated at first start (so
// the data dir alone is a complete backup of a SQLite install), or the
// file SecretKeyFile names, which replicas sharing PostgreSQL must all use.
type StoreConfig struct {
	// Path is the database file; empty means <DataDir>/ferry.db.
	Path string
	// BusyTimeout is how long a writer waits for SQLite's write lock.
	BusyTimeout time.Duration
	// DatabaseURL (postgres://...) selects PostgreSQL. It may hold a
	// password: it is never logged, only its redacted form.
	DatabaseURL string
	// DatabaseURLFile holds the URL instead, so the password stays out of
	// the process list and the environment.
	DatabaseURLFile string
	// SecretKeyFile is the secrets key; empty means <DataDir>/secret.key.
	SecretKeyFile string
}

// ReplicaConfig is this process's identity among the replicas sharing a
// database, and its leases.
type ReplicaConfig struct {
	// ID names the replica on its attempts and its containers' labels;
	// empty uses the instance ID kept in the data dir.
	ID string
	// Lease is how long a claimed attempt (and the scheduler's leadership)
	// stays this replica's without a heartbeat.
	Lease time.Duration
	// Heartbeat is how often leases are renewed; well under Lease.
	Heartbeat time.Duration
}

// Runtime kinds.
const (
	RuntimeAuto   = "auto"
	RuntimeDocker = "docker"
	RuntimeLocal  = "local"
	// RuntimeKubernetes runs each attempt as a pod (runner/kube); the
	// daemon then uses no Docker engine at all.
	RuntimeKubernetes = "kubernetes"
)

// KubernetesConfig configures the Kubernetes runtime.
type KubernetesConfig struct {
	// Kubeconfig is a kubeconfig file; empty uses the in-cluster config
	// (the service account of Ferry's pod).
	Kubeconfig string
	// Namespace holds the connector pods and their Secrets; empty is the
	// namespace Ferry's pod runs in, else "default".
	Namespace string
	// PullPolicy of connector images: IfNotPresent (default), Always or
	// Never.
	PullPolicy string
}

// RuntimeConfig chooses how connectors run.
type RuntimeConfig struct {
	// Kind is auto (Docker when an engine answers, else local), docker or
	// local.
	Kind string
	// ConnectorsDir holds the local connector binaries (make connectors),
	// used by the local runtime. Default bin/connectors.
	ConnectorsDir string
	// PingTimeout bounds the probe that decides auto.
	PingTimeout time.Duration
	// LocalRootVolume, when set, is the Docker volume destinations get at
	// /local instead of a bind mount of <data-dir>/local. Under docker
	// compose Ferry runs in a container, so <data-dir>/local is not a host
	// path: the same named volume is mounted there in Ferry's container
	// and passed by name to destination containers. Docker runtime only.
	LocalRootVolume string
	// Bridge is how bridged mode reaches the source's sockets: auto (a
	// probe: direct when the engine shares Ferry's temp directory, the
	// relay otherwise), direct or relay (runner.ResolveBridge).
	Bridge string
	// RelayImage is bridged mode's relay; default runner.DefaultRelayImage.
	RelayImage string
	// AllowHostNetwork lets a connection run its connectors with the
	// host's network stack (networkMode "host"). Off by default: a
	// connector on the host network reaches every service bound to the
	// host's loopback, Ferry's own API and the Docker engine's TCP port
	// included. Without it the API refuses the mode and an attempt of a
	// connection that already has it fails with a config_error.
	AllowHostNetwork bool
	// FailOnCountMismatch fails an attempt whose source, Ferry and
	// destination record counts disagree (G12) instead of warning.
	FailOnCountMismatch bool
	// Kubernetes configures the kubernetes runtime.
	Kubernetes KubernetesConfig
}

// WorkersConfig bounds concurrency.
type WorkersConfig struct {
	// Count is how many attempts run at once, across connections.
	Count int
}

// SchedulerConfig drives scheduled jobs.
type SchedulerConfig struct {
	// Tick is how often the scheduler and the queue look for due work.
	// Triggers also wake the queue at once, so this only bounds how late a
	// scheduled or backed-off job starts.
	Tick time.Duration
	// MissedAfter is how late a scheduled run may be seen before it counts
	// as missed (the daemon was down or the connection busy), after which
	// the connection's missed-run policy decides.
	MissedAfter time.Duration
}

// LoggingConfig shapes the daemon's own log and the attempt logs.
type LoggingConfig struct {
	// Level is debug, info, warn or error, and Format text or json. The
	// daemon logs to the *slog.Logger it is given; cmd/ferry builds that
	// logger from the same FERRY_LOG_LEVEL and FERRY_LOG_FORMAT variables.
	Level  string
	Format string
	// AttemptLogMaxBytes caps one attempt log; head and tail are kept.
	AttemptLogMaxBytes int64
	// RetentionAge removes attempt logs older than this (0 keeps them).
	RetentionAge time.Duration
	// RetentionBytes removes the oldest attempt logs while all of them
	// together are larger than this (0: no limit).
	RetentionBytes int64
}

// WebhookConfig bounds webhook delivery.
type WebhookConfig struct {
	// Timeout bounds one POST.
	Timeout time.Duration
	// MaxAttempts is how often one event is tried.
	MaxAttempts int
	// Backoff is the wait before the second try; it doubles after.
	Backoff time.Duration
}

// WebConfig is read by the web package (issue 7).
type WebConfig struct {
	// Listen is the API's address. It defaults to loopback only.
	Listen string
	// AccessTokenTTL is how long a token from POST /applications/token
	// lasts: 15 minutes by default, as in Airbyte, at most a day.
	AccessTokenTTL time.Duration
}

// ShutdownConfig bounds a graceful stop.
type ShutdownConfig struct {
	// Grace is how long running attempts may go on after SIGTERM before
	// they are cancelled.
	Grace time.Duration
	// CancelWait is how long, after cancelling, the daemon waits for
	// attempts to stop their connectors and commit before it gives up.
	CancelWait time.Duration
}

// DefaultConfig returns the configuration `ferry serve` runs with when
// nothing is set.
func DefaultConfig() Config {
	return Config{
		DataDir: ".ferry",
		Store:   StoreConfig{BusyTimeout: 10 * time.Second},
		Runtime: RuntimeConfig{Kind: RuntimeAuto, ConnectorsDir: filepath.Join("bin", "connectors"), PingTimeout: 3 * time.Second},
		Workers: WorkersConfig{Count: 2},
		Scheduler: SchedulerConfig{
			Tick:        5 * time.Second,
			MissedAfter: time.Minute,
		},
		Retry: DefaultRetryPolicy(),
		Logging: LoggingConfig{
			Level:              "info",
			Format:             "text",
			AttemptLogMaxBytes: 32 << 20,
			RetentionAge:       30 * 24 * time.Hour,
			RetentionBytes:     1 << 30,
		},
		Webhooks: WebhookConfig{Timeout: 10 * time.Second, MaxAttempts: 5, Backoff: time.Second},
		Web:      WebConfig{Listen: "127.0.0.1:8000", AccessTokenTTL: 15 * time.Minute},
		Shutdown: ShutdownConfig{Grace: 30 * time.Second, CancelWait: 45 * time.Second},
		Replica:  ReplicaConfig{Lease: 30 * time.Second, Heartbeat: 10 * time.Second},
	}
}

// ConfigError names the configuration field that is wrong.
type ConfigError struct {
	Field   string
	Message string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config %s: %s", e.Field, e.Message) }

// Validate checks every field and returns a *ConfigError for the first
// wrong one.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	positive := []struct {
		field string
		d     time.Duration
	}{
		{"Store.BusyTimeout", c.Store.BusyTimeout},
		{"Runtime.PingTimeout", c.Runtime.PingTimeout},
		{"Scheduler.Tick", c.Scheduler.Tick},
		{"Scheduler.MissedAfter", c.Scheduler.MissedAfter},
		{"Webhooks.Timeout", c.Webhooks.Timeout},
		{"Webhooks.Backoff", c.Webhooks.Backoff},
		{"Shutdown.Grace", c.Shutdown.Grace},
		{"Shutdown.CancelWait", c.Shutdown.CancelWait},
		{"Replica.Lease", c.Replica.Lease},
		{"Replica.Heartbeat", c.Replica.Heartbeat},
	}
	switch {
	case strings.TrimSpace(c.DataDir) == "":
		return bad("DataDir", "is required")
	case c.Runtime.Kind != RuntimeAuto && c.Runtime.Kind != RuntimeDocker && c.Runtime.Kind != RuntimeLocal && c.Runtime.Kind != RuntimeKubernetes:
		return bad("Runtime.Kind", "is %q, want auto, docker, local or kubernetes", c.Runtime.Kind)
	case !validPullPolicy(c.Runtime.Kubernetes.PullPolicy):
		return bad("Runtime.Kubernetes.PullPolicy", "is %q, want IfNotPresent, Always or Never", c.Runtime.Kubernetes.PullPolicy)
	case c.Runtime.Kind == RuntimeLocal && c.Runtime.ConnectorsDir == "":
		return bad("Runtime.ConnectorsDir", "is required by the local runtime")
	case c.Runtime.Bridge != "" && c.Runtime.Bridge != runner.BridgeAuto && c.Runtime.Bridge != runner.BridgeDirect && c.Runtime.Bridge != runner.BridgeRelay:
		return bad("Runtime.Bridge", "is %q, want auto, direct or relay", c.Runtime.Bridge)
	case c.Workers.Count < 1 || c.Workers.Count > 64:
		return bad("Workers.Count", "is %d, want 1 to 64", c.Workers.Count)
	case c.Logging.AttemptLogMaxBytes < 4096:
		return bad("Logging.AttemptLogMaxBytes", "is %d, want at least 4096", c.Logging.AttemptLogMaxBytes)
	case c.Logging.RetentionAge < 0:
		return bad("Logging.RetentionAge", "must not be negative")
	case c.Logging.RetentionBytes < 0:
		return bad("Logging.RetentionBytes", "must not be negative")
	case c.Webhooks.MaxAttempts < 1:
		return bad("Webhooks.MaxAttempts", "is %d, want at least 1", c.Webhooks.MaxAttempts)
	case c.Web.Listen == "":
		return bad("Web.Listen", "is required")
	case c.Web.AccessTokenTTL < time.Minute || c.Web.AccessTokenTTL > 24*time.Hour:
		return bad("Web.AccessTokenTTL", "is %s, want 1m to 24h", c.Web.AccessTokenTTL)
	}
	if _, err := ParseLogLevel(c.Logging.Level); err != nil {
		return bad("Logging.Level", "%v", err)
	}
	if c.Logging.Format != "text" && c.Logging.Format != "json" {
		return bad("Logging.Format", "is %q, want text or json", c.Logging.Format)
	}
	for _, p := range positive {
		if p.d <= 0 {
			return bad(p.field, "is %s, want a positive duration", p.d)
		}
	}
	if err := c.Retry.Validate(); err != nil {
		return err
	}
	return c.validateReplica(bad)
}

// validateReplica checks the database and replica settings. Messages
// never quote the database URL: it may hold a password.
func (c *Config) validateReplica(bad func(field, format string, args ...any) error) error {
	switch {
	case c.Store.DatabaseURL != "" && c.Store.DatabaseURLFile != "":
		return bad("Store.DatabaseURL", "set either FERRY_DATABASE_URL or FERRY_DATABASE_URL_FILE, not both")
	case c.Store.DatabaseURL != "" && !store.IsDatabaseURL(c.Store.DatabaseURL):
		return bad("Store.DatabaseURL", "must start with postgres:// or postgresql:// (leave it empty for SQLite in the data dir)")
	case c.Replica.ID != "" && !instanceIDRE.MatchString(c.Replica.ID):
		return bad("Replica.ID", "is %q, want 8 to 64 lowercase letters, digits and dashes", c.Replica.ID)
	case c.Replica.Heartbeat > 0 && c.Replica.Heartbeat*2 > c.Replica.Lease:
		return bad("Replica.Heartbeat", "is %s, want at most half of Replica.Lease (%s), so one late heartbeat does not lose the lease",
			c.Replica.Heartbeat, c.Replica.Lease)
	}
	return nil
}

// DatabaseTarget returns what the store opens: the PostgreSQL URL (read
// from DatabaseURLFile when set), or the SQLite file path.
func (c *Config) DatabaseTarget() (string, error) {
	if c.Store.DatabaseURLFile != "" {
		b, err := os.ReadFile(c.Store.DatabaseURLFile)
		if err != nil {
			return "", fmt.Errorf("database URL file: %w", err)
		}
		u := strings.TrimSpace(string(b))
		if !store.IsDatabaseURL(u) {
			return "", fmt.Errorf("database URL file %s: want a postgres:// or postgresql:// URL", c.Store.DatabaseURLFile)
		}
		return u, nil
	}
	if c.Store.DatabaseURL != "" {
		return c.Store.DatabaseURL, nil
	}
	return c.StorePath(), nil
}

// Shared reports whether the database may be shared with other replicas.
func (c *Config) Shared() bool { return c.Store.DatabaseURL != "" || c.Store.DatabaseURLFile != "" }

// ParseLogLevel reads debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("unknown log level %q, want debug, info, warn or error", s)
	}
	return l, nil
}

// StorePath returns the database file path.
func (c *Config) StorePath() string {
	if c.Store.Path != "" {
		return c.Store.Path
	}
	return filepath.Join(c.DataDir, "ferry.db")
}

// LogDir is where attempt logs go.
func (c *Config) LogDir() string { return filepath.Join(c.DataDir, "logs") }

// LocalRoot is the host directory destinations see as /local.
func (c *Config) LocalRoot() string { return filepath.Join(c.DataDir, "local") }

// InstanceFile holds the instance ID.
func (c *Config) InstanceFile() string { return filepath.Join(c.DataDir, "instance-id") }

func validPullPolicy(p string) bool {
	switch p {
	case "", "IfNotPresent", "Always", "Never":
		return true
	}
	return false
}

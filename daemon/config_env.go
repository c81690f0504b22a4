package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every variable LoadEnv reads.
const EnvPrefix = "FERRY_"

// envVar binds one FERRY_* variable to a Config field.
type envVar struct {
	name  string // without the prefix
	field string // for error messages, as Validate names it
	set   func(c *Config, v string) error
}

func envString(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func envInt(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		*p(c) = n
		return nil
	}
}

func envBool(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*p(c) = b
		return nil
	}
}

func envInt64(p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		*p(c) = n
		return nil
	}
}

func envDuration(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("want a duration such as 30s or 5m")
		}
		*p(c) = d
		return nil
	}
}

// envVars lists every variable. A table rather than struct tags and
// reflection: it is greppable and each parse error names its variable.
var envVars = []envVar{
	{"DATA_DIR", "DataDir", envString(func(c *Config) *string { return &c.DataDir })},
	{"STORE_PATH", "Store.Path", envString(func(c *Config) *string { return &c.Store.Path })},
	{"STORE_BUSY_TIMEOUT", "Store.BusyTimeout", envDuration(func(c *Config) *time.Duration { return &c.Store.BusyTimeout })},
	{"RUNTIME", "Runtime.Kind", envString(func(c *Config) *string { return &c.Runtime.Kind })},
	{"CONNECTORS_DIR", "Runtime.ConnectorsDir", envString(func(c *Config) *string { return &c.Runtime.ConnectorsDir })},
	{"LOCAL_ROOT_VOLUME", "Runtime.LocalRootVolume", envString(func(c *Config) *string { return &c.Runtime.LocalRootVolume })},
	{"BRIDGE", "Runtime.Bridge", envString(func(c *Config) *string { return &c.Runtime.Bridge })},
	{"RELAY_IMAGE", "Runtime.RelayImage", envString(func(c *Config) *string { return &c.Runtime.RelayImage })},
	{"ALLOW_HOST_NETWORK", "Runtime.AllowHostNetwork", envBool(func(c *Config) *bool { return &c.Runtime.AllowHostNetwork })},
	{"FAIL_ON_COUNT_MISMATCH", "Runtime.FailOnCountMismatch", envBool(func(c *Config) *bool { return &c.Runtime.FailOnCountMismatch })},
	{"KUBECONFIG", "Runtime.Kubernetes.Kubeconfig", envString(func(c *Config) *string { return &c.Runtime.Kubernetes.Kubeconfig })},
	{"KUBE_NAMESPACE", "Runtime.Kubernetes.Namespace", envString(func(c *Config) *string { return &c.Runtime.Kubernetes.Namespace })},
	{"KUBE_PULL_POLICY", "Runtime.Kubernetes.PullPolicy", envString(func(c *Config) *string { return &c.Runtime.Kubernetes.PullPolicy })},
	{"RUNTIME_PING_TIMEOUT", "Runtime.PingTimeout", envDuration(func(c *Config) *time.Duration { return &c.Runtime.PingTimeout })},
	{"WORKERS", "Workers.Count", envInt(func(c *Config) *int { return &c.Workers.Count })},
	{"SCHEDULER_TICK", "Scheduler.Tick", envDuration(func(c *Config) *time.Duration { return &c.Scheduler.Tick })},
	{"SCHEDULER_MISSED_AFTER", "Scheduler.MissedAfter", envDuration(func(c *Config) *time.Duration { return &c.Scheduler.MissedAfter })},
	{"RETRY_MAX_SUCCESSIVE_NO_PROGRESS", "Retry.MaxSuccessiveNoProgress", envInt(func(c *Config) *int { return &c.Retry.MaxSuccessiveNoProgress })},
	{"RETRY_MAX_TOTAL_NO_PROGRESS", "Retry.MaxTotalNoProgress", envInt(func(c *Config) *int { return &c.Retry.MaxTotalNoProgress })},
	{"RETRY_MAX_TOTAL_WITH_PROGRESS", "Retry.MaxTotalWithProgress", envInt(func(c *Config) *int { return &c.Retry.MaxTotalWithProgress })},
	{"RETRY_BACKOFF_BASE", "Retry.BackoffBase", envDuration(func(c *Config) *time.Duration { return &c.Retry.BackoffBase })},
	{"RETRY_MIN_BACKOFF", "Retry.MinBackoff", envDuration(func(c *Config) *time.Duration { return &c.Retry.MinBackoff })},
	{"RETRY_BACKOFF_MAX", "Retry.BackoffMax", envDuration(func(c *Config) *time.Duration { return &c.Retry.BackoffMax })},
	{"LOG_LEVEL", "Logging.Level", envString(func(c *Config) *string { return &c.Logging.Level })},
	{"LOG_FORMAT", "Logging.Format", envString(func(c *Config) *string { return &c.Logging.Format })},
	{"ATTEMPT_LOG_MAX_BYTES", "Logging.AttemptLogMaxBytes", envInt64(func(c *Config) *int64 { return &c.Logging.AttemptLogMaxBytes })},
	{"LOG_RETENTION_AGE", "Logging.RetentionAge", envDuration(func(c *Config) *time.Duration { return &c.Logging.RetentionAge })},
	{"LOG_RETENTION_BYTES", "Logging.RetentionBytes", envInt64(func(c *Config) *int64 { return &c.Logging.RetentionBytes })},
	{"WEBHOOK_TIMEOUT", "Webhooks.Timeout", envDuration(func(c *Config) *time.Duration { return &c.Webhooks.Timeout })},
	{"WEBHOOK_MAX_ATTEMPTS", "Webhooks.MaxAttempts", envInt(func(c *Config) *int { return &c.Webhooks.MaxAttempts })},
	{"WEBHOOK_BACKOFF", "Webhooks.Backoff", envDuration(func(c *Config) *time.Duration { return &c.Webhooks.Backoff })},
	{"LISTEN", "Web.Listen", envString(func(c *Config) *string { return &c.Web.Listen })},
	{"ACCESS_TOKEN_TTL", "Web.AccessTokenTTL", envDuration(func(c *Config) *time.Duration { return &c.Web.AccessTokenTTL })},
	{"SHUTDOWN_GRACE", "Shutdown.Grace", envDuration(func(c *Config) *time.Duration { return &c.Shutdown.Grace })},
	{"DATABASE_URL", "Store.DatabaseURL", envString(func(c *Config) *string { return &c.Store.DatabaseURL })},
	{"DATABASE_URL_FILE", "Store.DatabaseURLFile", envString(func(c *Config) *string { return &c.Store.DatabaseURLFile })},
	{"SECRET_KEY_FILE", "Store.SecretKeyFile", envString(func(c *Config) *string { return &c.Store.SecretKeyFile })},
	{"REPLICA_ID", "Replica.ID", envString(func(c *Config) *string { return &c.Replica.ID })},
	{"LEASE", "Replica.Lease", envDuration(func(c *Config) *time.Duration { return &c.Replica.Lease })},
	{"HEARTBEAT", "Replica.Heartbeat", envDuration(func(c *Config) *time.Duration { return &c.Replica.Heartbeat })},
	{"SHUTDOWN_CANCEL_WAIT", "Shutdown.CancelWait", envDuration(func(c *Config) *time.Duration { return &c.Shutdown.CancelWait })},
}

// LoadEnv overlays the FERRY_* variables that lookup finds onto c (pass
// os.LookupEnv). A variable that is set but empty is ignored, as compose
// files often pass empty defaults. A value that does not parse is a
// *ConfigError naming the variable and the field.
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	for _, ev := range envVars {
		v, ok := lookup(EnvPrefix + ev.name)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			continue
		}
		if err := ev.set(c, v); err != nil {
			return &ConfigError{Field: ev.field, Message: fmt.Sprintf("%s%s=%q: %v", EnvPrefix, ev.name, v, err)}
		}
	}
	return nil
}

// EnvNames lists the variables LoadEnv reads, for help output.
func EnvNames() []string {
	out := make([]string, len(envVars))
	for i, ev := range envVars {
		out[i] = EnvPrefix + ev.name
	}
	return out
}

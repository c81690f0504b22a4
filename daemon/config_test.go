package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultConfigValid checks that the defaults alone validate.
func TestDefaultConfigValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

// TestValidateNamesField checks that each kind of mistake names its field.
func TestValidateNamesField(t *testing.T) {
	for _, tc := range []struct {
		field  string
		mutate func(*Config)
	}{
		{"DataDir", func(c *Config) { c.DataDir = " " }},
		{"Runtime.Kind", func(c *Config) { c.Runtime.Kind = "podman" }},
		{"Workers.Count", func(c *Config) { c.Workers.Count = 0 }},
		{"Scheduler.Tick", func(c *Config) { c.Scheduler.Tick = 0 }},
		{"Logging.Level", func(c *Config) { c.Logging.Level = "loud" }},
		{"Logging.Format", func(c *Config) { c.Logging.Format = "xml" }},
		{"Logging.AttemptLogMaxBytes", func(c *Config) { c.Logging.AttemptLogMaxBytes = 10 }},
		{"Webhooks.MaxAttempts", func(c *Config) { c.Webhooks.MaxAttempts = 0 }},
		{"Shutdown.Grace", func(c *Config) { c.Shutdown.Grace = -time.Second }},
		{"Retry.MaxSuccessiveNoProgress", func(c *Config) { c.Retry.MaxSuccessiveNoProgress = 0 }},
		{"Web.AccessTokenTTL", func(c *Config) { c.Web.AccessTokenTTL = 0 }},
		{"Web.AccessTokenTTL", func(c *Config) { c.Web.AccessTokenTTL = 48 * time.Hour }},
	} {
		c := DefaultConfig()
		tc.mutate(&c)
		var ce *ConfigError
		if err := c.Validate(); !errors.As(err, &ce) {
			t.Errorf("%s: Validate() = %v, want a *ConfigError", tc.field, err)
			continue
		}
		if ce.Field != tc.field {
			t.Errorf("Validate() named %q (%v), want %q", ce.Field, ce, tc.field)
		}
	}
}

// TestLoadEnv checks that FERRY_* variables overlay the defaults and that
// unset or empty ones leave them alone.
func TestLoadEnv(t *testing.T) {
	env := map[string]string{
		"FERRY_DATA_DIR":          "/var/lib/ferry",
		"FERRY_WORKERS":           "4",
		"FERRY_SCHEDULER_TICK":    "2s",
		"FERRY_RUNTIME":           "local",
		"FERRY_LOG_FORMAT":        "",
		"FERRY_RETRY_BACKOFF_MAX": "1h",
		"FERRY_ACCESS_TOKEN_TTL":  "5m",
	}
	c := DefaultConfig()
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	want := DefaultConfig()
	want.DataDir = "/var/lib/ferry"
	want.Workers.Count = 4
	want.Scheduler.Tick = 2 * time.Second
	want.Runtime.Kind = RuntimeLocal
	want.Retry.BackoffMax = time.Hour
	want.Web.AccessTokenTTL = 5 * time.Minute
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config after LoadEnv (-want +got):\n%s", diff)
	}
}

// TestLoadEnvBadValue checks that a value that does not parse names the
// variable's field.
func TestLoadEnvBadValue(t *testing.T) {
	c := DefaultConfig()
	err := c.LoadEnv(func(k string) (string, bool) {
		if k == "FERRY_WORKERS" {
			return "many", true
		}
		return "", false
	})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Workers.Count" {
		t.Errorf("LoadEnv = %v, want a *ConfigError for Workers.Count", err)
	}
}

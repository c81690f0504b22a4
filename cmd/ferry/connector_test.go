package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodeOne parses stdout as exactly one Airbyte message.
func decodeOne(t *testing.T, stdout string) *protocol.Message {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout: got %d lines, want one message: %q", len(lines), stdout)
	}
	m, err := protocol.Decode([]byte(lines[0]))
	if err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	return m
}

const (
	tcFailed = `{"stdout":[{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"bad password"}}]}`
	tcTrace  = `{"stdout":[{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"host unreachable","failure_type":"config_error"}}}],"exit":1}`
	tcCrash  = `{"stdout":[],"stderr":"boom","exit":3}`
)

// TestConnectorCommand runs `ferry connector` on testconn with the local
// runtime and checks its output and exit codes, following Airbyte's check
// semantics: FAILED is a clean answer (exit 1), an ERROR trace or a crash
// is a failure whose message comes from the trace or the exit code and
// stderr.
func TestConnectorCommand(t *testing.T) {
	bin := runnertest.BuildBinary(t, "testconn", runnertest.TestconnPkg)
	cache := t.TempDir()
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // a substring
		wantStderr string // a substring
		wantType   protocol.Type
	}{
		{name: "spec", args: []string{"spec", bin}, wantStdout: "Documentation: https://example.com/testconn"},
		{name: "spec properties", args: []string{"spec", bin, "--no-cache"}, wantStdout: "  api_key  string            yes"},
		{name: "spec json", args: []string{"spec", "--json", bin}, wantType: protocol.TypeSpec},
		{name: "check succeeded", args: []string{"check", bin, "--config", writeConfig(t, `{}`)}, wantStdout: "SUCCEEDED\n"},
		{name: "check failed", args: []string{"check", bin, "--config", writeConfig(t, tcFailed)}, wantCode: exitFailed, wantStdout: "FAILED: bad password\n"},
		{name: "check failed json", args: []string{"check", bin, "--json", "--config", writeConfig(t, tcFailed)}, wantCode: exitFailed, wantType: protocol.TypeConnectionStatus},
		{name: "check error trace", args: []string{"check", bin, "--config", writeConfig(t, tcTrace)}, wantCode: exitFailed, wantStderr: "ferry connector: host unreachable\n"},
		{name: "check error trace json", args: []string{"check", bin, "--json", "--config", writeConfig(t, tcTrace)}, wantCode: exitFailed, wantType: protocol.TypeTrace},
		{name: "check crash", args: []string{"check", bin, "--config", writeConfig(t, tcCrash)}, wantCode: exitFailed, wantStderr: "ferry connector: exit code 3; stderr: boom\n"},
		{name: "discover", args: []string{"discover", bin, "--config", writeConfig(t, `{}`)}, wantStdout: "items              full_refresh,incremental  id      id           2\n"},
		{name: "discover json", args: []string{"discover", bin, "--json", "--config", writeConfig(t, `{}`)}, wantType: protocol.TypeCatalog},
		{name: "check without config", args: []string{"check", bin}, wantCode: exitUsage, wantStderr: "check needs --config FILE"},
		{name: "spec with config", args: []string{"spec", bin, "--config", writeConfig(t, `{}`)}, wantCode: exitUsage, wantStderr: "spec takes no --config"},
		{name: "config not json", args: []string{"check", bin, "--config", writeConfig(t, `{`)}, wantCode: exitUsage, wantStderr: "is not valid JSON"},
		{name: "unknown command", args: []string{"read", bin}, wantCode: exitUsage, wantStderr: "want spec, check or discover"},
		{name: "unknown runtime", args: []string{"spec", bin, "--runtime", "k8s"}, wantCode: exitUsage, wantStderr: `--runtime "k8s"`},
		{name: "missing binary", args: []string{"spec", bin + "-missing"}, wantCode: exitUnavailable, wantStderr: "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"connector", "--runtime", "local", "--cache-dir", cache}, tc.args...)
			r := runFerry(t, nil, args...)
			if r.code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d; stderr: %s", r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) {
				t.Errorf("stdout: got %q, want it to contain %q", r.stdout, tc.wantStdout)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", r.stderr, tc.wantStderr)
			}
			if tc.wantType != "" {
				if m := decodeOne(t, r.stdout); m.Type != tc.wantType {
					t.Errorf("message type: got %s, want %s", m.Type, tc.wantType)
				}
			}
		})
	}
}

// TestConnectorJSONFailure verifies that with --json a failure is one ERROR
// trace on stdout: the connector's own, or one built from the exit code.
func TestConnectorJSONFailure(t *testing.T) {
	bin := runnertest.BuildBinary(t, "testconn", runnertest.TestconnPkg)
	for _, tc := range []struct {
		config, wantMessage, wantFailure string
	}{
		{tcTrace, "host unreachable", protocol.FailureConfig},
		{tcCrash, "exit code 3; stderr: boom", protocol.FailureSystem},
	} {
		r := runFerry(t, nil, "connector", "check", "--runtime", "local", "--json", "--config", writeConfig(t, tc.config), bin)
		m := decodeOne(t, r.stdout)
		if m.Trace == nil || m.Trace.Error == nil {
			t.Fatalf("got %s, want an ERROR trace", r.stdout)
		}
		if got := m.Trace.Error; got.Message != tc.wantMessage || got.FailureType != tc.wantFailure {
			t.Errorf("trace: got %q (%s), want %q (%s)", got.Message, got.FailureType, tc.wantMessage, tc.wantFailure)
		}
	}
}

// TestConnectorSpecCache verifies that the second spec of the same binary
// comes from the cache, and that --no-cache asks the connector again.
func TestConnectorSpecCache(t *testing.T) {
	bin := runnertest.BuildBinary(t, "testconn", runnertest.TestconnPkg)
	cache := t.TempDir()
	spec := func(extra ...string) string {
		args := append([]string{"connector", "spec", "--runtime", "local", "--cache-dir", cache, bin}, extra...)
		r := runFerry(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("exit code %d; stderr: %s", r.code, r.stderr)
		}
		header, _, _ := strings.Cut(r.stdout, "\n")
		return header
	}
	first, second, uncached := spec(), spec(), spec("--no-cache")
	if strings.Contains(first, "cached") || !strings.HasSuffix(second, ", cached)") || strings.Contains(uncached, "cached") {
		t.Errorf("headers: got %q, %q, %q; want only the second one cached", first, second, uncached)
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache dir: got %v, %v; want one entry", entries, err)
	}
	var s protocol.Spec
	b, _ := os.ReadFile(filepath.Join(cache, entries[0].Name()))
	if err := json.Unmarshal(b, &s); err != nil || s.DocumentationURL != "https://example.com/testconn" {
		t.Errorf("cache entry: got %s, %v; want testconn's spec", b, err)
	}
}

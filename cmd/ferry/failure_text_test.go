package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeScript writes an executable shell connector.
func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// pythonLikeFailure is what a Python CDK connector prints when it fails on
// an unexpected exception: ERROR logs with the traceback, then an ERROR
// trace whose message is generic and whose internal_message is the cause.
const pythonLikeFailure = `echo '{"type":"LOG","log":{"level":"INFO","message":"Starting"}}'
echo '{"type":"LOG","log":{"level":"ERROR","message":"Traceback (most recent call last): KeyError: api_key (token tok-s3cret-9)"}}'
echo '{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"Something went wrong in the connector. See the logs for more details.","internal_message":"KeyError: api_key","failure_type":"system_error"}}}'
exit 1
`

const leakySpec = `echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","properties":{"token":{"type":"string","airbyte_secret":true}}}}}'`

// TestCheckFailureSaysWhy: ferry connector check shows, beside the
// generic message, the trace's internal message and the connector's last
// error log lines, secrets masked; INFO lines are left out.
func TestCheckFailureSaysWhy(t *testing.T) {
	script := writeScript(t, "source-python-like", `case "$1" in
spec) `+leakySpec+` ;;
*) `+pythonLikeFailure+` ;;
esac
`)
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	for _, cmd := range []string{"check", "discover"} {
		r := runFerry(t, vars, "connector", cmd, "--runtime", "local", "--config", writeConfig(t, `{"token":"tok-s3cret-9"}`), script)
		t.Logf("ferry connector %s: exit %d\n%s", cmd, r.code, r.stderr)
		if r.code != exitFailed {
			t.Fatalf("%s: exit %d, want %d", cmd, r.code, exitFailed)
		}
		for _, want := range []string{"Something went wrong in the connector", "cause: KeyError: api_key",
			"the connector's last error logs:", "Traceback (most recent call last): KeyError: api_key (token **********)"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q", cmd, want)
			}
		}
		if strings.Contains(r.stdout+r.stderr, "tok-s3cret-9") || strings.Contains(r.stderr, "Starting") {
			t.Errorf("%s: a secret or an INFO line is shown:\n%s", cmd, r.stderr)
		}
	}
}

// TestSyncFailureSaysWhy: ferry sync's summary shows the same for a
// source that fails in read.
func TestSyncFailureSaysWhy(t *testing.T) {
	script := writeScript(t, "source-python-like", `case "$1" in
spec) `+leakySpec+` ;;
discover) echo '{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"]}]}}' ;;
read) `+pythonLikeFailure+` ;;
write) cat >/dev/null ;;
esac
`)
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	r := runFerry(t, vars, "sync", "--runtime", "local", "--source", script, "--destination", script,
		"--source-config", writeConfig(t, `{"token":"tok-s3cret-9"}`), "--log", filepath.Join(t.TempDir(), "log"))
	t.Logf("ferry sync: exit %d\n%s", r.code, r.stdout)
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d\nstderr: %s", r.code, exitFailed, r.stderr)
	}
	for _, want := range []string{"failure (source, system_error): Something went wrong in the connector", "cause: KeyError: api_key",
		"the connector's last error logs:", "KeyError: api_key (token **********)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "tok-s3cret-9") {
		t.Error("the secret leaked")
	}
}

// TestSyncRefusesConfigTheSpecRejects: a destination config that fails
// its spec is refused before read and write start (the script leaves a
// mark when they run), naming the field and never showing a secret value
// the schema quotes.
func TestSyncRefusesConfigTheSpecRejects(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	script := writeScript(t, "dest-strict", `case "$1" in
spec) echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","required":["destination_path"],"properties":{"destination_path":{"type":"string"},"api_key":{"type":"string","airbyte_secret":true,"pattern":"^[a-z]+$"},"mode":{"type":"string","enum":["append","overwrite"]}}}}}' ;;
discover) echo '{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"]}]}}' ;;
read|write) touch `+mark+`; cat >/dev/null ;;
esac
`)
	source := writeScript(t, "source-easy", `case "$1" in
spec) echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object"}}}' ;;
discover) echo '{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"]}]}}' ;;
read) touch `+mark+` ;;
esac
`)
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	for _, tc := range []struct{ config, want string }{
		{`{"api_key":"abc"}`, "--destination-config does not match the connector's spec: configuration.destination_path is required"},
		{`{"destination_path":"/x","api_key":"Sup3r-S3cret-Key"}`, "configuration.api_key"},
		{`{"destination_path":"/x","mode":"upsert"}`, "configuration.mode"},
	} {
		r := runFerry(t, vars, "sync", "--runtime", "local", "--source", source, "--destination", script,
			"--destination-config", writeConfig(t, tc.config))
		t.Logf("exit %d: %s", r.code, r.stderr)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: got exit %d %q, want %d and %q", tc.config, r.code, r.stderr, exitUsage, tc.want)
		}
		if strings.Contains(r.stdout+r.stderr, "Sup3r-S3cret-Key") {
			t.Errorf("the secret leaked: %s", r.stderr)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("read or write ran although the config was refused")
	}
}

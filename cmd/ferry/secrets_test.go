package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/secret/secrettest"
)

// leakyConnector writes a shell connector whose spec is tc's, and which
// quotes its config wherever it can: discover fails with stderr that quotes
// it (the error then carries the stderr tail); read quotes it on stderr,
// logs it, sends a CONTROL update with refreshed secrets, logs that, and
// fails with an ERROR trace quoting both; write swallows its input.
func leakyConnector(t *testing.T, tc secrettest.Case) string {
	t.Helper()
	line := func(m map[string]any) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	trace := func(config string) string {
		return line(map[string]any{"type": "TRACE", "trace": map[string]any{"type": "ERROR", "emitted_at": 1,
			"error": map[string]any{"message": "cannot log in with " + config, "internal_message": "config was " + config,
				"stack_trace": "at login(" + config + ")", "failure_type": "config_error"}}})
	}
	fresh := tc.Refreshed()
	spec := line(map[string]any{"type": "SPEC", "spec": json.RawMessage(tc.ConnectorSpecification())})
	read := strings.Join([]string{
		line(map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": "connecting with " + tc.Config}}),
		line(map[string]any{"type": "CONTROL", "control": map[string]any{"type": "CONNECTOR_CONFIG", "emitted_at": 1,
			"connectorConfig": map[string]any{"config": json.RawMessage(fresh.Config)}}}),
		line(map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": "now using " + fresh.Config}}),
		trace(fresh.Config + " after " + tc.Config),
	}, "\n")
	body := `#!/bin/sh
case "$1" in
spec) cat <<'END'
` + spec + `
END
;;
discover) echo "discover stderr: $(cat "$3")" >&2; exit 1 ;;
read) echo "read stderr: $(cat "$3")" >&2; cat <<'END'
` + read + `
END
exit 1 ;;
write) cat >/dev/null ;;
esac
`
	path := filepath.Join(t.TempDir(), "source-leaky")
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSyncMasksSecretsBehindEachConstruct runs ferry sync on a connector
// whose spec declares its secret behind one schema construct, and which
// quotes its config in everything it says. Whether the sync fails at
// discover or during the sync itself, after a CONTROL update that brings
// refreshed secrets, neither the secrets nor the refreshed ones appear in
// the summary, the error or the attempt log.
func TestSyncMasksSecretsBehindEachConstruct(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(catalog, []byte(`{"streams":[{"stream":{"name":"users","json_schema":{"type":"object"},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"append"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	for _, tc := range secrettest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			script := leakyConnector(t, tc)
			secrets := append(append([]string(nil), tc.Secrets...), tc.Refreshed().Secrets...)
			base := []string{"sync", "--runtime", "local", "--source", script, "--destination", script,
				"--source-config", writeConfig(t, tc.Config), "--log", "-"}
			for _, run := range []struct {
				name string
				args []string
				want []string // what the output must show, masked
			}{
				{"discover fails", base, []string{"discover stderr:"}},
				{"sync fails", append(base, "--catalog", catalog), []string{"connecting with", "now using", "read stderr:", "sync failed"}},
			} {
				r := runFerry(t, vars, run.args...)
				out := r.stdout + r.stderr
				if r.code != exitFailed {
					t.Fatalf("%s: exit %d, want %d\n%s", run.name, r.code, exitFailed, out)
				}
				for _, w := range append(run.want, secret.Mask) {
					if !strings.Contains(out, w) {
						t.Errorf("%s: the output lacks %q:\n%s", run.name, w, out)
					}
				}
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s: the output holds the secret %s:\n%s", run.name, s, out)
					}
				}
			}
		})
	}
}

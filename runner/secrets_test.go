package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/secret/secrettest"
)

// The tests here prove that a secret declared behind any schema construct
// (secrettest.Cases) is masked wherever the runner hands text on: command
// errors, the attempt log, failures, and after a CONTROL config update.

// messageLine encodes one Airbyte message for a scripted connector.
func messageLine(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// errorTrace is an ERROR trace whose every text field quotes a config.
func errorTrace(t *testing.T, config string) string {
	return messageLine(t, map[string]any{"type": "TRACE", "trace": map[string]any{"type": "ERROR", "emitted_at": 1,
		"error": map[string]any{"message": "cannot log in with " + config, "internal_message": "config was " + config,
			"stack_trace": "at login(" + config + ")", "failure_type": "config_error"}}})
}

// assertMasked fails when text holds any of the secrets, and when it shows
// no mask at all: then nothing was echoed and the test proved nothing.
func assertMasked(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %s:\n%s", what, s, text)
		}
	}
	if !strings.Contains(text, secret.Mask) {
		t.Errorf("%s shows no mask, so no secret was echoed:\n%s", what, text)
	}
}

// TestCommandErrorsMaskedBehindEachConstruct runs check and discover on a
// connector that quotes its config in its ERROR trace, its FAILED status
// and its stderr. The error text, and the message of a FAILED check, hold
// the secrets as the connector wrote them; masked with the values the
// secret finder reads from the spec, as every caller does, none is left.
func TestCommandErrorsMaskedBehindEachConstruct(t *testing.T) {
	for _, tc := range secrettest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			red := secret.NewRedactor(secret.Values(json.RawMessage(tc.ConnectorSpecification()), json.RawMessage(tc.Config)))
			failing := &runner.FakeRuntime{RunFunc: runner.ScriptRun(errorTrace(t, tc.Config), "connect("+tc.Config+"): refused\n", runner.ExitStatus{Code: 1})}
			base := runner.ConnectorSpec{Image: "source-leaky"}
			_, err := runner.Check(t.Context(), failing, base, []byte(tc.Config))
			var ce *runner.ConnectorError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.Secrets[0]) {
				t.Fatalf("check: got %v, want a *ConnectorError quoting the config", err)
			}
			assertMasked(t, "the check error", red.Redact(err.Error()), tc.Secrets)
			_, err = runner.Discover(t.Context(), failing, base, []byte(tc.Config))
			if !errors.As(err, &ce) {
				t.Fatalf("discover: got %v, want a *ConnectorError", err)
			}
			assertMasked(t, "the discover error", red.Redact(err.Error()), tc.Secrets)

			failed := messageLine(t, map[string]any{"type": "CONNECTION_STATUS",
				"connectionStatus": map[string]any{"status": "FAILED", "message": "rejected " + tc.Config}})
			res, err := runner.Check(t.Context(), &runner.FakeRuntime{RunFunc: runner.ScriptRun(failed, "", runner.ExitStatus{})}, base, []byte(tc.Config))
			if err != nil || res.Succeeded() {
				t.Fatalf("check: got %v, %v; want a FAILED status", res, err)
			}
			assertMasked(t, "the FAILED check message", red.Redact(res.Status.Message), tc.Secrets)
		})
	}
}

// lockedBuffer is a log sink safe for the runner's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSyncMasksSecretsBehindEachConstruct runs a sync whose source quotes
// its config in LOG messages, in stderr and in its ERROR trace, and sends a
// CONTROL config update with refreshed secrets that later messages quote.
// Neither the original nor the refreshed secrets reach the attempt log, the
// failures, the result or the error; the refreshed config itself reaches
// OnControl, which must persist it.
func TestSyncMasksSecretsBehindEachConstruct(t *testing.T) {
	for _, tc := range secrettest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			fresh := tc.Refreshed()
			var control json.RawMessage
			stdout := messageLine(t, map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": "connecting with " + tc.Config}}) +
				messageLine(t, map[string]any{"type": "CONTROL", "control": map[string]any{"type": "CONNECTOR_CONFIG", "emitted_at": 1,
					"connectorConfig": map[string]any{"config": json.RawMessage(fresh.Config)}}}) +
				messageLine(t, map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": "now using " + fresh.Config}}) +
				errorTrace(t, fresh.Config+" after "+tc.Config)
			// stderr is read concurrently with stdout, so it quotes only the
			// original config: no runner can mask a refreshed secret on a
			// stream that may be read before the CONTROL message is.
			source := runner.ScriptRun(stdout, "stderr: "+tc.Config+"\n", runner.ExitStatus{Code: 1})
			rt := &runner.FakeRuntime{RunFunc: func(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
				if spec.Role == runner.RoleSource {
					return source(ctx, spec, stdio)
				}
				_, err := io.Copy(io.Discard, stdio.In)
				return runner.ExitStatus{}, err
			}}
			log := &lockedBuffer{}
			cfg := runner.Config{
				InstanceID: "test", JobID: 1, Attempt: 1,
				Source:      runner.Connector{Image: "source-leaky", Config: json.RawMessage(tc.Config), Spec: json.RawMessage(tc.ConnectorSpecification())},
				Destination: runner.Connector{Image: "destination", Config: json.RawMessage(`{}`)},
				Catalog: &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{{
					Stream:   protocol.Stream{Name: "users", JSONSchema: json.RawMessage(`{"type":"object"}`), SupportedSyncModes: []string{protocol.SyncFullRefresh}},
					SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend,
				}}},
				Checkpointer: runner.CheckpointFunc(func(context.Context, runner.Checkpoint) error { return nil }),
				// What the daemon's store and ferry sync hand over: the
				// values the secret finder reads from the spec.
				Secrets:   secret.Values(json.RawMessage(tc.ConnectorSpecification()), json.RawMessage(tc.Config)),
				Log:       log,
				OnControl: func(_ runner.Role, c json.RawMessage) error { control = c; return nil },
			}
			res, err := runner.Sync(t.Context(), rt, cfg)
			if err == nil || res.Status != runner.StatusFailed {
				t.Fatalf("sync: got %v, %v; want a failed attempt", res.Status, err)
			}
			if !strings.Contains(string(control), fresh.Secrets[0]) {
				t.Errorf("OnControl got %s, want the refreshed config", control)
			}
			secrets := append(append([]string(nil), tc.Secrets...), fresh.Secrets...)
			text := log.String()
			for _, want := range []string{"connecting with", "now using", "stderr:"} {
				if !strings.Contains(text, want) {
					t.Errorf("the attempt log lacks %q:\n%s", want, text)
				}
			}
			assertMasked(t, "the attempt log", text, secrets)
			result, jerr := json.Marshal(res)
			if jerr != nil {
				t.Fatal(jerr)
			}
			assertMasked(t, "the result", string(result), secrets)
			assertMasked(t, "the error", err.Error(), secrets)
		})
	}
}

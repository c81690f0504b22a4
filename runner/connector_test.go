package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

const (
	cmdSpecLine      = `{"type":"SPEC","spec":{"connectionSpecification":{"type":"object"}}}`
	cmdSucceededLine = `{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}`
	cmdFailedLine    = `{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"bad password"}}`
	cmdTraceLine     = `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"host unreachable","failure_type":"config_error"}}}`
	cmdCatalogLine   = `{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh"]}]}}`
	cmdLogLine       = `{"type":"LOG","log":{"level":"INFO","message":"starting"}}`
)

// TestCommandOutcome verifies how a command's output and exit status become
// an answer or a *ConnectorError, following Airbyte's check semantics
// (docs/protocol.md 1.5).
func TestCommandOutcome(t *testing.T) {
	for _, tc := range []struct {
		name, command, stdout, stderr string
		status                        runner.ExitStatus
		wantType                      protocol.Type // the answer, when no error
		wantErr, wantFailure          string
	}{
		{name: "spec", command: "spec", stdout: cmdLogLine + "\n" + cmdSpecLine + "\n", wantType: protocol.TypeSpec},
		{name: "check succeeded", command: "check", stdout: cmdSucceededLine + "\n", wantType: protocol.TypeConnectionStatus},
		{name: "check failed is an answer", command: "check", stdout: cmdFailedLine + "\n", wantType: protocol.TypeConnectionStatus},
		{name: "answer with exit 0 wins over a trace", command: "check", stdout: cmdTraceLine + "\n" + cmdSucceededLine + "\n", wantType: protocol.TypeConnectionStatus},
		{name: "discover among garbage", command: "discover", stdout: "Starting up...\n\n" + cmdCatalogLine + "\n", wantType: protocol.TypeCatalog},
		{name: "destination catalog", command: "discover", stdout: `{"type":"DESTINATION_CATALOG","destination_catalog":{"operations":[]}}` + "\n", wantType: protocol.TypeDestinationCatalog},
		{
			name: "error trace and exit 1", command: "check", stdout: cmdTraceLine + "\n", stderr: "Traceback...\n",
			status: runner.ExitStatus{Code: 1}, wantErr: "check failed: host unreachable", wantFailure: "config_error",
		},
		{
			name: "error trace and exit 0 without status", command: "check", stdout: cmdTraceLine + "\n",
			wantErr: "check failed: host unreachable", wantFailure: "config_error",
		},
		{
			name: "failed status and non-zero exit", command: "check", stdout: cmdTraceLine + "\n" + cmdFailedLine + "\n",
			status: runner.ExitStatus{Code: 1}, wantErr: "check failed: bad password",
		},
		{
			name: "succeeded status and non-zero exit", command: "check", stdout: cmdSucceededLine + "\n", stderr: "panic: oops\n",
			status: runner.ExitStatus{Code: 2}, wantErr: "check failed: exit code 2; stderr: panic: oops",
		},
		{
			name: "no output", command: "discover", stderr: "line 1\nline 2\n",
			wantErr: "discover failed: exited successfully without an output; stderr: line 1\nline 2",
		},
		{
			name: "out of memory", command: "spec", status: runner.ExitStatus{Code: 137, OOMKilled: true},
			wantErr: "spec failed: killed: out of memory (exit code 137)",
		},
		{
			name: "long stderr is cut at a line", command: "spec", stderr: strings.Repeat("x", 600) + "\nlast words\n",
			status: runner.ExitStatus{Code: 1}, wantErr: "spec failed: exit code 1; stderr: last words",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &runner.FakeRuntime{RunFunc: runner.ScriptRun(tc.stdout, tc.stderr, tc.status)}
			m, out, err := runner.Command(t.Context(), rt, runner.ConnectorSpec{Image: "img"}, tc.command, []byte(`{}`))
			if tc.wantErr != "" {
				var ce *runner.ConnectorError
				if !errors.As(err, &ce) {
					t.Fatalf("got %v, want a *ConnectorError", err)
				}
				if got, want := ce.Error(), "img "+tc.wantErr; got != want {
					t.Errorf("error:\ngot  %q\nwant %q", got, want)
				}
				if ce.FailureType != tc.wantFailure {
					t.Errorf("failure type: got %q, want %q", ce.FailureType, tc.wantFailure)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want an answer", err)
			}
			if m.Type != tc.wantType {
				t.Errorf("answer: got %s, want %s", m.Type, tc.wantType)
			}
			if out.Status != tc.status {
				t.Errorf("status: got %+v, want %+v", out.Status, tc.status)
			}
		})
	}
}

// TestCommandOutput verifies what Output keeps besides the answer: logs
// (with non-protocol lines), traces, the CONTROL config and stderr.
func TestCommandOutput(t *testing.T) {
	stdout := strings.Join([]string{
		cmdLogLine, "not json", cmdTraceLine,
		`{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1,"connectorConfig":{"config":{"token":"new"}}}}`,
		cmdCatalogLine,
	}, "\n")
	rt := &runner.FakeRuntime{RunFunc: runner.ScriptRun(stdout, "warming up\n", runner.ExitStatus{})}
	res, err := runner.Discover(t.Context(), rt, runner.ConnectorSpec{Image: "img"}, []byte(`{"token":"old"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Catalog.Streams[0].Name; got != "users" {
		t.Errorf("stream: got %q, want users", got)
	}
	want := []protocol.Log{
		{Level: "INFO", Message: "starting"},
		{Level: "INFO", Message: "connector: not json"},
	}
	if diff := cmp.Diff(want, res.Logs); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if len(res.Errors) != 1 || res.Errors[0].Message != "host unreachable" {
		t.Errorf("errors: got %+v, want the one trace", res.Errors)
	}
	if got, want := string(res.Config), `{"token":"new"}`; got != want {
		t.Errorf("config: got %s, want %s", got, want)
	}
	if got, want := res.StderrTail, "warming up\n"; got != want {
		t.Errorf("stderr: got %q, want %q", got, want)
	}
}

// TestCommandSpec verifies the spec Command builds from the caller's base:
// arguments, the config file, the working directory, role and environment.
func TestCommandSpec(t *testing.T) {
	rt := &runner.FakeRuntime{RunFunc: runner.ScriptRun(cmdSucceededLine+"\n", "", runner.ExitStatus{})}
	base := runner.ConnectorSpec{Name: "n", Image: "ferry/x:dev", Env: map[string]string{"LOG_LEVEL": "DEBUG"}, OpenStdin: true}
	if _, err := runner.Check(t.Context(), rt, base, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	got := rt.Specs()[0]
	want := runner.ConnectorSpec{
		Name: "n", Image: "ferry/x:dev", Role: runner.RoleConnector,
		Args:    []string{"check", "--config", runner.CommandConfigPath},
		WorkDir: runner.CommandWorkDir,
		Files:   map[string][]byte{runner.CommandConfigPath: []byte(`{"a":1}`)},
		Env: map[string]string{
			"WORKER_CONNECTOR_IMAGE": "ferry/x:dev", "DEPLOYMENT_MODE": "OSS", "LOG_LEVEL": "DEBUG",
			"USE_STREAM_CAPABLE_STATE": "true", "USE_FILE_TRANSFER": "false",
			"AIRBYTE_ENABLE_UNSAFE_CODE": "false", "JAVA_OPTS": "-XX:+ExitOnOutOfMemoryError",
			"PYTHONUNBUFFERED": "1",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// TestCommandRunError verifies that a connector that cannot be run is not
// a *ConnectorError and keeps its cause.
func TestCommandRunError(t *testing.T) {
	rt := &runner.FakeRuntime{RunFunc: func(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
		return runner.ExitStatus{}, &runner.ImageNotFoundError{Image: spec.Image}
	}}
	_, err := runner.Spec(t.Context(), rt, runner.ConnectorSpec{Image: "ferry/gone:dev"})
	var nf *runner.ImageNotFoundError
	var ce *runner.ConnectorError
	if !errors.As(err, &nf) || errors.As(err, &ce) {
		t.Errorf("got %v, want an *ImageNotFoundError and no *ConnectorError", err)
	}
}

package cdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// testSource is a configurable in-process source.
type testSource struct {
	spec     *protocol.Spec
	checkErr error
	streams  []Stream
	global   bool
	panicMsg string
}

func (s *testSource) Spec() *protocol.Spec {
	if s.spec != nil {
		return s.spec
	}
	return testSpec
}

func (s *testSource) Check(ctx context.Context, req *Request) error {
	if s.panicMsg != "" {
		panic(s.panicMsg)
	}
	return s.checkErr
}

func (s *testSource) Streams(ctx context.Context, req *Request) ([]Stream, error) {
	return s.streams, nil
}

func (s *testSource) UsesGlobalState(req *Request) bool { return s.global }

// testStream reads with a function.
type testStream struct {
	name string
	read func(ctx context.Context, req *ReadRequest, out *Emitter) error
}

func (s *testStream) Describe() protocol.Stream {
	return protocol.Stream{Name: s.name, JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"}}}`),
		SupportedSyncModes:  []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
		SourceDefinedCursor: true, DefaultCursorField: []string{"id"}, SourceDefinedPrimaryKey: [][]string{{"id"}}}
}

func (s *testStream) Read(ctx context.Context, req *ReadRequest, out *Emitter) error {
	return s.read(ctx, req, out)
}

// TestSpecCommand prints one SPEC that validates against the protocol.
func TestSpecCommand(t *testing.T) {
	res := runCmd(t, &testSource{}, "", "spec")
	if res.code != ExitOK {
		t.Fatalf("exit code: got %d, want 0; stderr %s", res.code, res.stderr)
	}
	if got := len(res.ofType(protocol.TypeSpec)); got != 1 || len(res.msgs) != 1 {
		t.Fatalf("got %d SPEC in %d messages, want exactly 1", got, len(res.msgs))
	}
	res.validate(t)
}

// TestCheck covers the outcomes of check (docs/protocol.md 1.5).
func TestCheck(t *testing.T) {
	good := `{"count": 2, "api_key": "sk-live-42", "auth": {"method": "password", "password": "hunter2"}}`
	tests := []struct {
		name       string
		src        *testSource
		config     string
		wantCode   int
		wantStatus string // "" when no status is expected
		wantText   string // in the status message or the trace
		wantTrace  string // failure_type of the ERROR trace, "" for none
	}{
		{"succeeds", &testSource{}, good, ExitOK, protocol.StatusSucceeded, "", ""},
		{"schema violation fails with the field", &testSource{}, `{"count": "x"}`, ExitOK, protocol.StatusFailed, `field "count"`, ""},
		{"config error from the connector", &testSource{checkErr: ConfigError("cannot log in with key sk-live-42")}, good, ExitOK, protocol.StatusFailed, "cannot log in with key " + secret.Mask, ""},
		{"plain error is a failed check", &testSource{checkErr: errors.New("host unreachable")}, good, ExitOK, protocol.StatusFailed, "host unreachable", ""},
		{"system error is a trace", &testSource{checkErr: SystemError("driver crashed holding hunter2")}, good, ExitFailure, "", "driver crashed holding " + secret.Mask, protocol.FailureSystem},
		{"panic is a trace", &testSource{panicMsg: "boom sk-live-42"}, good, ExitFailure, "", "boom " + secret.Mask, protocol.FailureSystem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, "config.json", tt.config)
			res := runCmd(t, tt.src, "", "check", "--config", cfg)
			if res.code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d; stdout %s", res.code, tt.wantCode, res.stdout)
			}
			statuses := res.ofType(protocol.TypeConnectionStatus)
			if tt.wantStatus == "" {
				if len(statuses) != 0 {
					t.Errorf("got %d connection statuses, want none", len(statuses))
				}
			} else if len(statuses) != 1 || statuses[0].ConnectionStatus.Status != tt.wantStatus {
				t.Fatalf("got statuses %s, want one %s", res.stdout, tt.wantStatus)
			} else if !strings.Contains(statuses[0].ConnectionStatus.Message, tt.wantText) {
				t.Errorf("status message: got %q, want it to contain %q", statuses[0].ConnectionStatus.Message, tt.wantText)
			}
			traces := res.errorTraces()
			if tt.wantTrace != "" {
				if len(traces) != 1 || traces[0].FailureType != tt.wantTrace {
					t.Fatalf("got traces %s, want one %s", res.stdout, tt.wantTrace)
				}
				if !strings.Contains(traces[0].Message, tt.wantText) {
					t.Errorf("trace message: got %q, want it to contain %q", traces[0].Message, tt.wantText)
				}
			}
			for _, secret := range []string{"sk-live-42", "hunter2"} {
				if strings.Contains(res.stdout, secret) {
					t.Errorf("stdout leaks secret %q: %s", secret, res.stdout)
				}
				if strings.Contains(res.stderr, secret) {
					t.Errorf("stderr leaks secret %q: %s", secret, res.stderr)
				}
			}
			res.validate(t)
		})
	}
}

// TestUsageErrors exits 2 with an ERROR trace.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"sync"}, {"read", "--config", "c.json"}} {
		res := runCmd(t, &testSource{}, "", args...)
		if res.code != ExitUsage {
			t.Errorf("args %q: exit code got %d, want %d", args, res.code, ExitUsage)
		}
		if len(res.errorTraces()) != 1 {
			t.Errorf("args %q: got %d error traces, want 1", args, len(res.errorTraces()))
		}
	}
}

// TestDiscover lists the streams; a bad config is a config_error trace.
func TestDiscover(t *testing.T) {
	src := &testSource{streams: []Stream{&testStream{name: "a"}, &testStream{name: "b"}}}
	res := runCmd(t, src, "", "discover", "--config", writeFile(t, "c.json", `{"count": 1}`))
	cats := res.ofType(protocol.TypeCatalog)
	if res.code != ExitOK || len(cats) != 1 {
		t.Fatalf("got exit %d and %d catalogs, want 0 and 1: %s", res.code, len(cats), res.stdout)
	}
	if got := len(cats[0].Catalog.Streams); got != 2 {
		t.Errorf("got %d streams, want 2", got)
	}
	res.validate(t)

	bad := runCmd(t, src, "", "discover", "--config", writeFile(t, "c.json", `{}`))
	traces := bad.errorTraces()
	if bad.code != ExitFailure || len(traces) != 1 || traces[0].FailureType != protocol.FailureConfig {
		t.Errorf("bad config: got exit %d and traces %s, want 1 and one config_error", bad.code, bad.stdout)
	}
}

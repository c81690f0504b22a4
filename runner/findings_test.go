package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestErrorTracesAreBounded: a flood of ERROR traces keeps the first ones as failures and counts
// the rest (G10).
func TestErrorTracesAreBounded(t *testing.T) {
	var lines []string
	for i := 0; i < 3000; i++ {
		lines = append(lines, fmt.Sprintf(`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":%d,"error":{"message":"bad record %d","failure_type":"system_error"}}}`, i+1, i))
	}
	res, _ := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(1, lines...), Destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if n := len(res.Failures); n > 1010 {
		t.Fatalf("%d failures kept for 3000 ERROR traces; want a cap (warnings and protocol errors stop at 1000)", n)
	}
}

// TestSecretsAreMaskedBeforeLinesAreCut: a secret across the cut of a long non-protocol line or LOG
// message is masked before the line is cut, so no prefix of it leaks.
func TestSecretsAreMaskedBeforeLinesAreCut(t *testing.T) {
	const secret = "hunter2-0123456789-abcdef"
	leak := secret[:12]
	cases := map[string]func(stdio Stdio){
		"LOG message": func(stdio Stdio) {
			msg := strings.Repeat("x", MaxLogLineBytes-12) + secret
			b, _ := json.Marshal(map[string]any{"type": "LOG", "log": map[string]any{"level": "INFO", "message": msg}})
			writeLines(stdio.Out, string(b))
		},
		"stderr line": func(stdio Stdio) {
			io.WriteString(stdio.Err, strings.Repeat("y", MaxLogLineBytes-12)+secret+"\n")
		},
		"trace message": func(stdio Stdio) {
			msg := strings.Repeat("z", maxFailureText-12) + secret
			b, _ := json.Marshal(map[string]any{"type": "TRACE", "trace": map[string]any{"type": "ERROR", "emitted_at": 1,
				"error": map[string]any{"message": msg, "failure_type": "system_error"}}})
			writeLines(stdio.Out, string(b))
		},
	}
	for name, emit := range cases {
		t.Run(name, func(t *testing.T) {
			log := &syncBuffer{}
			src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
				emit(stdio)
				return ExitStatus{Code: 1}, nil
			}
			cfg := baseConfig(&memCheckpointer{}, log, "users")
			cfg.Secrets = []string{secret}
			res, _ := Sync(context.Background(), &FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, cfg)
			if strings.Contains(log.String(), leak) {
				t.Errorf("the log holds the first %d bytes of the secret", len(leak))
			}
			b, _ := json.Marshal(res)
			if strings.Contains(string(b), leak) {
				t.Errorf("the result holds the first %d bytes of the secret", len(leak))
			}
		})
	}
}

// TestFinalFailuresAreRetryableAndTimed: the system errors found at the end of an attempt carry a time
// and are retryable, like every other system error.
func TestFinalFailuresAreRetryableAndTimed(t *testing.T) {
	lines := []string{recordLine("users", 1), `{"type":"RECORD","record":{"stream":"users"`, streamStateLine("users", 1)}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, lines...), Destination: (&destRecorder{}).run}, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil {
		t.Fatal("got success, want the record-like failure")
	}
	for _, f := range res.Failures {
		if f.Type == protocol.FailureSystem && (!f.Retryable || f.Timestamp.IsZero()) {
			t.Errorf("failure %q: retryable=%v timestamp=%v; want retryable with a timestamp", f.ExternalMessage, f.Retryable, f.Timestamp)
		}
	}
}

package cdk

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/secret"
)

// logSource logs through the request's logger during check.
type logSource struct{ testSource }

func (s *logSource) Check(ctx context.Context, req *Request) error {
	req.Log.With("component", "auth").Warn("logging in", "key", "sk-live-42", "note", "two words")
	return nil
}

// TestLoggerEmitsRedactedLogs turns slog records into LOG messages with
// their attributes and the secrets masked.
func TestLoggerEmitsRedactedLogs(t *testing.T) {
	res := runCmd(t, &logSource{}, "", "check", "--config", writeFile(t, "c.json", `{"count":1,"api_key":"sk-live-42"}`))
	logs := res.ofType(protocol.TypeLog)
	if len(logs) != 1 {
		t.Fatalf("got %d LOG messages, want 1: %s", len(logs), res.stdout)
	}
	want := `logging in component=auth key=` + secret.Mask + ` note="two words"`
	if got := logs[0].Log.Message; got != want || logs[0].Log.Level != protocol.LevelWarn {
		t.Errorf("got %s %q, want WARN %q", logs[0].Log.Level, got, want)
	}
	if strings.Contains(res.stdout, "sk-live-42") {
		t.Errorf("stdout leaks the secret: %s", res.stdout)
	}
}

package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// TestStoredConfigRecheckedAgainstSpec: a stored config that its
// connector's spec rejects fails the attempt as a config_error naming the
// field, before read and write start, with the secret masked; a clear
// checks the destination's config only.
func TestStoredConfigRecheckedAgainstSpec(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 3}}, scenario{})
	const pw = "zz-SECRET-77"
	bad := json.RawMessage(`{"secret":"` + pw + `","source":{"records":"` + pw + `"}}`)
	if err := d.db.UpdateActorConfig(context.Background(), store.KindSource, conn.SourceID, bad); err != nil {
		t.Fatal(err)
	}
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobFailed || len(j.Attempts) != 1 {
		t.Fatalf("job %s after %d attempts, want failed after one", j.Status, len(j.Attempts))
	}
	a := j.Attempts[0]
	if len(a.FailureReasons) != 1 {
		t.Fatalf("failure reasons %+v, want one", a.FailureReasons)
	}
	f := a.FailureReasons[0]
	if f.FailureType != protocol.FailureConfig || f.Retryable == nil || *f.Retryable ||
		!strings.Contains(f.ExternalMessage, "the source's config does not match its connector's spec: configuration.source.records") {
		t.Errorf("failure %+v, want a config_error naming configuration.source.records", f)
	}
	b, _ := json.Marshal(a.FailureReasons)
	logText := attemptLog(t, d, j, 1)
	if strings.Contains(string(b)+logText, pw) {
		t.Errorf("the secret shows in the failure or the log:\n%s\n%s", b, logText)
	}
	if a.Stats.RecordsEmitted != 0 {
		t.Errorf("%d records emitted, want none: the source must not run", a.Stats.RecordsEmitted)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.LocalRoot(), "received.jsonl")); !os.IsNotExist(err) {
		t.Errorf("the destination ran (received.jsonl: %v)", err)
	}

	// A clear runs the destination alone: the source's config is not its
	// concern.
	if j := runJob(t, d, conn.ID, store.JobClear); j.Status != store.JobSucceeded {
		t.Errorf("clear %s (%s), want succeeded", j.Status, summary(j.Attempts[0].FailureReasons))
	}
}

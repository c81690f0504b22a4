package runner_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// TestE2ESocketSourceCannotStart: in socket mode, a source that cannot
// run (its image or binary is missing) fails the attempt promptly, with
// its failure listed first, instead of leaving the destination waiting
// for the source's sockets until its connect timeout (15 minutes).
func TestE2ESocketSourceCannotStart(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		missing := "/nonexistent/source-missing"
		if e.name == "docker" {
			missing = "ferry/source-missing:never-built"
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a hang guard only
		defer cancel()
		res, err := runner.Sync(ctx, e.rt, runner.Config{
			InstanceID: e.instance, JobID: 1, Attempt: 1,
			Mode:         runner.Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2},
			Source:       runner.Connector{Image: missing, Config: json.RawMessage(`{}`)},
			Destination:  runner.Connector{Image: e.images["destination-jsonl"], Config: json.RawMessage(`{"destination_path":"/local/out"}`)},
			Catalog:      scriptedCatalog(protocol.DestAppend, "items"),
			Checkpointer: &memState{},
			LocalRoot:    t.TempDir(),
			Log:          testLog{t},
		})
		took := time.Since(start)
		if err == nil || res.Status != runner.StatusFailed || len(res.Failures) == 0 {
			t.Fatalf("got %v, %+v; want a failed attempt", err, res)
		}
		if f := res.Failures[0]; f.Origin != protocol.OriginSource || !strings.Contains(f.ExternalMessage, "could not run the source") {
			t.Errorf("first failure %+v, want the source's start failure; all: %+v", f, res.Failures)
		}
		for _, f := range res.Failures[1:] {
			if strings.Contains(f.ExternalMessage, "could not run the source") {
				t.Errorf("the source's start failure is listed twice: %+v", res.Failures)
			}
		}
		// Generous for a loaded machine; the defect took 15 minutes.
		if took > 2*time.Minute {
			t.Errorf("the attempt took %s", took)
		}
		t.Logf("%s: failed in %s: %+v", e.name, took.Round(time.Millisecond), res.Failures)
	})
}

// memState is a Checkpointer that keeps the last commit in memory.
type memState struct{ last []*protocol.State }

func (m *memState) Commit(_ context.Context, cp runner.Checkpoint) error {
	if cp.States != nil {
		m.last = cp.States
	}
	return nil
}

package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// TestE2ESocketAcks is scenario 2 in socket mode, with real connector
// processes (local) and containers (Docker): the scripted destination
// acknowledges 6 states (30 records, a state every 5) out of order, every
// second one, regressing, or never. Only the contiguous prefix of
// acknowledged ids is committed, and the warnings say what happened, with
// the switch that makes count mismatches fatal on: out-of-order acks
// (whose counts agree) must not trip it.
func TestE2ESocketAcks(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			ack, cursor string
			warnings    []string
		}{
			{"out_of_order", `"cursor":30`, nil},
			{"regressing_id", `"cursor":30`, []string{"older than the committed state were ignored"}},
			{"every_nth", "", []string{"3 forwarded states were never acknowledged", "3 acknowledged states were not committed"}},
			{"none", "", []string{"6 forwarded states were never acknowledged", "no acknowledged state"}},
		} {
			t.Run(tc.ack, func(t *testing.T) {
				root := t.TempDir()
				os.Chmod(root, 0o777)
				cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
				res, err := runner.Sync(context.Background(), e.rt, runner.Config{
					InstanceID: e.instance, JobID: 1, Attempt: 1,
					Mode:        runner.Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 1},
					Source:      runner.Connector{Image: e.images["connector-scripted"], Config: json.RawMessage(`{"source":{"records":30,"state_every":5}}`)},
					Destination: runner.Connector{Image: e.images["connector-scripted"], Config: json.RawMessage(fmt.Sprintf(`{"destination":{"ack":%q,"ack_every":2}}`, tc.ack))},
					Catalog:     catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items"), Checkpointer: cp, LocalRoot: root,
					Log: testLog{t}, Timeouts: runner.Timeouts{SocketConnect: time.Minute}, FailOnCountMismatch: true,
				})
				if err != nil {
					t.Fatalf("sync: %v (%+v)", err, res.Failures)
				}
				b, _ := json.Marshal(cp.states(t))
				if (tc.cursor == "") != (len(cp.states(t)) == 0) || !strings.Contains(string(b), tc.cursor) {
					t.Errorf("committed %s, want %q", b, tc.cursor)
				}
				all := strings.Join(res.Warnings, " | ")
				for _, w := range tc.warnings {
					if !strings.Contains(all, w) {
						t.Errorf("warnings %q lack %q", res.Warnings, w)
					}
				}
				if tc.warnings == nil && len(res.Warnings) > 0 {
					t.Errorf("warnings %q, want none", res.Warnings)
				}
			})
		}
	})
}

package runner_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// TestE2ETimeoutsFail is scenario 8 on real connector processes (local)
// and containers (Docker), in stdio and socket mode where the fault
// exists in both: a silent source, a destination that stops reading, and
// a destination that never exits after the end of its input each fail
// the attempt within their timeout (3 s here; the bound allows for a
// loaded machine's container starts and stops) with a reason that names
// the culprit, and leave no container, volume or process behind.
func TestE2ETimeoutsFail(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		const limit = 3 * time.Second
		for _, tc := range []struct {
			name, src, dst string
			modes          []string
			timeouts       runner.Timeouts
			culprit        string
		}{
			{"silent source", `{"source":{"records":20,"state_every":5,"hang_after_record":6}}`, `{}`,
				[]string{protocol.ModeStdio, protocol.ModeSocket}, runner.Timeouts{NoProgress: limit}, protocol.OriginSource},
			{"destination stops reading", `{"source":{"records":200000,"record_bytes":1024}}`, `{"destination":{"stop_reading_after_records":10}}`,
				[]string{protocol.ModeStdio}, runner.Timeouts{DestinationWrite: limit}, protocol.OriginDestination},
			// In socket mode the destination's reads are invisible to Ferry:
			// the no-progress timeout fires, naming both candidates.
			{"destination stops reading its sockets", `{"source":{"records":200000,"record_bytes":1024}}`, `{"destination":{"stop_reading_after_records":10}}`,
				[]string{protocol.ModeSocket}, runner.Timeouts{NoProgress: limit}, protocol.OriginReplication},
			{"destination never exits", `{"source":{"records":20,"state_every":5}}`, `{"destination":{"hang_after_eof":true}}`,
				[]string{protocol.ModeStdio, protocol.ModeSocket}, runner.Timeouts{EndOfInput: limit}, protocol.OriginDestination},
		} {
			for _, mode := range tc.modes {
				t.Run(tc.name+"/"+mode, func(t *testing.T) {
					root := t.TempDir()
					os.Chmod(root, 0o777)
					m := runner.Mode{Mode: mode}
					if mode == protocol.ModeSocket {
						m = runner.Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 1}
					}
					tc.timeouts.SocketConnect = time.Minute
					cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
					start := time.Now()
					res, err := runner.Sync(context.Background(), e.rt, runner.Config{
						InstanceID: e.instance, JobID: 1, Attempt: 1, Mode: m,
						Source:      runner.Connector{Image: e.images["connector-scripted"], Config: json.RawMessage(tc.src)},
						Destination: runner.Connector{Image: e.images["connector-scripted"], Config: json.RawMessage(tc.dst)},
						Catalog:     catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items"), Checkpointer: cp,
						LocalRoot: root, Log: testLog{t}, Timeouts: tc.timeouts,
					})
					took := time.Since(start)
					if err == nil || res.Status != runner.StatusFailed || len(res.Failures) == 0 {
						t.Fatalf("err %v, status %s: want a failure", err, res.Status)
					}
					first := res.Failures[0]
					culprit := tc.culprit
					if mode == protocol.ModeSocket && tc.timeouts.NoProgress > 0 {
						// Ferry cannot tell a silent source from a destination
						// that stopped reading its sockets: it names both.
						culprit = protocol.OriginReplication
						if !strings.Contains(first.ExternalMessage, "either the source stopped sending or the destination stopped reading") {
							t.Errorf("first failure %q, want both candidates named", first.ExternalMessage)
						}
					}
					if first.Origin != culprit || !strings.Contains(first.ExternalMessage, limit.String()) {
						t.Errorf("first failure %s %q, want the %s named with its timeout", first.Origin, first.ExternalMessage, culprit)
					}
					if took > limit+45*time.Second {
						t.Errorf("took %s with a %s timeout", took, limit)
					}
					if e.leftovers != nil {
						if l := e.leftovers(t); len(l) > 0 {
							t.Errorf("containers left behind: %v", l)
						}
					}
					if e.volumes != nil {
						if v := e.volumes(t); len(v) > 0 {
							t.Errorf("volumes left behind: %v", v)
						}
					}
					t.Logf("%s: failed after %s: %s: %s", tc.name, took.Round(time.Millisecond), first.Origin, first.ExternalMessage)
				})
			}
		}
	})
}

package runner_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// TestE2EPumpDies: the pump of a pod dies mid-attempt (its output breaks,
// as when its container is killed). The attempt fails naming the pump and
// how it ended, and the retry on a sound pump resumes from the committed
// state and delivers every record.
func TestE2EPumpDies(t *testing.T) {
	img := runnertest.BuildBinary(t, "connector-scripted", "./connectors/connector-scripted")
	e := &env{name: "pumped", images: map[string]string{"connector-scripted": img},
		rt: runnertest.Pumped{Runtime: local.New(local.Options{}), BreakAfter: 1500}}
	root := t.TempDir()
	cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
	sc := scenario{source: "connector-scripted", destination: "connector-scripted",
		sourceConfig: `{"source":{"records":100,"state_every":10}}`,
		destConfig:   `{"destination":{"output_path":"/local/received.jsonl"}}`,
		catalog:      catalogOf(protocol.SyncIncremental, protocol.DestAppend, "items"), mode: runner.Mode{Mode: protocol.ModeStdio}}
	res, err := e.sync(t, context.Background(), root, sc, cp)
	if err == nil {
		t.Fatal("the attempt succeeded although its pump died")
	}
	if msg := res.Failures[0].ExternalMessage; !strings.Contains(msg, "the in-pod pump ended before the source's output did") ||
		!strings.Contains(msg, "exit code 1") || !strings.Contains(msg, "killed") {
		t.Fatalf("first failure %q: want the pump's end, its exit code and its last words", msg)
	}
	sc.state, sc.attempt = cp.states(t), 2
	e.rt = runnertest.Pumped{Runtime: local.New(local.Options{})}
	if _, err := e.sync(t, context.Background(), root, sc, cp); err != nil {
		t.Fatalf("retry: %v", err)
	}
	seen := receivedIDs(t, filepath.Join(root, "received.jsonl"))
	for id := 1; id <= 100; id++ {
		if seen[id] == 0 {
			t.Fatalf("record %d never arrived: a gap", id)
		}
	}
}

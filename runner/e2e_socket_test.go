package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// Socket-mode twins of stdio guarantees, on the real runtimes with the
// reference connectors.

// scriptedCatalog configures streams of connector-scripted with the
// schema it describes, which PROTOBUF needs to place the values.
func scriptedCatalog(destMode string, streams ...string) *protocol.ConfiguredCatalog {
	c := &protocol.ConfiguredCatalog{}
	for _, s := range streams {
		c.Streams = append(c.Streams, protocol.ConfiguredStream{
			Stream: protocol.Stream{Name: s,
				JSONSchema:         json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"stream":{"type":"string"},"pad":{"type":"string"}}}`),
				SupportedSyncModes: []string{protocol.SyncFullRefresh, protocol.SyncIncremental}},
			SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: destMode,
		})
	}
	return c
}

// syncMode runs one sync of connector-scripted into destination-jsonl in
// mode, with mapping.
func (e *env) syncMode(t *testing.T, root string, mode runner.Mode, mapping runner.NamespaceMapping, sourceConfig string,
	cat *protocol.ConfiguredCatalog, cp runner.Checkpointer) (*runner.Result, error) {
	t.Helper()
	return runner.Sync(context.Background(), e.rt, runner.Config{
		InstanceID: e.instance, JobID: 1, Attempt: 1, Mode: mode, Mapping: mapping,
		Source:       runner.Connector{Image: e.images["connector-scripted"], Config: json.RawMessage(sourceConfig)},
		Destination:  runner.Connector{Image: e.images["destination-jsonl"], Config: json.RawMessage(`{"destination_path":"/local/out"}`)},
		Catalog:      cat,
		Checkpointer: cp,
		LocalRoot:    root,
		Log:          testLog{t},
	})
}

// committedCursor returns the committed cursor of stream, or -1.
func committedCursor(t *testing.T, cp *fileState, stream string) int {
	t.Helper()
	for _, st := range cp.states(t) {
		if st.Stream == nil || st.Stream.StreamDescriptor.Name != stream {
			continue
		}
		var c struct{ Cursor int }
		if err := json.Unmarshal(st.Stream.StreamState, &c); err != nil {
			t.Fatal(err)
		}
		return c.Cursor
	}
	return -1
}

// TestE2ESocketSourceFailureKeepsOldData is G5 in socket mode, the twin of
// TestE2ESourceFailureKeepsOldData: a source that exits 1 or 137 (killed)
// after emitting everything, its COMPLETE statuses included, never
// finalises the overwrite, so destination-jsonl keeps the previous file;
// the states the destination acknowledged are still committed.
func TestE2ESocketSourceFailureKeepsOldData(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		socket := runner.Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
		cat := scriptedCatalog(protocol.DestOverwrite, "items")
		for _, code := range []int{1, 137} {
			t.Run(fmt.Sprintf("exit %d", code), func(t *testing.T) {
				root := t.TempDir()
				os.Chmod(root, 0o777)
				cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
				if _, err := e.syncMode(t, root, socket, runner.NamespaceMapping{}, `{"source":{"records":5}}`, cat, cp); err != nil {
					t.Fatalf("first sync: %v", err)
				}
				out := filepath.Join(root, "out", "items.jsonl")
				if n := countLines(t, out); n != 5 {
					t.Fatalf("after the first sync: %d lines, want 5 (a successful socket sync finalises)", n)
				}
				cfg := fmt.Sprintf(`{"source":{"records":50,"state_every":10,"exit_code":%d}}`, code)
				res, err := e.syncMode(t, root, socket, runner.NamespaceMapping{}, cfg, cat, cp)
				if err == nil || res.Source.Code != code {
					t.Fatalf("second sync: err %v, source exit %d; want a failed attempt and exit %d", err, res.Source.Code, code)
				}
				if n := countLines(t, out); n != 5 {
					t.Fatalf("after the failed sync: %d lines, want the old 5", n)
				}
				if c := committedCursor(t, cp, "items"); c != 50 {
					t.Fatalf("committed cursor %d, want 50: the destination acknowledged every state", c)
				}
			})
		}
	})
}

// TestE2ESocketNamespaceMapping: the stream prefix and the namespace
// mapping name the destination's files the same in stdio mode (Ferry maps)
// and in socket mode, JSONL and PROTOBUF (the kit's destination maps),
// and the committed states keep the source's names.
func TestE2ESocketNamespaceMapping(t *testing.T) {
	envs(t, func(t *testing.T, e *env) {
		mapping := runner.NamespaceMapping{Definition: protocol.NamespaceCustomFormat, Format: "${SOURCE_NAMESPACE}mapped", Prefix: "pre-"}
		cat := scriptedCatalog(protocol.DestAppend, "items", "users")
		want := []string{"mapped_pre-items.jsonl", "mapped_pre-users.jsonl"}
		for _, m := range []runner.Mode{
			{Mode: protocol.ModeStdio},
			{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2},
			{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 2},
		} {
			t.Run(m.Mode+"-"+m.Format, func(t *testing.T) {
				root := t.TempDir()
				os.Chmod(root, 0o777)
				cp := &fileState{FileCheckpointer: runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")}}
				res, err := e.syncMode(t, root, m, mapping, `{"streams":["items","users"],"source":{"records":7}}`, cat, cp)
				if err != nil {
					t.Fatalf("sync: %v", err)
				}
				if res.Mode != m.Mode {
					t.Fatalf("ran in %s, want %s", res.Mode, m.Mode)
				}
				entries, err := os.ReadDir(filepath.Join(root, "out"))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, de := range entries {
					got = append(got, de.Name())
				}
				sort.Strings(got)
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("files %v, want %v", got, want)
				}
				for _, f := range want {
					if n := countLines(t, filepath.Join(root, "out", f)); n != 7 {
						t.Errorf("%s: %d lines, want 7", f, n)
					}
				}
				for _, s := range []string{"items", "users"} {
					if c := committedCursor(t, cp, s); c != 7 {
						t.Errorf("stream %s: committed cursor %d, want 7 under the source's name", s, c)
					}
				}
			})
		}
	})
}

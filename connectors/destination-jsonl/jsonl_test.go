package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// env maps /local to a temp dir and returns it with a config file.
func env(t *testing.T) (root, cfg string) {
	t.Helper()
	root = t.TempDir()
	t.Setenv(cdk.LocalRootEnv, root)
	cfg = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"destination_path":"/local/out"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return root, cfg
}

// catalog writes a one-stream catalog "s" with the given mode and
// generation ids (gen < 0: none).
func catalog(t *testing.T, mode string, gen, minGen int64) string {
	t.Helper()
	cs := protocol.ConfiguredStream{
		Stream:   protocol.Stream{Name: "s", JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{"full_refresh", "incremental"}},
		SyncMode: protocol.SyncIncremental, CursorField: []string{"v"}, DestinationSyncMode: mode, PrimaryKey: [][]string{{"id"}},
	}
	if gen >= 0 {
		cs.GenerationID, cs.MinimumGenerationID = &gen, &minGen
	}
	b, _ := json.Marshal(protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{cs}})
	p := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// input renders "id=v" records of stream s, "state" (covering the records
// since the previous one) and "complete".
func input(items ...string) string {
	var b strings.Builder
	n, stateID := 0, 0
	for _, it := range items {
		switch it {
		case "state":
			stateID++
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"n":%d}},"sourceStats":{"recordCount":%d.0},"id":%d}}`+"\n", stateID, n, stateID)
			n = 0
		case "complete":
			b.WriteString(`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"s"},"status":"COMPLETE"}}}` + "\n")
		default:
			id, v, _ := strings.Cut(it, "=")
			fmt.Fprintf(&b, `{"type":"RECORD","record":{"stream":"s","data":{"id":%s,"v":%s},"emitted_at":42}}`+"\n", id, v)
			n++
		}
	}
	return b.String()
}

func write(t *testing.T, cfg, cat, stdin string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	code := cdk.Run(context.Background(), destination{}, []string{"write", "--config", cfg, "--catalog", cat},
		cdk.Stdio{In: strings.NewReader(stdin), Out: &out, Err: io.Discard})
	return out.String(), code
}

// data reads the _airbyte_data of every line of the stream's file.
func data(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var rec struct {
			ID        string          `json:"_airbyte_ab_id"`
			EmittedAt int64           `json:"_airbyte_emitted_at"`
			Data      json.RawMessage `json:"_airbyte_data"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || len(rec.ID) != 36 || rec.EmittedAt != 42 {
			t.Fatalf("line is not a local-json record (%v): %s", err, line)
		}
		out = append(out, string(rec.Data))
	}
	return out
}

// TestAppend appends across syncs and acknowledges every state.
func TestAppend(t *testing.T) {
	root, cfg := env(t)
	cat := catalog(t, protocol.DestAppend, -1, 0)
	out, code := write(t, cfg, cat, input("1=1", "2=1", "state", "3=1", "state"))
	if code != 0 || strings.Count(out, `"type":"STATE"`) != 2 {
		t.Fatalf("exit %d, output %s; want 0 and two acks", code, out)
	}
	cdktest.ValidateOutput(t, []byte(out))
	write(t, cfg, cat, input("4=1", "state"))
	want := []string{`{"id":1,"v":1}`, `{"id":2,"v":1}`, `{"id":3,"v":1}`, `{"id":4,"v":1}`}
	if diff := cmp.Diff(want, data(t, filepath.Join(root, "out", "s.jsonl"))); diff != "" {
		t.Errorf("file mismatch (-want +got):\n%s", diff)
	}
}

// TestOverwriteOnlyOnComplete keeps the old file when COMPLETE is missing,
// resumes the same generation's temp file on retry, and replaces the file
// once COMPLETE arrives.
func TestOverwriteOnlyOnComplete(t *testing.T) {
	root, cfg := env(t)
	final := filepath.Join(root, "out", "s.jsonl")
	write(t, cfg, catalog(t, protocol.DestAppend, 1, 1), input("1=1", "state", "complete"))
	cat := catalog(t, protocol.DestAppend, 2, 2) // a truncate refresh to generation 2
	write(t, cfg, cat, input("2=2", "state"))    // fails: no COMPLETE
	if diff := cmp.Diff([]string{`{"id":1,"v":1}`}, data(t, final)); diff != "" {
		t.Fatalf("after the failed sync (-want +got):\n%s", diff)
	}
	write(t, cfg, cat, input("3=2", "state", "complete")) // the retry resumes
	if diff := cmp.Diff([]string{`{"id":2,"v":2}`, `{"id":3,"v":2}`}, data(t, final)); diff != "" {
		t.Errorf("after the retry (-want +got):\n%s", diff)
	}
	raw, _ := os.ReadFile(final)
	if !strings.Contains(string(raw), `"_airbyte_generation_id":2`) {
		t.Errorf("lines lack the generation id: %s", raw)
	}
	if m, _ := filepath.Glob(final + ".gen*.tmp"); len(m) != 0 {
		t.Errorf("temp files left behind: %v", m)
	}
}

// TestLegacyOverwrite without generation ids restarts its temp file.
func TestLegacyOverwrite(t *testing.T) {
	root, cfg := env(t)
	final := filepath.Join(root, "out", "s.jsonl")
	cat := catalog(t, protocol.DestOverwrite, -1, 0)
	write(t, cfg, cat, input("1=1", "state", "complete"))
	write(t, cfg, cat, input("9=9", "state"))
	write(t, cfg, cat, input("2=2", "state", "complete"))
	if diff := cmp.Diff([]string{`{"id":2,"v":2}`}, data(t, final)); diff != "" {
		t.Errorf("file mismatch (-want +got):\n%s", diff)
	}
}

// TestAppendDedup keeps one line per key: the greatest cursor, else the
// last one.
func TestAppendDedup(t *testing.T) {
	root, cfg := env(t)
	cat := catalog(t, protocol.DestAppendDedup, -1, 0)
	write(t, cfg, cat, input("1=5", "2=1", "state", "complete"))
	write(t, cfg, cat, input("1=3", "2=2", "3=1", "3=1", "state", "complete"))
	want := []string{`{"id":1,"v":5}`, `{"id":2,"v":2}`, `{"id":3,"v":1}`}
	if diff := cmp.Diff(want, data(t, filepath.Join(root, "out", "s.jsonl"))); diff != "" {
		t.Errorf("file mismatch (-want +got):\n%s", diff)
	}
}

// TestTornTail drops a half-written last line before appending.
func TestTornTail(t *testing.T) {
	root, cfg := env(t)
	cat := catalog(t, protocol.DestAppend, -1, 0)
	write(t, cfg, cat, input("1=1", "state"))
	final := filepath.Join(root, "out", "s.jsonl")
	f, _ := os.OpenFile(final, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"_airbyte_ab_id":"half`)
	f.Close()
	write(t, cfg, cat, input("2=1", "state"))
	if diff := cmp.Diff([]string{`{"id":1,"v":1}`, `{"id":2,"v":1}`}, data(t, final)); diff != "" {
		t.Errorf("file mismatch (-want +got):\n%s", diff)
	}
}

// TestCheckPaths accepts paths inside /local (and maps them) and refuses
// paths that leave it.
func TestCheckPaths(t *testing.T) {
	root, _ := env(t)
	for path, ok := range map[string]bool{"/local/a": true, "/json_data": true, "rel/dir": true, "/local/../etc": false, "../x": false} {
		cfg := filepath.Join(t.TempDir(), "c.json")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`{"destination_path":%q}`, path)), 0o600)
		var out bytes.Buffer
		cdk.Run(context.Background(), destination{}, []string{"check", "--config", cfg}, cdk.Stdio{Out: &out, Err: io.Discard})
		cdktest.ValidateOutput(t, out.Bytes())
		if got := strings.Contains(out.String(), `"SUCCEEDED"`); got != ok {
			t.Errorf("check %q: got %s, want success %v", path, out.String(), ok)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "json_data")); err != nil {
		t.Errorf("/json_data was not created under the local root: %v", err)
	}
	var out bytes.Buffer
	cdk.Run(context.Background(), destination{}, []string{"spec"}, cdk.Stdio{Out: &out, Err: io.Discard})
	cdktest.ValidateOutput(t, out.Bytes())
}

// TestNewFileDirSynced fsyncs the directory of a stream file it creates
// before it acknowledges a state: an fsync of the file alone leaves its
// name (and every acknowledged record in it) at the mercy of a crash.
func TestNewFileDirSynced(t *testing.T) {
	root, cfg := env(t)
	var synced []string
	orig := syncDir
	syncDir = func(dir string) error { synced = append(synced, dir); return orig(dir) }
	t.Cleanup(func() { syncDir = orig })
	out, code := write(t, cfg, catalog(t, protocol.DestAppend, -1, 0), input("1=1", "state"))
	if code != 0 || !strings.Contains(out, `"type":"STATE"`) {
		t.Fatalf("exit %d, output %s", code, out)
	}
	dir := filepath.Join(root, "out")
	if !slices.Contains(synced, dir) || !slices.Contains(synced, root) {
		t.Errorf("directories synced %v; want %s and %s (new file and new directory)", synced, dir, root)
	}
}

// TestHugeRecordLineBufferDropped: a stream's line buffer grown by one
// huge record is not kept for the rest of the sync.
func TestHugeRecordLineBufferDropped(t *testing.T) {
	ids, err := newIDSource()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.jsonl")
	f, err := openAppend(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &streamWriter{w: &writer{ids: ids}, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	line := []byte(`{"type":"RECORD","record":{"stream":"s","data":{"x":"` + strings.Repeat("a", 8<<20) + `"},"emitted_at":1}}`)
	if err := s.Write(context.Background(), []cdk.Record{{Stream: protocol.StreamDescriptor{Name: "s"}, Line: line}}); err != nil {
		t.Fatal(err)
	}
	if c := cap(s.line); c > 1<<20 {
		t.Errorf("line buffer keeps %d bytes after a huge record", c)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// schemaCatalog is a catalog of the scripted streams with their real
// schema, which PROTOBUF needs to place values.
func schemaCatalog(t *testing.T, streams ...string) string {
	t.Helper()
	var cat protocol.ConfiguredCatalog
	for _, s := range streams {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: (&stream{name: s}).Describe(),
			SyncMode: protocol.SyncIncremental, DestinationSyncMode: protocol.DestAppend})
	}
	b, _ := json.Marshal(cat)
	return file(t, "catalog.json", string(b))
}

// runSocketPair runs the scripted source and destination joined by n
// sockets, both with config cfg, the destination writing under root.
func runSocketPair(t *testing.T, root, format string, n int, cfg, cat string) (src, dst output) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := 1; i <= n; i++ {
		paths = append(paths, filepath.Join(dir, fmt.Sprintf("s%d.sock", i)))
	}
	env := append(os.Environ(), cdk.LocalRootEnv+"="+root, cdk.EnvMedium+"=SOCKET", cdk.EnvFormat+"="+format,
		cdk.EnvSocketPaths+"="+strings.Join(paths, ","), cdk.EnvSocketTimeout+"=20s")
	bin := cdktest.Build(t, pkg)
	start := func(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, chan error) {
		cmd := exec.Command(bin, append(args, "--config", cfg, "--catalog", cat)...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, &out, &errb, done
	}
	wait := func(cmd *exec.Cmd, out, errb *bytes.Buffer, done chan error) output {
		select {
		case err := <-done:
			o := output{stdout: out.String(), stderr: errb.String()}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				o.code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return o
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s did not exit within 30s; stderr: %.500s", cmd.Args[1], errb.String())
			return output{}
		}
	}
	sc, sout, serr, sdone := start("read")
	dc, dout, derr, ddone := start("write")
	dst = wait(dc, dout, derr, ddone)
	src = wait(sc, sout, serr, sdone)
	return src, dst
}

// TestSocketScenarios plays scenarios over sockets: every record lands in
// the output file, acks follow the ack mode, crashes and exit codes work.
func TestSocketScenarios(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		scenario string
		srcCode  int
		dstCode  int
		acks     []string // nil: not checked
		records  int      // -1: not checked
	}{
		{"all JSONL", cdk.FormatJSONL, `"destination":{"output_path":"/local/out/received.jsonl"}`, 0, 0,
			[]string{"a:1", "a:2", "a:3", "b:1", "b:2", "b:3"}, 60},
		{"all PROTOBUF", cdk.FormatProtobuf, `"destination":{"output_path":"/local/out/received.jsonl"}`, 0, 0,
			[]string{"a:1", "a:2", "a:3", "b:1", "b:2", "b:3"}, 60},
		{"every_nth", cdk.FormatJSONL, `"destination":{"output_path":"/local/out/received.jsonl","ack":"every_nth","ack_every":3}`, 0, 0, nil, 60},
		{"crash after ack", cdk.FormatProtobuf, `"destination":{"output_path":"/local/out/received.jsonl","crash_after_ack":2,"exit_code":5}`, -1, 5, nil, -1},
		{"source exits", cdk.FormatJSONL, `"source":{"records":30,"state_every":10,"exit_after_record":15,"exit_code":3},"destination":{"output_path":"/local/out/received.jsonl"}`, 3, 0, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scenario := tt.scenario
			if !strings.Contains(scenario, `"source"`) {
				scenario = `"source":{"records":30,"state_every":10},` + scenario
			}
			cfg := file(t, "c.json", `{"streams":["a","b"],`+scenario+`}`)
			root := t.TempDir()
			src, dst := runSocketPair(t, root, tt.format, 2, cfg, schemaCatalog(t, "a", "b"))
			if tt.srcCode >= 0 && src.code != tt.srcCode {
				t.Errorf("source exit %d, want %d: %.800s", src.code, tt.srcCode, src.stderr)
			}
			if dst.code != tt.dstCode {
				t.Errorf("destination exit %d, want %d: %.800s", dst.code, tt.dstCode, dst.stderr)
			}
			acks := ackSummary(t, dst.stdout)
			slices.Sort(acks)
			if tt.acks != nil && !slices.Equal(acks, tt.acks) {
				t.Errorf("acks %v, want %v", acks, tt.acks)
			}
			if tt.name == "crash after ack" && len(acks) != 2 {
				t.Errorf("acks %v, want 2 before the crash", acks)
			}
			if tt.name == "source exits" && !slices.Contains(acks, "a:1") {
				t.Errorf("acks %v, want a:1, checkpointed before the exit", acks)
			}
			if got := received(t, root); tt.records >= 0 && len(got) != tt.records {
				t.Errorf("output has %d records, want %d", len(got), tt.records)
			}
			if _, states, _ := messages(t, src.stdout); len(states) > 0 && (states[0].ID == nil || states[0].PartitionID == "") {
				t.Errorf("source state without socket keys: %+v", states[0])
			}
		})
	}
}

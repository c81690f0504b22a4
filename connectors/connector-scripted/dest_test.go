package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// ferryInput renders what Ferry sends a destination: n records of stream
// items with a STREAM state (id and sourceStats) after every k.
func ferryInput(n, k int) string {
	var b strings.Builder
	id := 0
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"type":"RECORD","record":{"stream":"items","data":{"id":%d},"emitted_at":1}}`+"\n", i)
		if i%k == 0 {
			id++
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":%d.0},"id":%d}}`+"\n", i, k, id)
		}
	}
	return b.String()
}

func destConfig(t *testing.T, dest string) string {
	return file(t, "c.json", `{"destination":{"output_path":"/local/out/received.jsonl",`+dest+`}}`)
}

func ackSummary(t *testing.T, stdout string) []string {
	_, states, _ := messages(t, stdout)
	out := []string{}
	for _, s := range states {
		out = append(out, fmt.Sprintf("%s:%d", s.Stream.StreamDescriptor.Name, *s.ID))
	}
	return out
}

// TestDestinationAckModes checks each acknowledgement scenario.
func TestDestinationAckModes(t *testing.T) {
	tests := []struct {
		ack  string
		want []string
	}{
		{`"ack":"all"`, []string{"items:1", "items:2", "items:3", "items:4"}},
		{`"ack":"every_nth","ack_every":2`, []string{"items:2", "items:4"}},
		{`"ack":"none"`, []string{}},
		{`"ack":"out_of_order"`, []string{"items:2", "items:1", "items:4", "items:3"}},
		{`"ack":"forged_unknown_id"`, []string{"items:1000001", "items:1000002", "items:1000003", "items:1000004"}},
		{`"ack":"regressing_id"`, []string{"items:1", "items:2", "items:1", "items:3", "items:2", "items:4", "items:3"}},
		{`"ack":"foreign_stream"`, []string{"foreign_items:1", "foreign_items:2", "foreign_items:3", "foreign_items:4"}},
	}
	cat := catalogFile(t, protocol.SyncIncremental, "items")
	for _, tt := range tests {
		t.Run(tt.ack, func(t *testing.T) {
			root := t.TempDir()
			o := runBin(t, root, ferryInput(8, 2), "write", "--config", destConfig(t, tt.ack), "--catalog", cat)
			if o.code != 0 {
				t.Fatalf("exit %d: %s", o.code, o.stderr)
			}
			if diff := cmp.Diff(tt.want, ackSummary(t, o.stdout)); diff != "" {
				t.Errorf("acks mismatch (-want +got):\n%s", diff)
			}
			if got := received(t, root); len(got) != 8 {
				t.Errorf("output file has %d records, want 8", len(got))
			}
		})
	}
}

// received returns the ids in the output file.
func received(t *testing.T, root string) []int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "out", "received.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m struct {
			Record struct {
				Data struct{ ID int } `json:"data"`
			} `json:"record"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad output line: %s", line)
		}
		ids = append(ids, m.Record.Data.ID)
	}
	return ids
}

// TestDestinationCrashes exits with the configured code after N records or
// N acks, and every acknowledged record is durably in the output file.
func TestDestinationCrashes(t *testing.T) {
	cat := catalogFile(t, protocol.SyncIncremental, "items")
	root := t.TempDir()
	o := runBin(t, root, ferryInput(20, 2), "write", "--config", destConfig(t, `"crash_after_ack":3,"exit_code":5`), "--catalog", cat)
	if o.code != 5 {
		t.Errorf("crash_after_ack: exit %d, want 5", o.code)
	}
	if diff := cmp.Diff([]string{"items:1", "items:2", "items:3"}, ackSummary(t, o.stdout)); diff != "" {
		t.Errorf("acks mismatch (-want +got):\n%s", diff)
	}
	if got := received(t, root); len(got) < 6 {
		t.Errorf("output holds %d records, want at least the 6 acknowledged", len(got))
	}
	o = runBin(t, t.TempDir(), ferryInput(20, 2), "write", "--config", destConfig(t, `"crash_after_records":5`), "--catalog", cat)
	if o.code != 1 || len(ackSummary(t, o.stdout)) > 2 {
		t.Errorf("crash_after_records: exit %d with acks %v, want 1 and at most 2", o.code, ackSummary(t, o.stdout))
	}
}

// TestDestinationHangs never exits after EOF (or stops reading) until
// terminated, and then exits 143.
func TestDestinationHangs(t *testing.T) {
	cat := catalogFile(t, protocol.SyncIncremental, "items")
	for _, scenario := range []string{`"hang_after_eof":true`, `"stop_reading_after_records":3`} {
		t.Run(scenario, func(t *testing.T) {
			cmd := exec.Command(cdktest.Build(t, pkg), "write", "--config", destConfig(t, scenario), "--catalog", cat)
			cmd.Env = append(os.Environ(), cdk.LocalRootEnv+"="+t.TempDir())
			cmd.Stdin = strings.NewReader(ferryInput(10, 2))
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("exited (%v) without being terminated", err)
			case <-time.After(700 * time.Millisecond):
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("did not exit within 10s of SIGTERM")
			}
			if code := cmd.ProcessState.ExitCode(); code != cdk.ExitTerminated {
				t.Errorf("exit code %d, want %d", code, cdk.ExitTerminated)
			}
		})
	}
}

// TestSpecCheckDiscover validates the commands against the protocol and
// never prints the secret.
func TestSpecCheckDiscover(t *testing.T) {
	cfg := file(t, "c.json", `{"secret":"s3cr3t-value","streams":["x","y"]}`)
	bad := file(t, "bad.json", `{"secret":"s3cr3t-value","check_error":"cannot use s3cr3t-value"}`)
	for _, args := range [][]string{{"spec"}, {"check", "--config", cfg}, {"discover", "--config", cfg}, {"check", "--config", bad}} {
		o := runBin(t, t.TempDir(), "", args...)
		if o.code != 0 {
			t.Errorf("%s: exit %d, want 0", args[0], o.code)
		}
		cdktest.ValidateOutput(t, []byte(o.stdout))
		if strings.Contains(o.stdout+o.stderr, "s3cr3t-value") {
			t.Errorf("%s leaks the secret: %s", args[0], o.stdout)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cdktest.RemoveBuilds()
	os.Exit(code)
}

func file(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSpecCheckValidate checks spec and check against the official schema.
func TestSpecCheckValidate(t *testing.T) {
	cfg := file(t, "config.json", `{}`)
	for _, args := range [][]string{{"spec"}, {"check", "--config", cfg}} {
		var out bytes.Buffer
		if code := cdk.Run(context.Background(), destination{}, args, cdk.Stdio{Out: &out, Err: io.Discard}); code != 0 {
			t.Fatalf("%s: exit code %d, want 0: %s", args[0], code, out.String())
		}
		cdktest.ValidateOutput(t, out.Bytes())
	}
}

// TestFakerToNull pipes the real source-faker binary into the real
// destination-null binary and checks that every state comes back, in
// order, with destination stats equal to the source's and cumulative
// committed counts.
func TestFakerToNull(t *testing.T) {
	faker := cdktest.Build(t, "github.com/ferrysync/ferry/connectors/source-faker")
	null := cdktest.Build(t, "github.com/ferrysync/ferry/connectors/destination-null")
	cfg := file(t, "faker.json", `{"count": 20000, "seed": 5, "records_per_slice": 1000}`)
	cat := file(t, "catalog.json", `{"streams":[
 {"stream":{"name":"users","json_schema":{},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"incremental","cursor_field":["updated_at"],"destination_sync_mode":"append"},
 {"stream":{"name":"purchases","json_schema":{},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`)
	src := exec.Command(faker, "read", "--config", cfg, "--catalog", cat)
	dst := exec.Command(null, "write", "--config", file(t, "null.json", `{}`), "--catalog", cat)
	pipe, err := src.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var sourceOut bytes.Buffer
	dst.Stdin = io.TeeReader(pipe, &sourceOut)
	var acks bytes.Buffer
	dst.Stdout = &acks
	if err := src.Start(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Run(); err != nil {
		t.Fatalf("destination: %v\n%s", err, acks.String())
	}
	if err := src.Wait(); err != nil {
		t.Fatalf("source: %v", err)
	}
	sent := statesOf(t, sourceOut.String())
	got := statesOf(t, acks.String())
	if len(got) != len(sent) || len(sent) != 40 {
		t.Fatalf("got %d acks for %d states, want 40 each", len(got), len(sent))
	}
	committed := map[string]int64{}
	for i, ack := range got {
		want := sent[i]
		name := want.Stream.StreamDescriptor.Name
		if ack.Stream.StreamDescriptor.Name != name || string(ack.Stream.StreamState) != string(want.Stream.StreamState) {
			t.Fatalf("ack %d is %s %s, want %s %s", i, ack.Stream.StreamDescriptor.Name, ack.Stream.StreamState, name, want.Stream.StreamState)
		}
		if *ack.DestinationStats.RecordCount != *want.SourceStats.RecordCount {
			t.Errorf("ack %d: destinationStats %v, want %v", i, *ack.DestinationStats.RecordCount, *want.SourceStats.RecordCount)
		}
		committed[name] += int64(*want.SourceStats.RecordCount)
		var n int64
		if err := json.Unmarshal(ack.Extra["committedRecordsCount"], &n); err != nil || n != committed[name] {
			t.Errorf("ack %d: committedRecordsCount %s, want %d", i, ack.Extra["committedRecordsCount"], committed[name])
		}
	}
	cdktest.ValidateOutput(t, acks.Bytes())
}

func statesOf(t testing.TB, out string) []*protocol.State {
	t.Helper()
	var states []*protocol.State
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m, err := protocol.Decode([]byte(line))
		if err != nil {
			t.Fatalf("bad line %v: %.200s", err, line)
		}
		if m.Type == protocol.TypeState {
			states = append(states, m.State)
		}
	}
	return states
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cdktest.RemoveBuilds()
	os.Exit(code)
}

const pkg = "github.com/ferrysync/ferry/connectors/connector-scripted"

func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func catalogFile(t *testing.T, mode string, streams ...string) string {
	t.Helper()
	var cat protocol.ConfiguredCatalog
	for _, s := range streams {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{
			Stream:   protocol.Stream{Name: s, JSONSchema: json.RawMessage(`{}`), SupportedSyncModes: []string{"full_refresh", "incremental"}, SourceDefinedCursor: true, DefaultCursorField: []string{"id"}},
			SyncMode: mode, DestinationSyncMode: protocol.DestAppend})
	}
	b, _ := json.Marshal(cat)
	return file(t, "catalog.json", string(b))
}

// output is one connector run.
type output struct {
	code   int
	stdout string
	stderr string
}

// runBin runs the scripted binary with stdin and a timeout, under a
// local root of its own.
func runBin(t *testing.T, root, stdin string, args ...string) output {
	t.Helper()
	cmd := exec.Command(cdktest.Build(t, pkg), args...)
	cmd.Env = append(os.Environ(), cdk.LocalRootEnv+"="+root)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("connector did not exit within 30s; stderr: %.500s", errb.String())
	}
	o := output{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		o.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o
}

func messages(t *testing.T, stdout string) (recs []*protocol.Record, states []*protocol.State, other []string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		m, err := protocol.Decode([]byte(line))
		if err != nil {
			other = append(other, line[:min(len(line), 60)])
			continue
		}
		switch m.Type {
		case protocol.TypeRecord:
			recs = append(recs, m.Record)
		case protocol.TypeState:
			states = append(states, m.State)
		}
	}
	return
}

// TestSourceStates emits N records per stream with a state every K, in
// each state kind, all valid protocol messages, and resumes from a state.
func TestSourceStates(t *testing.T) {
	for _, kind := range []string{"STREAM", "GLOBAL", "LEGACY"} {
		t.Run(kind, func(t *testing.T) {
			cfg := file(t, "c.json", fmt.Sprintf(`{"streams":["a","b"],"source":{"records":5,"state_every":2,"state_type":%q}}`, kind))
			cat := catalogFile(t, protocol.SyncIncremental, "a", "b")
			o := runBin(t, t.TempDir(), "", "read", "--config", cfg, "--catalog", cat)
			if o.code != 0 {
				t.Fatalf("exit %d: %s", o.code, o.stderr)
			}
			recs, states, _ := messages(t, o.stdout)
			if len(recs) != 10 || len(states) != 6 {
				t.Errorf("got %d records and %d states, want 10 and 6", len(recs), len(states))
			}
			for _, st := range states {
				if got := string(st.Kind()); got != kind {
					t.Errorf("state kind %s, want %s", got, kind)
				}
			}
			cdktest.ValidateOutput(t, []byte(o.stdout))
			// Resume after the third state (a at 5... b at 2).
			stateFile, _ := protocol.StateFile(resumeStates(states[:4]))
			o = runBin(t, t.TempDir(), "", "read", "--config", cfg, "--catalog", cat, "--state", file(t, "s.json", string(stateFile)))
			recs, _, _ = messages(t, o.stdout)
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.Stream+string(r.Data[6:7]))
			}
			if diff := cmp.Diff([]string{"b3", "b4", "b5"}, ids); diff != "" {
				t.Errorf("resumed records mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// resumeStates keeps what Ferry would persist: the latest state per
// stream for STREAM, the latest one otherwise.
func resumeStates(states []*protocol.State) []*protocol.State {
	if states[0].Kind() != protocol.StateStream {
		return states[len(states)-1:]
	}
	latest := map[string]*protocol.State{}
	var order []string
	for _, s := range states {
		n := s.Stream.StreamDescriptor.Name
		if latest[n] == nil {
			order = append(order, n)
		}
		latest[n] = s
	}
	var out []*protocol.State
	for _, n := range order {
		out = append(out, latest[n])
	}
	return out
}

// TestSourceMisbehaviour covers garbage, huge lines, foreign streams,
// stderr floods, states without stats and exit codes.
func TestSourceMisbehaviour(t *testing.T) {
	cat := catalogFile(t, protocol.SyncFullRefresh, "items")
	o := runBin(t, t.TempDir(), "", "read", "--config", file(t, "c.json", `{"source":{"records":3,"garbage_lines":2,"huge_line_bytes":2000000,
		"foreign_stream":"ghost","stderr_bytes":300000,"omit_source_stats":true,"exit_code":3,"error_message":"scripted failure"}}`), "--catalog", cat)
	if o.code != 3 {
		t.Errorf("exit code %d, want 3", o.code)
	}
	recs, states, other := messages(t, o.stdout)
	if len(other) != 2 || len(o.stderr) < 300000 || len(recs) != 5 {
		t.Errorf("got %d garbage lines, %d stderr bytes, %d records; want 2, >= 300000, 5", len(other), len(o.stderr), len(recs))
	}
	huge, ghost := false, false
	for _, r := range recs {
		huge = huge || len(r.Data) > 1900000
		ghost = ghost || r.Stream == "ghost"
	}
	if !huge || !ghost || len(states) != 1 || states[0].SourceStats != nil {
		t.Errorf("huge %v, ghost %v, states %d (first has stats: %v); want a huge line, a ghost record, one state without stats", huge, ghost, len(states), len(states) > 0 && states[0].SourceStats != nil)
	}
	if !strings.Contains(o.stdout, "scripted failure") {
		t.Errorf("no ERROR trace with the scenario's message")
	}

	o = runBin(t, t.TempDir(), "", "read", "--config", file(t, "c.json", `{"source":{"records":100,"state_every":10,"exit_after_record":25,"exit_code":7}}`), "--catalog", cat)
	recs, states, _ = messages(t, o.stdout)
	if o.code != 7 || len(recs) != 25 || len(states) != 2 {
		t.Errorf("exit after 25: got exit %d, %d records, %d states; want 7, 25, 2", o.code, len(recs), len(states))
	}
}

// TestSourceDataLines: with data_lines, every stream emits each line as a
// record's data, byte for byte, and a state at the end.
func TestSourceDataLines(t *testing.T) {
	lines := []string{`{"b": 1.50, "a":null}`, `{"s":"\u00e9\/","n":123456789012345678901234567890}`, `{}`}
	cfg, _ := json.Marshal(map[string]any{"streams": []string{"x", "y"}, "source": map[string]any{"records": 99, "data_lines": strings.Join(lines, "\n") + "\n"}})
	o := runBin(t, t.TempDir(), "", "read", "--config", file(t, "c.json", string(cfg)), "--catalog", catalogFile(t, protocol.SyncFullRefresh, "x", "y"))
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	recs, states, _ := messages(t, o.stdout)
	got := map[string][]string{}
	for _, r := range recs {
		got[r.Stream] = append(got[r.Stream], string(r.Data))
	}
	for _, s := range []string{"x", "y"} {
		if diff := cmp.Diff(lines, got[s]); diff != "" {
			t.Errorf("stream %s data (-want +got):\n%s", s, diff)
		}
	}
	if len(states) != 2 {
		t.Errorf("%d states, want one per stream", len(states))
	}
}

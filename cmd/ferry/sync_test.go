package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// TestSyncCommand runs `ferry sync` faker -> jsonl on the local runtime:
// the first run moves everything and writes the state file, the second run
// from that state moves only what is new, and the summary says so.
func TestSyncCommand(t *testing.T) {
	faker := runnertest.BuildBinary(t, "source-faker", "./connectors/source-faker")
	jsonl := runnertest.BuildBinary(t, "destination-jsonl", "./connectors/destination-jsonl")
	dir := t.TempDir()
	root := filepath.Join(dir, "local")
	state := filepath.Join(dir, "state.json")
	dst := writeConfig(t, `{"destination_path":"/local/out"}`)
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}

	args := func(count string) []string {
		return []string{"sync", "--runtime", "local", "--source", faker, "--source-config", writeConfig(t, `{"count":`+count+`,"seed":3}`),
			"--destination", jsonl, "--destination-config", dst, "--local-root", root,
			"--state", state, "--state-out", state, "--log", filepath.Join(dir, "attempt.log")}
	}
	r := runFerry(t, vars, args("500")...)
	if r.code != exitOK {
		t.Fatalf("first sync: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"sync succeeded", "mode stdio, JSONL", "users", "1100 records", "committed state written to " + state} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	states, err := protocol.ParseStateFile(b)
	if err != nil || len(states) != 3 {
		t.Fatalf("state file: %v, %d states; want 3 STREAM states", err, len(states))
	}

	r = runFerry(t, vars, args("600")...)
	if r.code != exitOK || !strings.Contains(r.stdout, "200 records") {
		t.Fatalf("second sync: exit %d, want only the 200 new records:\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(root, "out", "users.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 600 {
		t.Fatalf("users.jsonl: got %d lines, want 600", n)
	}
}

// TestSyncLegacyFullRefreshKeepsData is issue 12's data loss: a source
// whose streams have no cursor, which keeps LEGACY state and resumes from
// it whatever the sync mode. Without --catalog every stream is full
// refresh overwrite, so the second sync must not hand the source the
// state of the first: it reads everything again and the files keep every
// record, where a source resuming from the state would have emitted
// nothing and the overwrite would have emptied them.
func TestSyncLegacyFullRefreshKeepsData(t *testing.T) {
	scripted := runnertest.BuildBinary(t, "connector-scripted", "./connectors/connector-scripted")
	jsonl := runnertest.BuildBinary(t, "destination-jsonl", "./connectors/destination-jsonl")
	dir := t.TempDir()
	root := filepath.Join(dir, "local")
	state := filepath.Join(dir, "state.json")
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	src := writeConfig(t, `{"streams":["items","events"],"source":{"records":5,"state_type":"LEGACY","no_cursor":true,"resume_in_full_refresh":true}}`)
	args := []string{"sync", "--runtime", "local", "--source", scripted, "--source-config", src,
		"--destination", jsonl, "--destination-config", writeConfig(t, `{"destination_path":"/local/out"}`),
		"--local-root", root, "--state", state, "--state-out", state, "--log", filepath.Join(dir, "attempt.log")}
	for run := 1; run <= 2; run++ {
		r := runFerry(t, vars, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "10 records") {
			t.Fatalf("sync %d: exit %d, want 10 records:\n%s%s", run, r.code, r.stdout, r.stderr)
		}
		for _, stream := range []string{"items", "events"} {
			data, err := os.ReadFile(filepath.Join(root, "out", stream+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), "\n"); n != 5 {
				t.Fatalf("sync %d: %s.jsonl has %d lines, want 5", run, stream, n)
			}
		}
	}
	b, err := os.ReadFile(state)
	if err != nil || string(b) != `{"events":5,"items":5}` {
		t.Fatalf("state file %s (%v): want the source's LEGACY blob, kept", b, err)
	}
	log, err := os.ReadFile(filepath.Join(dir, "attempt.log"))
	if err != nil || !strings.Contains(string(log), "not given to the source: the LEGACY state") {
		t.Errorf("the attempt log does not say the LEGACY state was withheld (%v)", err)
	}
}

// TestSyncCommandFailures checks usage errors, that a failed sync exits 1
// with the failure in the summary, and that a partial success exits 4.
func TestSyncCommandFailures(t *testing.T) {
	scripted := runnertest.BuildBinary(t, "connector-scripted", "./connectors/connector-scripted")
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no source", []string{"sync", "--destination", "x"}, exitUsage, "--source and --destination are required"},
		{"bad mode", []string{"sync", "--source", "a", "--destination", "b", "--mode", "pigeon"}, exitUsage, `--mode "pigeon"`},
		{"missing config", []string{"sync", "--runtime", "local", "--source", scripted, "--destination", scripted, "--source-config", "/nonexistent.json"}, exitUsage, "--source-config"},
		{"source fails", []string{"sync", "--runtime", "local", "--source", scripted, "--destination", scripted,
			"--source-config", writeConfig(t, `{"secret":"sup3r-s3cret","source":{"records":5,"exit_code":1,"error_message":"cannot reach sup3r-s3cret"}}`),
			"--destination-config", writeConfig(t, `{}`), "--log", "-"}, exitFailed, "failure (source, system_error): cannot reach **********"},
		// G11: both connectors succeed, but the destination acknowledges
		// nothing.
		{"nothing acknowledged", []string{"sync", "--runtime", "local", "--source", scripted, "--destination", scripted,
			"--source-config", writeConfig(t, `{"source":{"records":3}}`),
			"--destination-config", writeConfig(t, `{"destination":{"ack":"none"}}`)}, exitPartial,
			"sync succeeded with warnings (partial success)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runFerry(t, vars, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit: got %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("output lacks %q:\nstdout: %s\nstderr: %s", tc.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "sup3r-s3cret") {
				t.Fatalf("the secret leaked:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestSyncMasksSecretsBeforeTheSync verifies that a connector failing
// before the sync starts (here discover, with an ERROR trace that quotes
// the config's password) does not put the secret on stderr: ferry sync
// masks its messages by value from the first connector answer on.
func TestSyncMasksSecretsBeforeTheSync(t *testing.T) {
	const pw = "hunter2-s3cret-pw"
	script := filepath.Join(t.TempDir(), "source-leaky")
	body := `#!/bin/sh
case "$1" in
spec) echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","properties":{"password":{"type":"string","airbyte_secret":true}}}}}' ;;
*) echo '{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"login refused for password ` + pw + `","failure_type":"config_error"}}}'; exit 1 ;;
esac
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	r := runFerry(t, vars, "sync", "--runtime", "local", "--source", script, "--destination", script,
		"--source-config", writeConfig(t, `{"password":"`+pw+`"}`), "--log", "-")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, exitFailed, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "login refused for password **********") {
		t.Errorf("stderr lacks the masked failure:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Errorf("the secret leaked:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
}

// TestSyncFlagValues verifies that flag values ferry sync cannot honour
// are usage errors (exit 2, naming the flag) before anything runs, rather
// than silently ignored or failing the sync later with exit 1.
func TestSyncFlagValues(t *testing.T) {
	base := []string{"sync", "--runtime", "local", "--source", "/nonexistent/src", "--destination", "/nonexistent/dst"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `--format "xml"`},
		{[]string{"--mode", "stdio", "--format", "PROTOBUF"}, "--format"},
		{[]string{"--sockets", "-2"}, "--sockets"},
		{[]string{"--max-line-bytes", "-1"}, "--max-line-bytes"},
		{[]string{"--no-progress-timeout", "-5s"}, "--no-progress-timeout"},
		{[]string{"--max-duration", "-1h"}, "--max-duration"},
		{[]string{"--stop-grace", "-1s"}, "--stop-grace"},
	} {
		r := runFerry(t, map[string]string{"XDG_CACHE_HOME": t.TempDir()}, append(base, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d naming %s", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// TestSyncMissingConnectorMessage verifies that a connector binary that is
// not there is exit 3 with a message that names it once.
func TestSyncMissingConnectorMessage(t *testing.T) {
	r := runFerry(t, map[string]string{"XDG_CACHE_HOME": t.TempDir()},
		"sync", "--runtime", "local", "--source", "/nonexistent/src", "--destination", "/nonexistent/dst")
	if r.code != exitUnavailable || strings.Count(r.stderr, "/nonexistent/src spec") != 1 {
		t.Errorf("exit %d, stderr %q; want exit %d naming the source's spec once", r.code, r.stderr, exitUnavailable)
	}
}

// TestPrepareLocalRoot: a --local-root that names a host directory is made
// absolute and created (the Docker engine refuses a missing bind source);
// a bare name on the Docker runtime is a volume and is left alone.
func TestPrepareLocalRoot(t *testing.T) {
	dir := t.TempDir()
	want := filepath.Join(dir, "a", "b")
	for _, rt := range []string{"docker", "local"} {
		got, err := prepareLocalRoot(want, rt)
		if err != nil || got != want {
			t.Fatalf("%s: prepareLocalRoot(%q) = %q, %v", rt, want, got, err)
		}
		if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
			t.Fatalf("%s: %s not created: %v", rt, want, err)
		}
	}
	if got, err := prepareLocalRoot("ferry-local", "docker"); err != nil || got != "ferry-local" {
		t.Fatalf("volume name: got %q, %v", got, err)
	}
	t.Chdir(dir)
	got, err := prepareLocalRoot("./rel", "docker")
	if abs := filepath.Join(dir, "rel"); err != nil || got != abs {
		t.Fatalf("relative: got %q, %v, want %q", got, err, abs)
	}
}

// TestSummarySocketBytes: in socket mode Ferry forwards no bytes itself;
// the summary shows the committed bytes instead of 0.0 MB.
func TestSummarySocketBytes(t *testing.T) {
	var b strings.Builder
	res := &runner.Result{Status: "succeeded", Mode: "socket", Format: "PROTOBUF", Sockets: 2,
		Stats: runner.Stats{RecordsEmitted: 10, RecordsCommitted: 10, BytesCommitted: 2_500_000,
			Streams: []runner.StreamStats{{Stream: protocol.StreamDescriptor{Name: "users"}, RecordsEmitted: 10, RecordsCommitted: 10, BytesCommitted: 2_500_000}}}}
	res.Ended = res.Started.Add(time.Second)
	printSummary(&b, res, &syncFlags{}, "log")
	for _, want := range []string{"10 records, 2.5 MB", "2500000"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

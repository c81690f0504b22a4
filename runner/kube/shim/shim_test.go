package shim

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// shimCmd runs the relay binary in shim mode with the given environment
// and arguments, as a pod's connector container does.
func shimCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	bin := runnertest.BuildBinary(t, "ferry-relay", runnertest.RelayPkg)
	cmd := exec.Command(bin, append([]string{"shim"}, args...)...)
	cmd.Env = env
	return cmd
}

func run(t *testing.T, cmd *exec.Cmd, stdin string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run shim: %v", err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

var shEntrypoint = []string{"AIRBYTE_ENTRYPOINT=/bin/sh -c"}

// TestShimStdio: the connector starts only after the start line, reads the
// rest of stdin with --stdin and nothing without, and writes stdout and
// stderr straight to the container's.
func TestShimStdio(t *testing.T) {
	out, errOut, code := run(t, shimCmd(t, shEntrypoint, "--stdin", "--", "cat; echo oops >&2"), StartLine+"line 1\nline 2\n")
	if code != 0 || out != "line 1\nline 2\n" || errOut != "oops\n" {
		t.Errorf("--stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, _, code = run(t, shimCmd(t, shEntrypoint, "--", "cat; echo done"), StartLine+"not for the connector\n")
	if code != 0 || out != "done\n" {
		t.Errorf("without --stdin: exit %d, stdout %q; want only done", code, out)
	}
}

// TestShimRefusesToStartWithoutStartLine: stdin that ends early or holds
// something else never starts the connector.
func TestShimRefusesToStartWithoutStartLine(t *testing.T) {
	for _, in := range []string{"", "ferry-st", "hello\n", "ferry-start-now\n"} {
		out, errOut, code := run(t, shimCmd(t, shEntrypoint, "--", "echo started"), in)
		if code != ExitNoStart || out != "" || !strings.Contains(errOut, "start line") {
			t.Errorf("stdin %q: exit %d, stdout %q, stderr %q", in, code, out, errOut)
		}
	}
}

// TestShimEntrypoint: FERRY_ENTRYPOINT (JSON) wins over AIRBYTE_ENTRYPOINT;
// with neither, or a bad one, the shim says so.
func TestShimEntrypoint(t *testing.T) {
	env := append([]string{`FERRY_ENTRYPOINT=["/bin/sh","-c","echo from ferry \"$0\""]`}, shEntrypoint...)
	out, _, code := run(t, shimCmd(t, env, "--", "arg0"), StartLine)
	if code != 0 || out != "from ferry arg0\n" {
		t.Errorf("FERRY_ENTRYPOINT: exit %d, stdout %q", code, out)
	}
	for _, env := range [][]string{nil, {"FERRY_ENTRYPOINT=/bin/sh -c"}, {"FERRY_ENTRYPOINT=[]"}} {
		_, errOut, code := run(t, shimCmd(t, env, "--", "true"), StartLine)
		if code != ExitNoEntrypoint || !strings.Contains(errOut, "ENTRYPOINT") {
			t.Errorf("env %q: exit %d, stderr %q", env, code, errOut)
		}
	}
	_, errOut, code := run(t, shimCmd(t, []string{"AIRBYTE_ENTRYPOINT=/no/such/connector"}, "--", "spec"), StartLine)
	if code != ExitStartFailed || !strings.Contains(errOut, "/no/such/connector") {
		t.Errorf("missing command: exit %d, stderr %q", code, errOut)
	}
}

// TestShimExitStatus: the container ends with the connector's code, or
// 128+signal when it was killed, as an engine reports it.
func TestShimExitStatus(t *testing.T) {
	for script, want := range map[string]int{"exit 7": 7, "kill -9 $$": 137, "kill -15 $$": 143, "true": 0} {
		if _, _, code := run(t, shimCmd(t, shEntrypoint, "--", script), StartLine); code != want {
			t.Errorf("%s: exit %d, want %d", script, code, want)
		}
	}
}

// TestShimForwardsTerm: a SIGTERM to the shim (the kubelet's stop) reaches
// the connector, which may end as it likes.
func TestShimForwardsTerm(t *testing.T) {
	cmd := shimCmd(t, shEntrypoint, "--", `trap 'echo stopping; exit 42' TERM; echo ready; while :; do sleep 1; done`)
	cmd.Stdin = strings.NewReader(StartLine)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("first line %q, want ready", lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 || strings.Join(rest, "|") != "stopping" {
		t.Errorf("after SIGTERM: exit %d, output %q; want 42 and stopping", code, rest)
	}
}

// TestPlaceFiles: files are joined from their parts at their paths, with
// the owner's permission only; a manifest naming a part outside the files
// directory, a relative destination or a missing part is refused.
func TestPlaceFiles(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{"0/source-0-0": `{"api_key":`, "1/source-0-1": `"s3cret"}`} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dst, "source", "config.json")
	if err := placeFiles(src, `{"`+target+`":["0/source-0-0","1/source-0-1"]}`); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(target)
	st, _ := os.Stat(target)
	if err != nil || string(b) != `{"api_key":"s3cret"}` || st.Mode().Perm() != 0o600 {
		t.Errorf("placed file: %q, %v, mode %v", b, err, st.Mode())
	}
	for _, bad := range []string{`{"/tmp/x":["../x"]}`, `{"relative/path":["0/source-0-0"]}`, `not json`,
		`{"/tmp/ferry-shim-missing":["0/missing"]}`, `{"/tmp/x":[]}`} {
		if err := placeFiles(src, bad); err == nil {
			t.Errorf("manifest %s accepted", bad)
		}
	}
	if err := Signal("HUP"); err == nil {
		t.Error("Signal(HUP) accepted; only TERM and KILL are")
	}
}

package runnertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/runner"
)

// testStdinEOF verifies that stdin reaches the connector and ends with EOF.
func (s *suite) testStdinEOF(t *testing.T) {
	rt := s.newRuntime(t)
	for _, tc := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"data", strings.NewReader("hello\nworld\n"), "bytes=12\n"},
		{"empty", strings.NewReader(""), "bytes=0\n"},
		{"nil", nil, "bytes=0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := s.spec("count")
			spec.OpenStdin = true
			var out bytes.Buffer
			status, err := s.run(t.Context(), t, rt, spec, runner.Stdio{In: tc.in, Out: &out, Err: io.Discard})
			if err != nil || status.Code != 0 {
				t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("stdout: got %q, want %q", got, tc.want)
			}
		})
	}
}

// testStdinNotOpened verifies that without OpenStdin the connector reads an
// empty stdin, whatever Stdio.In holds.
func (s *suite) testStdinNotOpened(t *testing.T) {
	spec := s.spec("count")
	var out bytes.Buffer
	status, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{In: strings.NewReader("ignored"), Out: &out})
	if err != nil || status.Code != 0 {
		t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
	}
	if got, want := out.String(), "bytes=0\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

// testStdoutStderr verifies that stdout and stderr stay apart and in order.
func (s *suite) testStdoutStderr(t *testing.T) {
	out, errOut := s.runOK(t, s.newRuntime(t), s.spec("out", "o1", "err", "e1", "out", "o2", "err", "e2"))
	if want := "o1\no2\n"; out != want {
		t.Errorf("stdout: got %q, want %q", out, want)
	}
	if want := "e1\ne2\n"; errOut != want {
		t.Errorf("stderr: got %q, want %q", errOut, want)
	}
}

// testExitCodes verifies that exit codes are reported, not returned as
// errors, and that output written before the exit is complete.
func (s *suite) testExitCodes(t *testing.T) {
	rt := s.newRuntime(t)
	for _, code := range []int{0, 1, 3, 42, 255} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var out bytes.Buffer
			spec := s.spec(append(GenArgs(1000, 100), "exit", fmt.Sprint(code))...)
			status, err := s.run(t.Context(), t, rt, spec, runner.Stdio{Out: &out, Err: io.Discard})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(runner.ExitStatus{Code: code}, status); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if got, want := status.Success(), code == 0; got != want {
				t.Errorf("Success: got %v, want %v", got, want)
			}
			c := &PatternChecker{LineLen: 100}
			c.Write(out.Bytes())
			if err := c.Check(1000); err != nil {
				t.Errorf("stdout before exit: %v", err)
			}
		})
	}
}

// testEnv verifies that spec.Env reaches the connector verbatim.
func (s *suite) testEnv(t *testing.T) {
	spec := s.spec("env", "FERRY_TEST_VAR", "env", "FERRY_TEST_EMPTY")
	spec.Env = map[string]string{"FERRY_TEST_VAR": "a b=c,d", "FERRY_TEST_EMPTY": ""}
	out, _ := s.runOK(t, s.newRuntime(t), spec)
	if want := "FERRY_TEST_VAR=a b=c,d\nFERRY_TEST_EMPTY=\n"; out != want {
		t.Errorf("stdout: got %q, want %q", out, want)
	}
}

// testFiles verifies that spec.Files are readable at their paths, that
// parent directories are created and that relative paths resolve from
// spec.WorkDir.
func (s *suite) testFiles(t *testing.T) {
	spec := s.spec("cat", "/source/connectorConfig.json", "cat", "catalog.json", "cat", "/dest/deep/dir/state.json")
	spec.WorkDir = "/source"
	spec.Files = map[string][]byte{
		"/source/connectorConfig.json": []byte(`{"api_key":"secret"}` + "\n"),
		"/source/catalog.json":         []byte(`{"streams":[]}` + "\n"),
		"/dest/deep/dir/state.json":    bytes.Repeat([]byte("s"), 1<<20),
	}
	out, _ := s.runOK(t, s.newRuntime(t), spec)
	want := `{"api_key":"secret"}` + "\n" + `{"streams":[]}` + "\n" + strings.Repeat("s", 1<<20)
	if out != want {
		t.Errorf("stdout: got %d bytes starting %q, want %d bytes starting %q", len(out), out[:min(len(out), 60)], len(want), want[:60])
	}
}

// testImageNotFound verifies that a missing image is a typed error.
func (s *suite) testImageNotFound(t *testing.T) {
	spec := s.spec("exit", "0")
	spec.Image = s.images.Missing
	_, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{Out: io.Discard, Err: io.Discard})
	var nf *runner.ImageNotFoundError
	if !errors.As(err, &nf) || nf.Image != s.images.Missing {
		t.Errorf("Run: got %v, want an *ImageNotFoundError for %s", err, s.images.Missing)
	}
}

// testLongLine verifies that a 30 MB line arrives whole.
func (s *suite) testLongLine(t *testing.T) {
	s.checkGen(t, 1, 30_000_000)
}

// testLargeOutput verifies 256 MiB of stdout arrive intact and in order.
func (s *suite) testLargeOutput(t *testing.T) {
	s.checkGen(t, 256<<10, 1024)
}

func (s *suite) checkGen(t *testing.T, lines int64, length int) {
	c := &PatternChecker{LineLen: length}
	status, err := s.run(t.Context(), t, s.newRuntime(t), s.spec(GenArgs(lines, length)...), runner.Stdio{Out: c, Err: io.Discard})
	if err != nil || status.Code != 0 {
		t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
	}
	if err := c.Check(lines); err != nil {
		t.Error(err)
	}
}

// testLargeStderr verifies 64 MiB of stderr arrive intact, apart from stdout.
func (s *suite) testLargeStderr(t *testing.T) {
	c := &PatternChecker{LineLen: 1024}
	var out bytes.Buffer
	spec := s.spec("generr", "65536", "1024", "out", "done")
	status, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{Out: &out, Err: c})
	if err != nil || status.Code != 0 {
		t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
	}
	if err := c.Check(65536); err != nil {
		t.Errorf("stderr: %v", err)
	}
	if got, want := out.String(), "done\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

// testLargeStdin verifies 64 MiB in through stdin and back out at once.
func (s *suite) testLargeStdin(t *testing.T) {
	spec := s.spec("echo")
	spec.OpenStdin = true
	c := &PatternChecker{LineLen: 1024}
	status, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{In: NewPatternReader(65536, 1024), Out: c, Err: io.Discard})
	if err != nil || status.Code != 0 {
		t.Fatalf("Run: got %+v, %v, want exit code 0", status, err)
	}
	if err := c.Check(65536); err != nil {
		t.Error(err)
	}
}

// testExitWithoutReadingStdin verifies that Run returns when the connector
// exits while stdin still has data (an endless reader here).
func (s *suite) testExitWithoutReadingStdin(t *testing.T) {
	spec := s.spec("out", "bye", "exit", "7")
	spec.OpenStdin = true
	var out bytes.Buffer
	status, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{In: NewPatternReader(-1, 100), Out: &out})
	if err != nil || status.Code != 7 {
		t.Fatalf("Run: got %+v, %v, want exit code 7", status, err)
	}
	if got, want := out.String(), "bye\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

// testChildrenDieWithConnector verifies that a child the connector started,
// which still holds stdout, does not outlive a normal exit.
func (s *suite) testChildrenDieWithConnector(t *testing.T) {
	out, _ := s.runOK(t, s.newRuntime(t), s.spec("spawn", "out", "parent-done"))
	if !strings.HasPrefix(out, "spawned ") || !strings.HasSuffix(out, "parent-done\n") {
		t.Errorf("stdout: got %q, want \"spawned PID\" then \"parent-done\"", out)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("sink closed") }

// testWriteErrorDoesNotBlock verifies that a failing stdout writer neither
// blocks the connector nor goes unreported.
func (s *suite) testWriteErrorDoesNotBlock(t *testing.T) {
	spec := s.spec(append(GenArgs(100_000, 100), "out", "finished")...)
	var errOut bytes.Buffer
	status, err := s.run(t.Context(), t, s.newRuntime(t), spec, runner.Stdio{Out: errWriter{}, Err: &errOut})
	if err == nil || errors.Is(err, runner.ErrCancelled) || !strings.Contains(err.Error(), "sink closed") {
		t.Errorf("Run: got error %v, want the write error", err)
	}
	if status.Code != 0 {
		t.Errorf("status: got %+v, want exit code 0 (the connector ran to its end); stderr: %s", status, tail(errOut.String()))
	}
}

// cancelAfter runs spec and cancels once stdout has at least n bytes. It
// wants a wrapped ErrCancelled and Signalled set, and returns the status.
func (s *suite) cancelAfter(t *testing.T, spec runner.ConnectorSpec, stdio runner.Stdio, n int) runner.ExitStatus {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sw := newSignalWriter(stdio.Out, n)
	stdio.Out = sw
	go func() {
		select {
		case <-sw.seen:
			cancel()
		case <-ctx.Done():
		}
	}()
	status, err := s.run(ctx, t, s.newRuntime(t), spec, stdio)
	if !errors.Is(err, runner.ErrCancelled) {
		t.Errorf("Run: got %v, want a wrapped ErrCancelled", err)
	}
	if !status.Signalled {
		t.Errorf("status: got %+v, want Signalled", status)
	}
	return status
}

// testCancelMidStream verifies cancellation of a connector that writes
// forever; what arrived before the cancel is intact.
func (s *suite) testCancelMidStream(t *testing.T) {
	c := &PatternChecker{LineLen: 100}
	s.cancelAfter(t, s.spec(GenArgs(-1, 100)...), runner.Stdio{Out: c, Err: io.Discard}, 1<<20)
	if c.err != nil {
		t.Errorf("stdout before the cancel: %v", c.err)
	}
}

// testCancelBlockedStdin verifies that cancel works while the connector
// waits for stdin that never comes.
func (s *suite) testCancelBlockedStdin(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	spec := s.spec("out", "ready", "echo")
	spec.OpenStdin = true
	s.cancelAfter(t, spec, runner.Stdio{In: pr, Out: new(lockedBuffer), Err: io.Discard}, 1)
}

// testCancelEscalatesToKill verifies that a connector ignoring SIGTERM is
// killed after StopTimeout.
func (s *suite) testCancelEscalatesToKill(t *testing.T) {
	spec := s.spec("trapterm", "out", "ready", "sleep", "1h")
	spec.StopTimeout = time.Second
	status := s.cancelAfter(t, spec, runner.Stdio{Out: new(lockedBuffer), Err: io.Discard}, 1)
	if status.Code != 137 {
		t.Errorf("exit code: got %d, want 137 (SIGKILL)", status.Code)
	}
}

// testCancelKillsChildren verifies that cancel reaches the connector's
// children too (the leftovers check finds them by their marker).
func (s *suite) testCancelKillsChildren(t *testing.T) {
	s.cancelAfter(t, s.spec("spawn", "out", "ready", "sleep", "1h"), runner.Stdio{Out: new(lockedBuffer), Err: io.Discard}, 1)
}

// testCancelBeforeStart verifies that a cancelled context starts nothing.
func (s *suite) testCancelBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.run(ctx, t, s.newRuntime(t), s.spec("out", "never"), runner.Stdio{Out: io.Discard})
	if !errors.Is(err, runner.ErrCancelled) {
		t.Errorf("Run: got %v, want a wrapped ErrCancelled", err)
	}
}

// testConcurrent verifies several runs at once on one Runtime, each with
// its own input, output and exit code.
func (s *suite) testConcurrent(t *testing.T) {
	rt := s.newRuntime(t)
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			spec := s.spec("echo", "exit", fmt.Sprint(10+i))
			spec.OpenStdin = true
			lines := int64(4096 * (i + 1))
			c := &PatternChecker{LineLen: 512}
			status, err := s.run(t.Context(), t, rt, spec, runner.Stdio{In: NewPatternReader(lines, 512), Out: c, Err: io.Discard})
			switch {
			case err != nil:
				errs <- fmt.Errorf("run %d: %w", i, err)
			case status.Code != 10+i:
				errs <- fmt.Errorf("run %d: got exit code %d, want %d", i, status.Code, 10+i)
			default:
				errs <- c.Check(lines)
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

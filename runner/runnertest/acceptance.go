// Package runnertest holds what every runner.Runtime is tested with: the
// acceptance suite, its subject program (testconn), helpers that build
// images and binaries once per test process, and a scripted fake Runtime.
package runnertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrysync/ferry/runner"
)

// TestImages names the suite's subjects for one runtime: Docker image
// references, or paths of local binaries.
type TestImages struct {
	// Testconn runs runner/runnertest/testconn (TestconnPkg).
	Testconn string
	// Missing names an image or binary that does not exist.
	Missing string
}

// Leftovers reports what is still around (containers, processes) from runs
// tagged with marker: by MarkerLabel for containers, or by the marker in a
// process's arguments (see Processes). The suite wants none after any Run.
type Leftovers func(t *testing.T, marker string) []string

// MarkerLabel is set on every spec the suite runs, with a value unique to
// that run. The same marker is also the first of testconn's arguments.
const MarkerLabel = "io.ferry.test-marker"

// runTimeout bounds each Run, so a runtime that hangs fails its test
// instead of the whole test binary.
const runTimeout = 5 * time.Minute

// RuntimeAcceptance runs the contract of runner.Runtime against one
// implementation: stdin EOF delivery, separate stdout and stderr, exit codes,
// cancellation (with nothing left behind), long lines and large outputs,
// file placement and concurrent runs. newRuntime is called once per subtest.
func RuntimeAcceptance(t *testing.T, newRuntime func(t *testing.T) runner.Runtime, images TestImages, leftovers Leftovers) {
	s := &suite{newRuntime: newRuntime, images: images, leftovers: leftovers}
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"StdinEOF", s.testStdinEOF},
		{"StdinNotOpened", s.testStdinNotOpened},
		{"StdoutStderr", s.testStdoutStderr},
		{"ExitCodes", s.testExitCodes},
		{"Env", s.testEnv},
		{"Files", s.testFiles},
		{"ImageNotFound", s.testImageNotFound},
		{"LongLine", s.testLongLine},
		{"LargeOutput", s.testLargeOutput},
		{"LargeStderr", s.testLargeStderr},
		{"LargeStdin", s.testLargeStdin},
		{"ExitWithoutReadingStdin", s.testExitWithoutReadingStdin},
		{"ChildrenDieWithConnector", s.testChildrenDieWithConnector},
		{"WriteErrorDoesNotBlock", s.testWriteErrorDoesNotBlock},
		{"CancelMidStream", s.testCancelMidStream},
		{"CancelBlockedStdin", s.testCancelBlockedStdin},
		{"CancelEscalatesToKill", s.testCancelEscalatesToKill},
		{"CancelKillsChildren", s.testCancelKillsChildren},
		{"CancelBeforeStart", s.testCancelBeforeStart},
		{"Concurrent", s.testConcurrent},
	} {
		t.Run(tc.name, tc.test)
	}
}

type suite struct {
	newRuntime func(t *testing.T) runner.Runtime
	images     TestImages
	leftovers  Leftovers
	seq        atomic.Int64
}

// spec returns a spec running testconn with args, tagged with a fresh marker.
func (s *suite) spec(args ...string) runner.ConnectorSpec {
	marker := fmt.Sprintf("rt%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, s.seq.Add(1))
	return runner.ConnectorSpec{
		Name:        "ferry-test-" + marker,
		Image:       s.images.Testconn,
		Args:        append([]string{"marker", marker}, args...),
		Role:        runner.RoleConnector,
		Labels:      map[string]string{MarkerLabel: marker},
		StopTimeout: 5 * time.Second,
	}
}

// run calls Run with a bounded context and then checks that the run left
// nothing behind.
func (s *suite) run(ctx context.Context, t *testing.T, rt runner.Runtime, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	status, err := rt.Run(ctx, spec, stdio)
	if left := s.leftovers(t, spec.Labels[MarkerLabel]); len(left) > 0 {
		t.Errorf("left behind after Run: %v", left)
	}
	return status, err
}

// runOK runs spec with no input and wants exit code 0; it returns stdout
// and stderr.
func (s *suite) runOK(t *testing.T, rt runner.Runtime, spec runner.ConnectorSpec) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status, err := s.run(t.Context(), t, rt, spec, runner.Stdio{Out: &out, Err: &errOut})
	if err != nil || status != (runner.ExitStatus{}) {
		t.Fatalf("Run: got %+v, %v, want exit code 0; stderr: %s", status, err, tail(errOut.String()))
	}
	return out.String(), errOut.String()
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// signalWriter passes writes on to w and closes seen once after the first
// write that brings the total to at least n bytes.
type signalWriter struct {
	w     io.Writer
	n     int
	total int
	seen  chan struct{}
	once  sync.Once
}

func newSignalWriter(w io.Writer, n int) *signalWriter {
	return &signalWriter{w: w, n: n, seen: make(chan struct{})}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.total += n
	if w.total >= w.n {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// lockedBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Processes lists the live processes whose arguments contain marker, as
// "pid: args". Zombies have empty arguments, so a killed process that its
// parent has not reaped yet does not count. It reads /proc and finds nothing
// on systems without it.
func Processes(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	return found
}

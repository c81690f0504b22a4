// Package shim is what runs first in a connector container of a
// Kubernetes pod (runner/kube). Connector images are often FROM scratch,
// with no shell and no tools, so the pod's init container copies Ferry's
// static relay binary into a shared emptyDir (Install), and each connector
// container runs that binary in its shim mode (Run) instead of the image's
// entrypoint:
//
//   - Ferry attaches to the container's stdio through the Kubernetes API.
//     An attach sees only what is written after it is made, so the shim
//     starts the connector only once Ferry's start line arrives on stdin:
//     no byte of the connector's output can be written before Ferry reads.
//   - The connector then gets the container's stdin (destinations) or an
//     empty one, and the container's stdout and stderr, as its own file
//     descriptors: the shim copies nothing.
//   - The shim is PID 1 of the container. It forwards SIGTERM (the kubelet's
//     stop) to the connector's process group, and exits with the
//     connector's status: its code, or 128+signal when it was killed, as a
//     container engine reports it.
//   - Signal, run through the API's exec in the same container, signals
//     every process there but PID 1: that is how Ferry stops one connector
//     of a pod while the other goes on.
//
// The connector's command is the image's AIRBYTE_ENTRYPOINT (Airbyte images
// declare it; docs/protocol.md 3), or EntrypointEnv when the definition
// sets one, followed by the shim's own arguments.
package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/runner/podpump"
)

// StartLine is what Ferry writes on the container's stdin once its attach
// stands; the connector starts only then.
const StartLine = "ferry-start\n"

// EntrypointEnv, when set in the container, is the connector's command as
// a JSON array of strings; it overrides AIRBYTE_ENTRYPOINT.
const EntrypointEnv = "FERRY_ENTRYPOINT"

// FilesEnv holds the container's files as a JSON object from the absolute
// path the connector expects a file at to the parts it is made of, paths
// relative to FilesDir. The pod mounts the parts from Secrets (a Secret
// holds at most 1 MiB, so a large catalog spans several); the shim joins
// them into place, so the files sit in the container's own writable
// filesystem as on Docker.
const FilesEnv = "FERRY_FILES"

// FilesDir is where the container's files are mounted.
const FilesDir = "/ferry-files"

// airbyteEntrypointEnv is where Airbyte images declare their command.
const airbyteEntrypointEnv = "AIRBYTE_ENTRYPOINT"

// Exit codes of the shim's own failures, distinct from what connectors
// commonly use, and named in its stderr message.
const (
	ExitNoStart      = 125 // stdin ended or held something else before the start line
	ExitNoEntrypoint = 126 // neither variable names a command
	ExitStartFailed  = 127 // the command could not be started
)

// Install copies the running executable to dir/name, executable by every
// user (the connector may run as any uid). The init container runs it.
func Install(dir, name string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	dst := filepath.Join(dir, name)
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// Entrypoint returns the connector's command from the environment.
func Entrypoint(getenv func(string) string) ([]string, error) {
	if v := getenv(EntrypointEnv); v != "" {
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 || argv[0] == "" {
			return nil, fmt.Errorf("%s must be a JSON array holding the command and its leading arguments, got %q", EntrypointEnv, v)
		}
		return argv, nil
	}
	if argv := strings.Fields(getenv(airbyteEntrypointEnv)); len(argv) > 0 {
		return argv, nil
	}
	return nil, fmt.Errorf("the image declares no %s and the definition sets no entrypoint: set the definition's entrypoint", airbyteEntrypointEnv)
}

// readStart reads the start line one byte at a time, so that not a byte
// of the connector's input after it is consumed.
func readStart(r io.Reader) error {
	var line []byte
	b := make([]byte, 1)
	for len(line) < len(StartLine) {
		n, err := r.Read(b)
		if n == 1 {
			line = append(line, b[0])
			if b[0] == '\n' {
				break
			}
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("stdin ended before Ferry's start line (got %q)", line)
			}
			return err
		}
	}
	if string(line) != StartLine {
		return fmt.Errorf("stdin began with %q, not Ferry's start line", line)
	}
	return nil
}

// Options say where the connector's stdio goes.
type Options struct {
	// KeepStdin gives the connector the rest of the container's stdin;
	// without it, and without StdinFIFO, it gets an empty stdin.
	KeepStdin bool
	// StdoutFIFO and StdinFIFO, when set, are FIFOs the connector's
	// stdout or stdin are joined to instead: stdio mode's in-pod pump
	// (runner/podpump) is at their other end.
	StdoutFIFO, StdinFIFO string
}

// Run is the shim's main: it waits for the start line on stdin, runs the
// connector with args and returns the exit code the container should end
// with.
func Run(args []string, opt Options, stdin, stdout, stderr *os.File) int {
	if err := readStart(stdin); err != nil {
		fmt.Fprintf(stderr, "ferry-shim: %v\n", err)
		return ExitNoStart
	}
	if err := placeFiles(FilesDir, os.Getenv(FilesEnv)); err != nil {
		fmt.Fprintf(stderr, "ferry-shim: %v\n", err)
		return ExitNoEntrypoint
	}
	argv, err := Entrypoint(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "ferry-shim: %v\n", err)
		return ExitNoEntrypoint
	}
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if opt.KeepStdin {
		cmd.Stdin = stdin
	}
	// Signals are caught before the FIFOs are joined: a stop while the
	// shim waits for the pump's end must end the container.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(term)
	fifos, err := joinFIFOs(cmd, opt, term)
	if err != nil {
		fmt.Fprintf(stderr, "ferry-shim: %v\n", err)
		if podpump.ErrStopped(err) {
			return 128 + int(syscall.SIGTERM)
		}
		return ExitStartFailed
	}
	// Its own process group, so a stop reaches the children it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	for _, f := range fifos {
		f.Close() // the connector holds its own copy; only it may end the stream
	}
	if err != nil {
		fmt.Fprintf(stderr, "ferry-shim: could not start the connector %q: %v\n", argv[0], err)
		return ExitStartFailed
	}
	if !opt.KeepStdin {
		stdin.Close() // Ferry's end of the attach sees the connector does not read
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-term:
				syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal)) //nolint:errcheck // it may be gone
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	// The container's output travels from its stdout pipe to Ferry's
	// attach through the node's runtime, which closes the attach once
	// the container's first process exits, sometimes before it copied
	// the last bytes (a connector that writes one line and exits at once
	// lost it about once in twenty runs). Staying a moment lets that copy
	// drain; nothing the shim can observe says when it has.
	time.Sleep(outputLinger)
	return exitCode(cmd.ProcessState, err)
}

// joinFIFOs opens the FIFOs opt names for cmd's stdout and stdin, once
// the pump has its ends open; a signal on term gives up.
func joinFIFOs(cmd *exec.Cmd, opt Options, term <-chan os.Signal) ([]*os.File, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-term:
			close(stop)
		case <-done:
		}
	}()
	var files []*os.File
	if opt.StdoutFIFO != "" {
		f, err := podpump.OpenOutput(opt.StdoutFIFO, stop)
		if err != nil {
			return files, err
		}
		files = append(files, f)
		cmd.Stdout = f
	}
	if opt.StdinFIFO != "" {
		f, err := podpump.OpenInput(opt.StdinFIFO, stop)
		if err != nil {
			return files, err
		}
		files = append(files, f)
		cmd.Stdin = f
	}
	return files, nil
}

// outputLinger is how long the shim outlives the connector (see Run).
const outputLinger = 300 * time.Millisecond

// placeFiles writes each file named in manifest (FilesEnv) from its parts
// in dir, readable by its owner only: configs hold secrets.
func placeFiles(dir, manifest string) error {
	if manifest == "" {
		return nil
	}
	var files map[string][]string
	if err := json.Unmarshal([]byte(manifest), &files); err != nil {
		return fmt.Errorf("%s: %v", FilesEnv, err)
	}
	for dst, parts := range files {
		if !filepath.IsAbs(dst) || len(parts) == 0 {
			return fmt.Errorf("%s: bad entry %q -> %q", FilesEnv, dst, parts)
		}
		var body []byte
		for _, part := range parts {
			if !filepath.IsLocal(part) {
				return fmt.Errorf("%s: part %q of %s is outside the files directory", FilesEnv, part, dst)
			}
			b, err := os.ReadFile(filepath.Join(dir, part))
			if err != nil {
				return fmt.Errorf("read part %s of %s: %v", part, dst, err)
			}
			body = append(body, b...)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("place %s: %v", dst, err)
		}
		if err := os.WriteFile(dst, body, 0o600); err != nil {
			return fmt.Errorf("place %s: %v", dst, err)
		}
	}
	return nil
}

// exitCode maps the connector's end to a container exit code.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return ExitStartFailed
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Signal sends sig to every process of the container but PID 1 (the shim)
// and the caller: the connector and whatever it started. The shim then
// reports the connector's end as usual.
func Signal(name string) error {
	var sig syscall.Signal
	switch strings.TrimPrefix(strings.ToUpper(name), "SIG") {
	case "TERM":
		sig = syscall.SIGTERM
	case "KILL":
		sig = syscall.SIGKILL
	default:
		return fmt.Errorf("signal %q: want TERM or KILL", name)
	}
	if !hasChildren() {
		// The shim (PID 1) has not started the connector: it may be
		// waiting for the pump's end of a FIFO. kill(-1) never reaches
		// PID 1, and PID 1 ignores SIGKILL from its own namespace, but it
		// ends on SIGTERM while it waits.
		if err := syscall.Kill(1, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return nil
	}
	if err := syscall.Kill(-1, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// hasChildren reports whether the container runs a process other than
// PID 1 (the shim) and the caller; when /proc cannot be read it says yes.
func hasChildren() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != 1 && pid != self {
			return true
		}
	}
	return false
}

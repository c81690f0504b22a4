// Package local is a runner.Runtime that runs connectors as local processes,
// for development, tests and machines without a Docker engine. It passes the
// same acceptance suite as the Docker runtime (runner/runnertest).
//
// Differences from Docker, by design: resource limits are not enforced and
// OOMKilled is never reported; there is no filesystem isolation, so files are
// placed in a private per-run directory and the arguments that name them are
// rewritten; the local root is passed as the FERRY_LOCAL_ROOT variable.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ferrysync/ferry/runner"
)

// Runtime runs connector binaries. Its zero value is not usable; call New.
type Runtime struct {
	tempDir string
	log     *slog.Logger
	getenv  func(string) string
}

var (
	_ runner.Runtime        = (*Runtime)(nil)
	_ runner.ImageInspector = (*Runtime)(nil)
)

// Options configure a Runtime.
type Options struct {
	// TempDir holds the per-run directories; empty means os.TempDir().
	TempDir string
	// Logger receives cleanup problems; nil discards them.
	Logger *slog.Logger
}

// New returns a local Runtime.
func New(opts Options) *Runtime {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{tempDir: opts.TempDir, log: log.With("component", "runtime.local"), getenv: os.Getenv}
}

// Name returns "local".
func (r *Runtime) Name() string { return "local" }

// Ping always succeeds: starting a process needs no service.
func (r *Runtime) Ping(ctx context.Context) error { return nil }

// Run runs one connector binary to completion; see runner.Runtime.
func (r *Runtime) Run(ctx context.Context, spec runner.ConnectorSpec, stdio runner.Stdio) (runner.ExitStatus, error) {
	bin, err := binary(spec.Image)
	if err != nil {
		return runner.ExitStatus{}, err
	}
	if err := ctx.Err(); err != nil {
		return runner.ExitStatus{}, fmt.Errorf("%w: %v", runner.ErrCancelled, err)
	}
	if spec.LocalRoot != "" {
		if spec.LocalRoot, err = filepath.Abs(spec.LocalRoot); err != nil {
			return runner.ExitStatus{}, err
		}
	}
	root, err := os.MkdirTemp(r.tempDir, "ferry-"+safeName(spec.Name)+"-")
	if err != nil {
		return runner.ExitStatus{}, fmt.Errorf("run directory: %w", err)
	}
	// The run directory holds plaintext secrets, so it goes with the run
	// whatever happened. A failure to remove it is logged, not returned: the
	// connector's outcome is what the caller needs, and the directory is
	// private to Ferry's user.
	defer func() {
		if err := os.RemoveAll(root); err != nil {
			r.log.Warn("remove run directory", "dir", root, "error", err)
		}
	}()
	lay, err := newLayout(root, spec)
	if err != nil {
		return runner.ExitStatus{}, err
	}
	if err := lay.write(spec.Files); err != nil {
		return runner.ExitStatus{}, fmt.Errorf("place files: %w", err)
	}
	cmd := exec.Command(bin, lay.args(spec.Args)...)
	cmd.Dir = lay.dir
	cmd.Env = lay.env(spec, r.getenv)
	// Its own process group, so that cancel reaches the connector's children
	// too and nothing is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
	return r.start(ctx, cmd, spec, stdio)
}

// binary resolves and checks the connector binary.
func binary(image string) (string, error) {
	path := image
	if !strings.ContainsRune(image, filepath.Separator) {
		if p, err := exec.LookPath(image); err == nil {
			path = p
		}
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", &runner.ImageNotFoundError{Image: image, Hint: "no such connector binary (build it with make connectors or go build)"}
	}
	if err != nil {
		return "", err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("connector binary %s is not an executable file", image)
	}
	return path, nil
}

// safeName keeps a spec name usable in a file name.
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// copyOut copies a connector stream to w. After a write error it keeps
// reading and discards, so the connector never blocks on a full pipe, and it
// reports the write error.
func copyOut(w io.Writer, r *os.File) error {
	defer r.Close()
	if w == nil {
		w = io.Discard
	}
	_, err := io.Copy(w, r)
	if err != nil {
		io.Copy(io.Discard, r)
	}
	return err
}

// InspectImage identifies a connector binary by the SHA-256 of its
// content, so caches keyed on it notice a rebuild. A binary's labels (the
// image labels a Docker build would carry, such as io.ferry.ipc-options)
// come from an optional sidecar file "<binary>.labels.json" holding a JSON
// object of strings, which `make connectors` writes.
func (r *Runtime) InspectImage(ctx context.Context, image string) (runner.ImageInfo, error) {
	path, err := binary(image)
	if err != nil {
		return runner.ImageInfo{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return runner.ImageInfo{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return runner.ImageInfo{}, err
	}
	info := runner.ImageInfo{ID: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	if b, err := os.ReadFile(path + LabelsSuffix); err == nil {
		if err := json.Unmarshal(b, &info.Labels); err != nil {
			return runner.ImageInfo{}, fmt.Errorf("labels of %s: %s%s: %v", image, path, LabelsSuffix, err)
		}
	} else if !os.IsNotExist(err) {
		return runner.ImageInfo{}, err
	}
	return info, nil
}

// LabelsSuffix names a binary's sidecar labels file.
const LabelsSuffix = ".labels.json"

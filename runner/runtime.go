// Package runner runs one sync attempt: it starts a source and a
// destination through a Runtime, moves their messages, tracks state and
// stats, and commits only destination-acknowledged state through a
// Checkpointer. It knows nothing of SQL or HTTP.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Runtime starts connectors. The docker, local and fake runtimes implement it
// and are held to one acceptance suite (runner/runnertest).
//
// Contract:
//   - Run starts the connector described by spec, copies stdio.In to its
//     stdin (when spec.OpenStdin is set) and closes stdin when In reaches EOF,
//     copies its stdout to stdio.Out and its stderr to stdio.Err, waits for it
//     to exit and returns its exit status.
//   - Run returns only after stdout and stderr are fully copied, so a caller
//     that sees Run return has seen every byte the connector wrote.
//   - Run always removes what it created (container, process group, files),
//     also when ctx is cancelled or the connector hangs: cleanup runs on a
//     context that cancellation cannot cut off.
//   - When ctx is cancelled, Run stops the connector with SIGTERM, then
//     SIGKILL after spec.StopTimeout, and returns ErrCancelled (wrapped).
//   - A non-zero exit is not an error: it is reported in ExitStatus. err is
//     for failures to run the connector at all (missing image, engine down).
//   - Run is safe to call concurrently with different specs. spec.Name is
//     unique per attempt.
//   - Once the connector has exited, Run does not wait for stdio.In: a copy
//     blocked in In.Read ends at that Read's return, and the bytes it got are
//     dropped. The owner of In (e.g. an io.Pipe) should close it after Run.
//   - If writing to stdio.Out or stdio.Err fails, Run discards the rest of
//     that stream (so the connector never blocks on a full pipe), lets the
//     connector run to its end, and returns the write error. Run cannot
//     interrupt a Write that blocks: writers must not block forever once ctx
//     is cancelled.
type Runtime interface {
	// Name returns "docker", "local" or the fake's name, for logs.
	Name() string
	// Ping checks that the runtime can start connectors.
	Ping(ctx context.Context) error
	// Run runs one connector to completion. See the contract above.
	Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error)
}

// Stdio carries a connector's standard streams, as in exec.Cmd. In may be
// nil when the connector gets no input.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Role is a connector's role in a sync.
type Role string

// Roles.
const (
	RoleSource      Role = "source"
	RoleDestination Role = "destination"
	// RoleConnector is spec, check or discover run on their own.
	RoleConnector Role = "connector"
	// RoleRelay is bridged mode's relay container (package relay).
	RoleRelay Role = "relay"
)

// ConnectorSpec describes one connector run.
type ConnectorSpec struct {
	// Name is unique per attempt, e.g. "ferry-12-1-source". Runtimes use it
	// for container names and temp directories.
	Name string
	// Image is a Docker image reference (docker runtime) or the path of a
	// connector binary (local runtime).
	Image string
	// Args is the command and its flags, e.g. ["read", "--config",
	// "/source/connectorConfig.json", ...]. The image's entrypoint is kept.
	Args []string
	// Env holds extra environment variables.
	Env map[string]string
	// WorkDir is the working directory inside the container, e.g. "/source".
	WorkDir string
	// Files are placed before the connector starts, by absolute container
	// path. They may hold plaintext secrets and are removed with the run.
	Files map[string][]byte
	// OpenStdin attaches stdin. Only destinations ("write") need it.
	OpenStdin bool
	// Role, Labels: every container and volume carries Ferry's instance ID,
	// job, attempt and role labels so sweeps touch only their own leftovers.
	Role   Role
	Labels map[string]string
	// Resources bounds the connector.
	Resources Resources
	// NetworkMode is the Docker network mode ("" means the engine default).
	NetworkMode string
	// LocalRoot is a host directory or Docker volume name mounted at /local
	// (destinations only). Empty means none.
	LocalRoot string
	// SocketVolume is a volume (docker) or directory (local) mounted at
	// SocketDir for socket mode. Empty means none.
	SocketVolume string
	// StopTimeout is the grace between SIGTERM and SIGKILL when the run is
	// cancelled. Zero means DefaultStopTimeout.
	StopTimeout time.Duration
	// Hardening is how locked down the container runs (docker runtime;
	// the local runtime ignores it).
	Hardening Hardening
	// Entrypoint is the connector's command and its leading arguments,
	// from its definition; Args follow it. Only runtimes that cannot read
	// the image's own (Kubernetes) use it: the docker runtime keeps the
	// image's ENTRYPOINT, the local runtime runs Image. Nil leaves it to
	// the image's AIRBYTE_ENTRYPOINT.
	Entrypoint []string
	// LocalUser is the uid:gid that can write LocalRoot. A strict
	// connector with a LocalRoot or a SocketVolume runs as it; empty
	// means StrictUser.
	LocalUser string
}

// DefaultStopTimeout is the SIGTERM grace period (docs/protocol.md 7.1).
const DefaultStopTimeout = 30 * time.Second

// SocketDir is where the per-attempt socket volume is mounted.
const SocketDir = "/var/run/sockets"

// LocalDir is where the local root is mounted in destination containers.
const LocalDir = "/local"

// Resources are per-connector limits. Zero means unlimited (or the
// runtime's default).
type Resources struct {
	MemoryBytes int64
	CPUs        float64
	PidsLimit   int64
}

// DefaultResources bound a connector whose definition and connection set no
// limits: enough memory for records of tens of MB, and a pids limit that
// stops a fork bomb. CPU stays unlimited.
var DefaultResources = Resources{MemoryBytes: 2 << 30, PidsLimit: 1024}

// ExitStatus is how a connector ended.
type ExitStatus struct {
	Code      int
	OOMKilled bool
	// Signalled is set when the runtime stopped the connector (cancel or
	// timeout): a 143 exit is then expected, not a connector failure.
	Signalled bool
}

// Success reports a clean exit.
func (s ExitStatus) Success() bool { return s.Code == 0 && !s.OOMKilled }

// String describes the status for users.
func (s ExitStatus) String() string {
	switch {
	case s.OOMKilled:
		return fmt.Sprintf("killed: out of memory (exit code %d)", s.Code)
	case s.Code == 0:
		return "exit code 0"
	default:
		return fmt.Sprintf("exit code %d", s.Code)
	}
}

// ErrCancelled is returned (wrapped) by Run and Sync when their context was
// cancelled.
var ErrCancelled = errors.New("cancelled")

// ImageNotFoundError reports a connector image that is not present. No
// registry can be reached, so there is no pull: the message says how to
// build it.
type ImageNotFoundError struct {
	Image string
	// Hint, when set, replaces the default advice on how to build it.
	Hint string
}

func (e *ImageNotFoundError) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("image %s not found: %s", e.Image, e.Hint)
	}
	return fmt.Sprintf("image %s not found: build it first (make images), no registry is reachable", e.Image)
}

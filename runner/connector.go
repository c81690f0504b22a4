package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"

	"github.com/ferrysync/ferry/protocol"
)

// ImageInfo describes a connector image without running it.
type ImageInfo struct {
	// ID identifies the image's content: the Docker image ID, or a hash of
	// a local binary. Caches key on it.
	ID string
	// Labels are the image's labels (e.g. io.ferry.ipc-options); a local
	// binary has none.
	Labels map[string]string
	// Entrypoint is the command the image declares for its connector:
	// its AIRBYTE_ENTRYPOINT split on whitespace (as Airbyte reads it on
	// Kubernetes), else its ENTRYPOINT; nil when it declares neither or
	// the runtime cannot tell (a local binary). A definition keeps it for
	// runtimes that cannot inspect images (ConnectorSpec.Entrypoint).
	Entrypoint []string
}

// ImageInspector is implemented by runtimes that can describe an image
// without running it (both the docker and the local runtime do).
type ImageInspector interface {
	InspectImage(ctx context.Context, image string) (ImageInfo, error)
}

// The connector commands that run on their own, outside a sync.
const (
	CommandSpec     = "spec"
	CommandCheck    = "check"
	CommandDiscover = "discover"
)

// CommandConfigPath is where Check and Discover place the connector config,
// with CommandWorkDir as the working directory.
const (
	CommandConfigPath = "/config/connectorConfig.json"
	CommandWorkDir    = "/config"
)

// SpecResult is a connector's answer to spec.
type SpecResult struct {
	Spec *protocol.Spec
	// ImageID is set by CachedSpec: the image the spec belongs to.
	ImageID string
	Output
}

// CheckResult is a connector's answer to check. A FAILED status is a clean
// answer (the config is wrong), not an error: see Check.
type CheckResult struct {
	Status *protocol.ConnectionStatus
	Output
}

// Succeeded reports whether the connector accepted the config.
func (r *CheckResult) Succeeded() bool { return r.Status.Status == protocol.StatusSucceeded }

// DiscoverResult is a connector's answer to discover: a source's CATALOG,
// or a destination's DESTINATION_CATALOG (kept raw).
type DiscoverResult struct {
	Catalog            *protocol.Catalog
	DestinationCatalog json.RawMessage
	Output
}

// Spec runs "spec". base carries what the caller decides (Name, Image, Env,
// Labels, Resources, NetworkMode, StopTimeout); the command, files and
// working directory are filled in here. A connector that fails is a
// *ConnectorError; any other error means it could not be run.
func Spec(ctx context.Context, rt Runtime, base ConnectorSpec) (*SpecResult, error) {
	m, out, err := Command(ctx, rt, base, CommandSpec, nil)
	if err != nil {
		return nil, err
	}
	return &SpecResult{Spec: m.Spec, Output: out}, nil
}

// Check runs "check --config" with config. Following Airbyte, a FAILED
// status with exit code 0 is a result (check Succeeded), while an ERROR
// trace without a status, a non-zero exit, or no status at all is a
// *ConnectorError, whose message comes from, in order: a FAILED status's
// message, the first ERROR trace's message, or the exit code plus the tail
// of stderr (docs/protocol.md 1.5).
func Check(ctx context.Context, rt Runtime, base ConnectorSpec, config []byte) (*CheckResult, error) {
	m, out, err := Command(ctx, rt, base, CommandCheck, config)
	if err != nil {
		return nil, err
	}
	return &CheckResult{Status: m.ConnectionStatus, Output: out}, nil
}

// Discover runs "discover --config" with config.
func Discover(ctx context.Context, rt Runtime, base ConnectorSpec, config []byte) (*DiscoverResult, error) {
	m, out, err := Command(ctx, rt, base, CommandDiscover, config)
	if err != nil {
		return nil, err
	}
	return &DiscoverResult{Catalog: m.Catalog, DestinationCatalog: m.DestinationCatalog, Output: out}, nil
}

// answerTypes are the messages each command answers with.
var answerTypes = map[string][]protocol.Type{
	CommandSpec:     {protocol.TypeSpec},
	CommandCheck:    {protocol.TypeConnectionStatus},
	CommandDiscover: {protocol.TypeCatalog, protocol.TypeDestinationCatalog},
}

// Command runs spec, check or discover and returns the connector's answer
// (the first message of the command's answer type) and everything else it
// said. config, when not nil, is placed at CommandConfigPath and passed as
// --config. The error is a *ConnectorError when the connector failed the
// command, and wraps the runtime's error when it could not run.
func Command(ctx context.Context, rt Runtime, base ConnectorSpec, command string, config []byte) (*protocol.Message, Output, error) {
	want, ok := answerTypes[command]
	if !ok {
		return nil, Output{}, fmt.Errorf("unknown connector command %q", command)
	}
	spec := base
	spec.Args = []string{command}
	spec.WorkDir = CommandWorkDir
	spec.OpenStdin = false
	if spec.Role == "" {
		spec.Role = RoleConnector
	}
	if config != nil {
		spec.Files = map[string][]byte{CommandConfigPath: config}
		spec.Args = append(spec.Args, "--config", CommandConfigPath)
	}
	spec.Env = commandEnv(spec.Image, base.Env)

	// The collector reads stdout as it comes, through a pipe, so a large
	// catalog is decoded line by line rather than held twice. It owns the
	// read end; Run's return closes the write end.
	pr, pw := io.Pipe()
	c := newCommandCollector(want)
	done := make(chan struct{})
	go func() {
		c.read(pr)
		close(done)
	}()
	status, err := rt.Run(ctx, spec, Stdio{Out: pw, Err: c.stderr})
	pw.Close()
	<-done
	out := c.output(status)
	if err != nil {
		return nil, out, fmt.Errorf("%s %s: %w", spec.Image, command, err)
	}
	if err := judgeCommand(spec.Image, command, c.answer, out); err != nil {
		return nil, out, err
	}
	return c.answer, out, nil
}

// commandEnv is the environment of a command run (docs/protocol.md 1.6), with
// the caller's variables on top.
func commandEnv(image string, extra map[string]string) map[string]string {
	env := map[string]string{
		"WORKER_CONNECTOR_IMAGE":     image,
		"DEPLOYMENT_MODE":            "OSS",
		"LOG_LEVEL":                  "INFO",
		"USE_STREAM_CAPABLE_STATE":   "true",
		"USE_FILE_TRANSFER":          "false",
		"AIRBYTE_ENABLE_UNSAFE_CODE": "false",
		"JAVA_OPTS":                  defaultJavaOpts,
		"PYTHONUNBUFFERED":           "1", // see baseEnv
	}
	maps.Copy(env, extra)
	return env
}

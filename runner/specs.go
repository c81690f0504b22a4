package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// Container paths, as Airbyte uses them (docs/protocol.md 1.2).
const (
	SourceConfigPath     = "/source/connectorConfig.json"
	SourceCatalogPath    = "/source/catalog.json"
	SourceStatePath      = "/source/inputState.json"
	DestConfigPath       = "/dest/connectorConfig.json"
	DestCatalogPath      = "/dest/catalog.json"
	DestNamespaceMapPath = "/dest/namespace-mapping.json"
	sourceWorkDir        = "/source"
	destWorkDir          = "/dest"
	defaultJavaOpts      = "-XX:+ExitOnOutOfMemoryError"
)

// EnvCompleteOnStdin tells a socket-mode destination that Ferry sends it
// COMPLETE statuses on stdin once the source exited 0, and that only those
// may finalise a stream (docs/protocol.md 5.9). Ferry's kit reads it as
// cdk.EnvCompleteOnStdin; other destinations ignore it.
const EnvCompleteOnStdin = "FERRY_COMPLETE_ON_STDIN"

// Label keys on every container and volume Ferry creates.
const (
	LabelInstance = "io.ferry.instance"
	LabelJob      = "io.ferry.job"
	LabelAttempt  = "io.ferry.attempt"
	LabelRole     = "io.ferry.role"
)

// baseEnv is the environment every connector gets (docs/protocol.md 1.6).
func (s *syncRun) baseEnv(role Role, image string, extra map[string]string) map[string]string {
	cfg := s.cfg
	env := map[string]string{
		"DATA_CHANNEL_MEDIUM":        protocol.TransportStdio,
		"DATA_CHANNEL_FORMAT":        protocol.FormatJSONL,
		"WORKER_JOB_ID":              strconv.FormatInt(cfg.JobID, 10),
		"WORKER_JOB_ATTEMPT":         strconv.Itoa(cfg.Attempt),
		"WORKER_CONNECTOR_IMAGE":     image,
		"USE_STREAM_CAPABLE_STATE":   "true",
		"USE_FILE_TRANSFER":          "false",
		"DEPLOYMENT_MODE":            "OSS",
		"LOG_LEVEL":                  "INFO",
		"AIRBYTE_ENABLE_UNSAFE_CODE": "false",
		"JAVA_OPTS":                  defaultJavaOpts,
		// Python block-buffers stdout when it is a pipe: a destination's
		// acknowledgements would reach Ferry every 8 KiB or at exit, so
		// the committed state would lag far behind the data (docs/protocol.md 1.6).
		"PYTHONUNBUFFERED": "1",
	}
	if s.path.speaksSockets(role) {
		env["DATA_CHANNEL_MEDIUM"] = protocol.TransportSocket
		env["DATA_CHANNEL_FORMAT"] = s.mode.Format
		env["DATA_CHANNEL_SOCKET_PATHS"] = strings.Join(SocketPaths(s.mode.Sockets), ",")
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// destinationSocketVolume is the socket volume when the destination
// speaks sockets; in bridged mode only the source and Ferry share them.
func (s *syncRun) destinationSocketVolume() string {
	if s.path.speaksSockets(RoleDestination) {
		return s.socketVol
	}
	return ""
}

// SocketPaths returns the socket paths of socket mode, identical for both
// connectors (docs/protocol.md 5.2).
func SocketPaths(n int) []string {
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/airbyte_socket_%d.sock", SocketDir, i+1)
	}
	return paths
}

// SocketVolumes is implemented by runtimes that create the per-attempt
// socket volume themselves (Docker: a tmpfs-backed volume). Others get a
// private temporary directory.
type SocketVolumes interface {
	CreateSocketVolume(ctx context.Context, name string, labels map[string]string) (string, error)
	RemoveVolume(ctx context.Context, name string) error
}

// socketVolume creates the attempt's socket volume and returns what removes
// it, on a context that a cancel cannot cut.
func (s *syncRun) socketVolume(ctx context.Context) (string, func(), error) {
	if sv, ok := s.rt.(SocketVolumes); ok {
		// A random suffix: two instances whose ids share their first 12
		// characters must never share a volume (sweeps find it by label).
		name, err := sv.CreateSocketVolume(ctx, s.cfg.containerName("sockets")+"-"+randomSuffix(), s.cfg.Labels("sockets"))
		if err != nil {
			return "", nil, err
		}
		return name, func() {
			if err := sv.RemoveVolume(context.WithoutCancel(ctx), name); err != nil {
				s.log.Printf(protocol.LevelWarn, "ferry", "could not remove the socket volume %s: %v", name, err)
			}
		}, nil
	}
	dir, err := os.MkdirTemp("", "ferry-sockets-")
	if err != nil {
		return "", nil, err
	}
	// Unix socket paths are limited to about 108 bytes, so the directory
	// stays short; connectors may run as another user, hence 1777.
	if err := os.Chmod(dir, 0o1777); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// Labels returns the labels of a container or volume of this attempt.
func (c *Config) Labels(role Role) map[string]string {
	return map[string]string{
		LabelInstance: c.InstanceID,
		LabelJob:      strconv.FormatInt(c.JobID, 10),
		LabelAttempt:  strconv.Itoa(c.Attempt),
		LabelRole:     string(role),
	}
}

func (c *Config) containerName(role Role) string {
	inst := c.InstanceID
	if len(inst) > 12 {
		inst = inst[:12]
	}
	return fmt.Sprintf("ferry-%s-%d-%d-%s", inst, c.JobID, c.Attempt, role)
}

// sourceSpec builds the source's run: read --config --catalog [--state].
func (s *syncRun) sourceSpec() (ConnectorSpec, error) {
	cfg := s.cfg
	catalog, err := sourceCatalog(cfg.Catalog)
	if err != nil {
		return ConnectorSpec{}, err
	}
	files := map[string][]byte{
		SourceConfigPath:  configBytes(cfg.Source.Config),
		SourceCatalogPath: catalog,
	}
	args := []string{"read", "--config", SourceConfigPath, "--catalog", SourceCatalogPath}
	input, withheld := sourceInputState(cfg.Catalog, cfg.State)
	for _, w := range withheld {
		s.log.Printf(protocol.LevelInfo, "ferry", "not given to the source: %s; a full refresh reads from the start", w)
	}
	state, err := protocol.StateFile(input)
	if err != nil {
		return ConnectorSpec{}, err
	}
	if state != nil {
		files[SourceStatePath] = state
		args = append(args, "--state", SourceStatePath)
	}
	return ConnectorSpec{
		Name:         cfg.containerName(RoleSource),
		Image:        cfg.Source.Image,
		Args:         args,
		Env:          s.baseEnv(RoleSource, cfg.Source.Image, cfg.Source.Env),
		WorkDir:      sourceWorkDir,
		Files:        files,
		Role:         RoleSource,
		Labels:       cfg.Labels(RoleSource),
		Resources:    cfg.Source.Resources,
		NetworkMode:  cfg.NetworkMode,
		StopTimeout:  s.timeouts.StopGrace,
		SocketVolume: s.socketVol,
		LocalUser:    cfg.LocalUser,
		Hardening:    cfg.Source.Hardening,
		Entrypoint:   cfg.Source.Entrypoint,
	}, nil
}

// destinationSpec builds the destination's run: write --config --catalog,
// with stdin open.
func (s *syncRun) destinationSpec() (ConnectorSpec, error) {
	cfg := s.cfg
	env := s.baseEnv(RoleDestination, cfg.Destination.Image, cfg.Destination.Env)
	files := map[string][]byte{DestConfigPath: configBytes(cfg.Destination.Config)}
	if err := s.path.destinationCatalog(files, env); err != nil {
		return ConnectorSpec{}, err
	}
	return ConnectorSpec{
		Name:         cfg.containerName(RoleDestination),
		Image:        cfg.Destination.Image,
		Args:         []string{"write", "--config", DestConfigPath, "--catalog", DestCatalogPath},
		Env:          env,
		Files:        files,
		SocketVolume: s.destinationSocketVolume(),
		WorkDir:      destWorkDir,
		OpenStdin:    true,
		Role:         RoleDestination,
		Labels:       cfg.Labels(RoleDestination),
		Resources:    cfg.Destination.Resources,
		NetworkMode:  cfg.NetworkMode,
		LocalRoot:    cfg.LocalRoot,
		LocalUser:    cfg.LocalUser,
		StopTimeout:  s.timeouts.StopGrace,
		Hardening:    cfg.Destination.Hardening,
		Entrypoint:   cfg.Destination.Entrypoint,
	}, nil
}

func configBytes(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte("{}")
	}
	return raw
}

// mappedCatalog gives the destination the catalog under destination-side
// names: Ferry maps the names of everything it forwards (stdio, bridged).
func (a *attempt) mappedCatalog(files map[string][]byte) error {
	catalog, err := destinationCatalog(a.cfg.Catalog, a.catalog)
	if err != nil {
		return err
	}
	files[DestCatalogPath] = catalog
	return nil
}

// rawCatalogAndMapping gives the destination the source-side catalog and
// the namespace mapping file: in socket mode records bypass Ferry, so the
// destination maps names itself (docs/protocol.md 2.8, 5.8).
func (a *attempt) rawCatalogAndMapping(files map[string][]byte, env map[string]string) error {
	catalog, err := json.Marshal(a.cfg.Catalog)
	if err != nil {
		return err
	}
	m := a.cfg.Mapping
	if m.Definition == "" {
		m.Definition = protocol.NamespaceSource
	}
	mapping, err := json.Marshal(m)
	if err != nil {
		return err
	}
	files[DestCatalogPath], files[DestNamespaceMapPath] = catalog, mapping
	env["NAMESPACE_MAPPING_CONFIG_PATH"] = DestNamespaceMapPath
	return nil
}

// randomSuffix is 8 random hex digits.
func randomSuffix() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

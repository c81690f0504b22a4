package runner

import (
	"fmt"
	"strconv"

	"github.com/ferrysync/ferry/protocol"
)

// Container paths, as Airbyte uses them (PROTOCOL.md 1.2).
const (
	SourceConfigPath      = "/source/connectorConfig.json"
	SourceCatalogPath     = "/source/catalog.json"
	SourceStatePath       = "/source/inputState.json"
	DestConfigPath        = "/dest/connectorConfig.json"
	DestCatalogPath       = "/dest/catalog.json"
	DestNamespaceMapPath  = "/dest/namespace-mapping.json"
	sourceWorkDir         = "/source"
	destWorkDir           = "/dest"
	defaultJavaOpts       = "-XX:+ExitOnOutOfMemoryError"
	dataChannelMediumStd  = "STDIO"
	dataChannelFormatJSON = "JSONL"
)

// Label keys on every container and volume Ferry creates.
const (
	LabelInstance = "io.ferry.instance"
	LabelJob      = "io.ferry.job"
	LabelAttempt  = "io.ferry.attempt"
	LabelRole     = "io.ferry.role"
)

// baseEnv is the environment every connector gets (PROTOCOL.md 1.6).
func baseEnv(cfg *Config, image string, extra map[string]string) map[string]string {
	env := map[string]string{
		"DATA_CHANNEL_MEDIUM":        dataChannelMediumStd,
		"DATA_CHANNEL_FORMAT":        dataChannelFormatJSON,
		"WORKER_JOB_ID":              strconv.FormatInt(cfg.JobID, 10),
		"WORKER_JOB_ATTEMPT":         strconv.Itoa(cfg.Attempt),
		"WORKER_CONNECTOR_IMAGE":     image,
		"USE_STREAM_CAPABLE_STATE":   "true",
		"USE_FILE_TRANSFER":          "false",
		"DEPLOYMENT_MODE":            "OSS",
		"LOG_LEVEL":                  "INFO",
		"AIRBYTE_ENABLE_UNSAFE_CODE": "false",
		"JAVA_OPTS":                  defaultJavaOpts,
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
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
	state, err := protocol.StateFile(cfg.State)
	if err != nil {
		return ConnectorSpec{}, err
	}
	if state != nil {
		files[SourceStatePath] = state
		args = append(args, "--state", SourceStatePath)
	}
	return ConnectorSpec{
		Name:        cfg.containerName(RoleSource),
		Image:       cfg.Source.Image,
		Args:        args,
		Env:         baseEnv(cfg, cfg.Source.Image, cfg.Source.Env),
		WorkDir:     sourceWorkDir,
		Files:       files,
		Role:        RoleSource,
		Labels:      cfg.Labels(RoleSource),
		Resources:   cfg.Source.Resources,
		NetworkMode: cfg.NetworkMode,
		StopTimeout: s.timeouts.StopGrace,
	}, nil
}

// destinationSpec builds the destination's run: write --config --catalog,
// with stdin open.
func (s *syncRun) destinationSpec() (ConnectorSpec, error) {
	cfg := s.cfg
	catalog, err := destinationCatalog(cfg.Catalog, s.catalog)
	if err != nil {
		return ConnectorSpec{}, err
	}
	return ConnectorSpec{
		Name:  cfg.containerName(RoleDestination),
		Image: cfg.Destination.Image,
		Args:  []string{"write", "--config", DestConfigPath, "--catalog", DestCatalogPath},
		Env:   baseEnv(cfg, cfg.Destination.Image, cfg.Destination.Env),
		Files: map[string][]byte{
			DestConfigPath:  configBytes(cfg.Destination.Config),
			DestCatalogPath: catalog,
		},
		WorkDir:     destWorkDir,
		OpenStdin:   true,
		Role:        RoleDestination,
		Labels:      cfg.Labels(RoleDestination),
		Resources:   cfg.Destination.Resources,
		NetworkMode: cfg.NetworkMode,
		LocalRoot:   cfg.LocalRoot,
		StopTimeout: s.timeouts.StopGrace,
	}, nil
}

func configBytes(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte("{}")
	}
	return raw
}

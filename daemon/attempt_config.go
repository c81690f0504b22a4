package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// networkAllowed refuses the host network unless the daemon allows it
// (RuntimeConfig.AllowHostNetwork); the API refuses it too, so this only
// catches a connection saved while it was allowed.
func (d *Daemon) networkAllowed(mode string) error {
	if isHostNetwork(mode) && !d.cfg.Runtime.AllowHostNetwork {
		return fmt.Errorf("networkMode %q is refused: the host network is an opt-in; start ferry serve with --allow-host-network (FERRY_ALLOW_HOST_NETWORK=true) to allow it, or clear the connection's networkMode", mode)
	}
	return nil
}

// isHostNetwork reports whether a Docker network mode shares the host's
// network stack.
func isHostNetwork(mode string) bool { return strings.EqualFold(strings.TrimSpace(mode), "host") }

// runnerConfig builds the runner's view of a claimed attempt.
func (d *Daemon) runnerConfig(run *activeRun, srcImage, dstImage string, cat *protocol.ConfiguredCatalog, cp runner.Checkpointer) runner.Config {
	c := run.claim
	conn := c.Connection
	cfg := runner.Config{
		InstanceID: d.instanceID,
		JobID:      c.Job.ID,
		Attempt:    c.Attempt.Number,
		Source: runner.Connector{
			Image:      srcImage,
			Config:     c.SourceConfig.Config,
			Spec:       c.SourceDefinition.Spec,
			Resources:  runtimeResources(c.SourceDefinition.Resources),
			Hardening:  runner.Hardening(c.SourceDefinition.Hardening),
			Entrypoint: c.SourceDefinition.Entrypoint,
		},
		Destination: runner.Connector{
			Image:      dstImage,
			Config:     c.DestinationConfig.Config,
			Spec:       c.DestinationDefinition.Spec,
			Resources:  runtimeResources(c.DestinationDefinition.Resources),
			Hardening:  runner.Hardening(c.DestinationDefinition.Hardening),
			Entrypoint: c.DestinationDefinition.Entrypoint,
		},
		Catalog:      cat,
		State:        c.State,
		Checkpointer: cp,
		Mapping: runner.NamespaceMapping{
			Definition: conn.NamespaceDefinition,
			Format:     conn.NamespaceFormat,
			Prefix:     conn.Prefix,
		},
		LocalRoot:           d.localRoot(),
		LocalUser:           d.localUser,
		RelayImage:          d.cfg.Runtime.RelayImage,
		FailOnCountMismatch: d.cfg.Runtime.FailOnCountMismatch,
		NetworkMode:         conn.NetworkMode,
		Secrets:             append(append([]string(nil), c.SourceConfig.Secrets...), c.DestinationConfig.Secrets...),
		OnControl: func(role runner.Role, config json.RawMessage) error {
			// A connector rotated its credentials (CONTROL): persist at once,
			// re-encrypted, since the old ones may already be invalid.
			kind, id := store.KindSource, conn.SourceID
			if role == runner.RoleDestination {
				kind, id = store.KindDestination, conn.DestinationID
			}
			d.log.Info("connector config updated by the connector", "job_id", c.Job.ID, "role", role, "actor_id", id)
			return d.db.UpdateActorConfig(context.WithoutCancel(run.ctx), kind, id, config)
		},
		OnProgress: func(p runner.Progress) { d.publishProgress(run, p); d.recordSample(run, p) },
	}
	if len(conn.SelectedFields) > 0 {
		cfg.SelectedFields = make(map[protocol.StreamDescriptor][]string, len(conn.SelectedFields))
		for _, sf := range conn.SelectedFields {
			cfg.SelectedFields[sf.Stream] = sf.Fields
		}
	}
	if t := conn.Timeouts.NoProgress; t != nil {
		cfg.Timeouts.NoProgress = *t
	}
	if t := conn.Timeouts.EndOfInput; t != nil {
		cfg.Timeouts.EndOfInput = *t
	}
	if t := conn.Timeouts.MaxAttemptDuration; t != nil {
		cfg.Timeouts.MaxDuration = *t
	}
	if t := conn.Timeouts.DestinationWrite; t != nil {
		cfg.Timeouts.DestinationWrite = *t
	}
	return cfg
}

// attemptCatalog copies the connection's catalog and stamps the sync's
// bookkeeping on each stream (docs/protocol.md 2.7): sync_id is the job ID,
// generation_id the stream's current generation, and minimum_generation_id
// equals it for overwrite streams, and for every stream when truncate is
// set (a refresh or a clear: the destination drops older generations once
// the stream completes), and is 0 otherwise.
func attemptCatalog(cat *protocol.ConfiguredCatalog, jobID int64, gens []store.StreamGeneration, truncate bool) *protocol.ConfiguredCatalog {
	byStream := make(map[protocol.StreamDescriptor]int64, len(gens))
	for _, g := range gens {
		byStream[g.Stream] = g.GenerationID
	}
	out := &protocol.ConfiguredCatalog{Extra: cat.Extra, Streams: make([]protocol.ConfiguredStream, len(cat.Streams))}
	for i, s := range cat.Streams {
		gen := byStream[s.Stream.Descriptor()]
		minGen := int64(0)
		if truncate || isOverwrite(s.DestinationSyncMode) {
			minGen = gen
		}
		syncID := jobID
		s.SyncID, s.GenerationID, s.MinimumGenerationID = &syncID, &gen, &minGen
		out.Streams[i] = s
	}
	return out
}

func isOverwrite(mode string) bool {
	return mode == protocol.DestOverwrite || mode == protocol.DestOverwriteDedup
}

// bumpOverwriteGenerations starts a new generation of the connection's
// overwrite streams and returns all of its generations.
func (d *Daemon) bumpOverwriteGenerations(ctx context.Context, c *store.Claim) ([]store.StreamGeneration, error) {
	var streams []protocol.StreamDescriptor
	for _, s := range c.Connection.Catalog.Streams {
		if isOverwrite(s.DestinationSyncMode) {
			streams = append(streams, s.Stream.Descriptor())
		}
	}
	if len(streams) == 0 {
		return c.Generations, nil
	}
	return d.db.BumpGenerations(ctx, c.Job.ConnectionID, streams)
}

func runtimeResources(r store.Resources) runner.Resources {
	return runner.Resources{MemoryBytes: r.MemoryBytes, CPUs: r.CPUs}
}

// localRoot is the absolute local root: Docker bind mounts and local
// processes both need an absolute path.
func (d *Daemon) localRoot() string {
	if v := d.cfg.Runtime.LocalRootVolume; v != "" && d.rt.Name() == RuntimeDocker {
		return v // a volume name: see RuntimeConfig.LocalRootVolume
	}
	p, err := filepath.Abs(d.cfg.LocalRoot())
	if err != nil {
		return d.cfg.LocalRoot()
	}
	return p
}

// connectorImage is what the runtime runs for a definition: its image on
// Docker; on the local runtime its binary path, or the binary named after
// the image in the connectors dir (ferry/source-faker:dev ->
// <connectors dir>/source-faker).
func (d *Daemon) connectorImage(def *store.Definition) (string, error) {
	if d.rt.Name() != RuntimeLocal {
		return def.Image, nil
	}
	if def.BinaryPath != "" {
		return def.BinaryPath, nil
	}
	name := BinaryName(def.Image)
	if name == "" {
		return "", fmt.Errorf("definition %s: no local binary for image %s", def.Name, def.Image)
	}
	return filepath.Join(d.cfg.Runtime.ConnectorsDir, name), nil
}

// BinaryName is the local binary name of an image: its last path element
// without the tag or digest.
func BinaryName(image string) string {
	name := image
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	return name
}

// chooseMode picks the attempt's data channel from the definitions' IPC
// options (read from the io.ferry.ipc-options label at registration, or set
// through the API) and the connection's settings.
func chooseMode(c *store.Claim, noBridge string) (runner.Mode, error) {
	req := runner.ModeRequest{
		Source:          c.SourceDefinition.IPCOptions,
		Destination:     c.DestinationDefinition.IPCOptions,
		ForceStdio:      c.Connection.ForceStdio,
		NoBridge:        noBridge,
		FieldSelection:  len(c.Connection.SelectedFields) > 0,
		SourceCPUs:      c.SourceDefinition.Resources.CPUs,
		DestinationCPUs: c.DestinationDefinition.Resources.CPUs,
	}
	if n := c.Connection.SocketCount; n != nil {
		req.SocketCount = *n
	}
	return runner.ChooseMode(req)
}

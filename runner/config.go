package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferrysync/ferry/clock"
	"github.com/ferrysync/ferry/protocol"
)

// Connector is one side of a sync.
type Connector struct {
	// Image is a Docker image (docker runtime) or a binary path (local).
	Image string
	// Config is the plaintext connector config, secrets hydrated.
	Config json.RawMessage
	// Spec is the connector's spec (a ConnectorSpecification or its
	// connectionSpecification). When set, the secret values of a config the
	// connector sends in a CONTROL message are masked from then on.
	Spec json.RawMessage
	// Resources bounds the container.
	Resources Resources
	// Env adds environment variables.
	Env map[string]string
	// Hardening is the container's hardening level (ConnectorSpec.Hardening).
	Hardening Hardening
	// Entrypoint is the connector's command (ConnectorSpec.Entrypoint).
	Entrypoint []string
}

// Timeouts are the liveness limits of an attempt (G8). Zero values take the
// defaults below; a negative value disables that check.
type Timeouts struct {
	// NoProgress fails the attempt when the source emits no RECORD or STATE
	// for this long (heartbeat_timeout).
	NoProgress time.Duration
	// DestinationWrite fails the attempt when one write to the destination's
	// stdin blocks this long: the destination stopped reading
	// (destination_timeout).
	DestinationWrite time.Duration
	// EndOfInput is how long the destination may take to exit after its
	// stdin is closed.
	EndOfInput time.Duration
	// SourceExit is how long the source may take to exit after closing its
	// stdout (Airbyte assumes it was killed after 10 s).
	SourceExit time.Duration
	// MaxDuration caps the whole attempt.
	MaxDuration time.Duration
	// StopGrace is the SIGTERM grace before SIGKILL.
	StopGrace time.Duration
	// SocketConnect is how long Ferry waits for the source's sockets in
	// bridged mode.
	SocketConnect time.Duration
}

// Default timeouts.
const (
	DefaultNoProgress       = 3 * time.Hour
	DefaultDestinationWrite = 30 * time.Minute
	DefaultEndOfInput       = time.Hour
	DefaultSourceExit       = 10 * time.Second
	DefaultMaxDuration      = 72 * time.Hour
)

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.NoProgress, DefaultNoProgress)
	def(&t.DestinationWrite, DefaultDestinationWrite)
	def(&t.EndOfInput, DefaultEndOfInput)
	def(&t.SourceExit, DefaultSourceExit)
	def(&t.MaxDuration, DefaultMaxDuration)
	def(&t.StopGrace, DefaultStopTimeout)
	def(&t.SocketConnect, DefaultSocketConnect)
	return t
}

// Config describes one sync attempt.
type Config struct {
	// InstanceID, JobID and Attempt label containers and name them.
	InstanceID string
	JobID      int64
	Attempt    int

	Source      Connector
	Destination Connector
	// Catalog is the configured catalog, with generation ids and sync_id
	// already set by the caller.
	Catalog *protocol.ConfiguredCatalog
	// State is the committed state to start from; nil for a fresh start.
	State []*protocol.State

	Checkpointer Checkpointer

	// Mode is the data channel, from ChooseMode; the zero value is stdio.
	Mode Mode

	// Mapping renames streams on the destination side.
	Mapping NamespaceMapping
	// SelectedFields lists, for streams where the user deselected fields,
	// the top-level fields to keep. Other streams forward records untouched.
	SelectedFields map[protocol.StreamDescriptor][]string

	// RelayImage is the image of bridged mode's relay (BridgeRelay);
	// empty means DefaultRelayImage.
	RelayImage string

	// LocalRoot is mounted at /local in the destination.
	LocalRoot string
	// LocalUser is the uid:gid that can write LocalRoot (ConnectorSpec.LocalUser).
	LocalUser string
	// NetworkMode is the Docker network mode of both containers.
	NetworkMode string

	Timeouts Timeouts
	// MaxLineBytes bounds one stdout line (default 64 MiB).
	MaxLineBytes int

	// Lenient turns the strict-mode violations (dropped record-like lines,
	// forged acknowledgements) into warnings.
	Lenient bool
	// DropUnknownStreams drops and counts records of streams that are not in
	// the catalog instead of failing the attempt.
	DropUnknownStreams bool
	// NoCompleteStatus stops Ferry from sending COMPLETE stream statuses to
	// the destination at the end of input (in socket mode, its
	// confirmations on stdin: Ferry's kit then finalises no stream).
	NoCompleteStatus bool
	// FailOnCountMismatch makes a disagreement between the source's,
	// Ferry's and the destination's record counts fatal (G12).
	FailOnCountMismatch bool

	// Secrets are plaintext secret values, masked in every log line and
	// failure message.
	Secrets []string
	// Log receives the attempt log. It is not capped here: wrap it in a
	// CappedWriter when it goes to a file.
	Log io.Writer
	// OnControl is called when a connector asks for its config to be
	// replaced (CONTROL CONNECTOR_CONFIG). The config must be persisted at
	// once, even if the attempt later fails.
	OnControl func(role Role, config json.RawMessage) error
	// OnProgress is called about once a second with the running stats.
	OnProgress func(Progress)
	// ProgressInterval overrides the progress and watchdog tick (tests).
	ProgressInterval time.Duration
	// Clock measures every timeout, heartbeat and rate of the attempt; nil
	// means real time. Tests pass a *clock.Fake and move it by hand.
	Clock clock.Clock

	// observe, set by the runner's own tests, sees the attempt's parts
	// once they are built, so a test can wait on their state.
	observe func(*attempt)
}

// Progress is a running snapshot of an attempt.
type Progress struct {
	Elapsed time.Duration
	Stats   Stats
	Pending int // states forwarded but not yet acknowledged
}

func (c *Config) validate() error {
	var errs []error
	if c.Source.Image == "" {
		errs = append(errs, errors.New("no source image"))
	}
	if c.Destination.Image == "" {
		errs = append(errs, errors.New("no destination image"))
	}
	if c.Catalog == nil || len(c.Catalog.Streams) == 0 {
		errs = append(errs, errors.New("the configured catalog has no streams"))
	} else if err := c.Catalog.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Checkpointer == nil {
		errs = append(errs, errors.New("no checkpointer"))
	}
	for _, cfg := range []struct {
		name string
		raw  json.RawMessage
	}{{"source", c.Source.Config}, {"destination", c.Destination.Config}} {
		if len(cfg.raw) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cfg.raw, &obj); err != nil {
			errs = append(errs, fmt.Errorf("%s config is not a JSON object: %v", cfg.name, err))
		}
	}
	if len(c.State) > 0 {
		if _, err := protocol.StateFile(c.State); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

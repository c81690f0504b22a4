// Package web is Ferry's HTTP face: the REST API under /api/v1 (modelled on
// Airbyte's public API v1), live attempt logs over Server-Sent Events, the
// OpenAPI document, bearer-token auth, /healthz and Prometheus /metrics,
// and a small web UI at the root behind a login cookie (ui_*.go).
//
// It reaches the rest of Ferry only through the small interfaces below,
// declared here where they are consumed: *store.DB satisfies Store, and the
// daemon provides Jobs and Connectors. Tests use a real store on a temp
// SQLite file and hand-written fakes for the other two.
package web

import (
	"context"
	"encoding/json"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// Store is the part of *store.DB the API calls. Every method returns the
// store's typed errors (store.ErrNotFound, store.ErrConflict,
// *store.ValidationError), which the one error mapper turns into statuses.
type Store interface {
	Workspace(ctx context.Context, id string) (*store.Workspace, error)
	DefaultWorkspace(ctx context.Context) (*store.Workspace, error)
	Workspaces(ctx context.Context, f store.WorkspaceFilter) ([]*store.Workspace, int, error)
	UpdateWorkspace(ctx context.Context, w *store.Workspace) error

	CreateDefinition(ctx context.Context, d *store.Definition) error
	Definition(ctx context.Context, id string) (*store.Definition, error)
	DefinitionByShortName(ctx context.Context, kind store.ActorKind, name string) (*store.Definition, error)
	Definitions(ctx context.Context, f store.DefinitionFilter) ([]*store.Definition, int, error)
	UpdateDefinition(ctx context.Context, d *store.Definition) error
	DeleteDefinition(ctx context.Context, id string) error

	CreateActor(ctx context.Context, a *store.Actor) error
	Actor(ctx context.Context, kind store.ActorKind, id string) (*store.Actor, error)
	Actors(ctx context.Context, f store.ActorFilter) ([]*store.Actor, int, error)
	UpdateActor(ctx context.Context, a *store.Actor) error
	DeleteActor(ctx context.Context, kind store.ActorKind, id string) error
	// ActorConfig returns plaintext: it is used only to run a connector
	// and to redact its output, never to answer a request.
	ActorConfig(ctx context.Context, kind store.ActorKind, id string) (*store.ResolvedConfig, error)

	CreateConnection(ctx context.Context, c *store.Connection) error
	Connection(ctx context.Context, id string) (*store.Connection, error)
	Connections(ctx context.Context, f store.ConnectionFilter) ([]*store.Connection, int, error)
	UpdateConnection(ctx context.Context, c *store.Connection) error
	DeleteConnection(ctx context.Context, id string) error

	Job(ctx context.Context, id int64) (*store.Job, error)
	Jobs(ctx context.Context, f store.JobFilter) ([]*store.Job, int, error)
	// LastJobs is the newest job of each connection named, by id.
	LastJobs(ctx context.Context, connectionIDs []string) (map[string]*store.Job, error)
	// JobAttempts are the attempts of each job named, by job id.
	JobAttempts(ctx context.Context, jobIDs []int64) (map[int64][]*store.Attempt, error)
	// JobSamples are the throughput samples of a job's attempts, by
	// attempt number, for the job page's chart.
	JobSamples(ctx context.Context, jobID int64) (map[int][]store.Sample, error)

	// ReadLog returns up to max bytes of an attempt's log stored in the
	// database (by the replica that ran it) from byte offset pos.
	ReadLog(ctx context.Context, attemptID, pos int64, max int) ([]byte, error)

	State(ctx context.Context, connID string) ([]*protocol.State, error)
	ReplaceState(ctx context.Context, connID string, states []*protocol.State) error
	ClearState(ctx context.Context, connID string, streams []protocol.StreamDescriptor) error
}

var _ Store = (*store.DB)(nil)

// Jobs drives jobs; the daemon's job controller implements it
// (daemon.JobController has the same method set).
type Jobs interface {
	// Trigger creates a pending job. It returns an error wrapping
	// store.ErrConflict while the connection has an active job,
	// store.ErrNotFound for an unknown connection, and a
	// *store.ValidationError for a bad job type.
	Trigger(ctx context.Context, connectionID string, jobType store.JobType) (*store.Job, error)
	// Cancel stops a job and returns it as updated; store.ErrNotFound, or
	// store.ErrConflict when the job has already ended.
	Cancel(ctx context.Context, jobID int64) (*store.Job, error)
	// Subscribe calls onStatus with the job as stored and with every
	// change, and onLog with live log lines, on the caller's goroutine,
	// until the job's terminal status was delivered (nil) or ctx ends.
	Subscribe(ctx context.Context, jobID int64, onStatus func(*store.Job), onLog func(attempt int, line string)) error
}

// SpecResult is what running a connector's spec command tells about its
// definition.
type SpecResult struct {
	// Spec is the ConnectorSpecification JSON.
	Spec json.RawMessage
	// ImageID identifies the image (or binary) the spec was read from.
	ImageID string
	// IPCOptions come from the image's io.ferry.ipc-options label; nil
	// when it has none.
	IPCOptions *protocol.IPCOptions
	// Connector is the image's io.ferry.connector label (source-faker);
	// a new definition's short name is derived from it. Empty when the
	// image has none.
	Connector string
	// Entrypoint is the command the image declares (its
	// AIRBYTE_ENTRYPOINT, else its ENTRYPOINT); nil when the runtime
	// cannot inspect images or the image declares none.
	Entrypoint []string
}

// Connectors runs a connector's spec, check and discover commands. The
// daemon implements it on its runtime. An error means the connector could
// not answer (a missing image, a crash, an ERROR trace); its text is shown
// to the user after the config's secret values are masked out of it.
type Connectors interface {
	Spec(ctx context.Context, def *store.Definition) (*SpecResult, error)
	// Check runs check with a plaintext config.
	Check(ctx context.Context, def *store.Definition, config json.RawMessage) (*protocol.ConnectionStatus, error)
	// Discover runs discover with a plaintext config.
	Discover(ctx context.Context, def *store.Definition, config json.RawMessage) (*protocol.Catalog, error)
}

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// ReferenceConnector is a connector Ferry ships and registers at first
// start.
type ReferenceConnector struct {
	// Name is the definition's name; Binary names the image
	// (ferry/<Binary>:dev) and the local binary.
	Name   string
	Binary string
	Kind   store.ActorKind
	// ShortName is what configuration.sourceType or destinationType may
	// say instead of the definition id. The id itself is derived from it
	// (store.StableDefinitionID), so it is the same on every install.
	ShortName string
}

// ID is the reference definition's id on every install.
func (rc ReferenceConnector) ID() string { return store.StableDefinitionID(rc.Kind, rc.ShortName) }

// ReferenceConnectors are the definitions a new data dir starts with.
// connector-scripted plays both roles, so it is registered twice.
var ReferenceConnectors = []ReferenceConnector{
	{"source-faker", "source-faker", store.KindSource, "faker"},
	{"destination-jsonl", "destination-jsonl", store.KindDestination, "jsonl"},
	{"destination-null", "destination-null", store.KindDestination, "null"},
	{"connector-scripted-source", "connector-scripted", store.KindSource, "scripted"},
	{"connector-scripted-destination", "connector-scripted", store.KindDestination, "scripted"},
}

// ReferenceImage is the image of a reference connector.
func ReferenceImage(binary string) string { return "ferry/" + binary + ":" + referenceTag }

// referenceTag is the reference images' tag, the one `make images` builds.
// Tests set it to $FERRY_TEST_IMAGE_TAG (imagetag_test.go), the tag their
// runnertest.BuildImage builds, so that checkouts sharing one engine each
// run their own connectors.
var referenceTag = "dev"

// Demo connection settings.
const (
	DemoSourceName      = "Demo faker"
	DemoDestinationName = "Demo JSONL"
	DemoConnectionName  = "Demo: faker → JSONL"
	// DemoInterval is the demo's schedule; it also runs once at first start.
	DemoInterval = 3600
)

// demoSourceConfig makes 1,000 deterministic users and purchases.
var demoSourceConfig = json.RawMessage(`{"count":1000,"seed":42,"records_per_slice":100}`)

// bootstrapMarker records a completed first start. Until it exists, every
// start retries the bootstrap, whose steps skip what already exists.
const bootstrapMarker = "bootstrapped"

// bootstrap registers the reference connector definitions and the demo
// connection (faker → JSONL under <data-dir>/local/demo, hourly), and
// triggers its first sync, so a newcomer sees one run. A connector whose
// spec cannot be read (an image not built) is registered without a spec
// and reported; the demo is skipped when its connectors are unusable.
func (d *Daemon) bootstrap(ctx context.Context, demo bool) error {
	marker := filepath.Join(d.cfg.DataDir, bootstrapMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defs := map[string]*store.Definition{}
	for _, rc := range ReferenceConnectors {
		def, err := d.registerReference(ctx, rc)
		if err != nil {
			return err
		}
		defs[rc.Name] = def
	}
	src, dst := defs["source-faker"], defs["destination-jsonl"]
	switch {
	case !demo:
	case src.Spec == nil || dst.Spec == nil:
		d.log.Warn("first start: no demo connection, source-faker or destination-jsonl is not runnable; build them (make connectors, or make images with Docker) and restart")
		return nil
	default:
		if err := d.createDemo(ctx, src, dst); err != nil {
			return fmt.Errorf("demo connection: %w", err)
		}
	}
	return os.WriteFile(marker, []byte("reference connectors and demo connection registered\n"), 0o600)
}

// registerReference creates a reference definition, with its stable id and
// short name, unless one of that name exists, caching its spec and IPC
// options. A data dir made before short names keeps its ids.
func (d *Daemon) registerReference(ctx context.Context, rc ReferenceConnector) (*store.Definition, error) {
	found, _, err := d.db.Definitions(ctx, store.DefinitionFilter{Name: rc.Name})
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return found[0], nil
	}
	def := &store.Definition{ID: rc.ID(), Name: rc.Name, Kind: rc.Kind, ShortName: rc.ShortName,
		Image: ReferenceImage(rc.Binary)}
	if res, err := d.Connectors().Spec(ctx, def); err != nil {
		d.log.Warn("first start: cannot read the connector's spec; registered without it", "definition", rc.Name, "error", err)
	} else {
		def.Spec, def.SpecImageID, def.IPCOptions = res.Spec, res.ImageID, res.IPCOptions
		if res.Entrypoint != nil {
			def.Entrypoint, def.EntrypointSource = res.Entrypoint, store.EntrypointFromImage
		}
	}
	if err := d.db.CreateDefinition(ctx, def); err != nil {
		return nil, err
	}
	d.log.Info("first start: registered connector", "definition", rc.Name, "kind", rc.Kind, "image", def.Image,
		"ipc", def.IPCOptions != nil, "spec", def.Spec != nil)
	return def, nil
}

// createDemo creates the demo source, destination and connection, and
// triggers the first sync.
func (d *Daemon) createDemo(ctx context.Context, srcDef, dstDef *store.Definition) error {
	conns, _, err := d.db.Connections(ctx, store.ConnectionFilter{})
	if err != nil || len(conns) > 0 {
		return err // a connection exists: the user has taken over
	}
	src := &store.Actor{Kind: store.KindSource, Name: DemoSourceName, DefinitionID: srcDef.ID,
		Config: demoSourceConfig}
	if err := d.db.CreateActor(ctx, src); err != nil {
		return err
	}
	dst := &store.Actor{Kind: store.KindDestination, Name: DemoDestinationName, DefinitionID: dstDef.ID,
		Config: json.RawMessage(`{"destination_path":"/local/demo"}`)}
	if err := d.db.CreateActor(ctx, dst); err != nil {
		return err
	}
	catalog, err := d.Connectors().Discover(ctx, srcDef, demoSourceConfig)
	if err != nil {
		return err
	}
	conn := &store.Connection{
		Name: DemoConnectionName, SourceID: src.ID, DestinationID: dst.ID,
		Catalog:  DefaultConfiguredCatalog(catalog),
		Schedule: store.Schedule{Type: store.ScheduleInterval, IntervalSeconds: DemoInterval},
	}
	if err := d.db.CreateConnection(ctx, conn); err != nil {
		return err
	}
	j, err := d.trigger(ctx, conn.ID, store.JobSync, store.TriggerManual)
	if err != nil {
		return err
	}
	d.log.Info("first start: created the demo connection and started its first sync", "connection_id", conn.ID,
		"job_id", j.ID, "output", filepath.Join(d.cfg.LocalRoot(), "demo"), "schedule", "every hour")
	return nil
}

// DefaultConfiguredCatalog configures every stream of a discovered catalog
// the way Airbyte's UI proposes: incremental append with the source's
// cursor and primary key where the stream supports it, else full refresh
// overwrite.
func DefaultConfiguredCatalog(c *protocol.Catalog) *protocol.ConfiguredCatalog {
	out := &protocol.ConfiguredCatalog{}
	for _, s := range c.Streams {
		cs := protocol.ConfiguredStream{Stream: s, SyncMode: protocol.SyncFullRefresh,
			DestinationSyncMode: protocol.DestOverwrite, PrimaryKey: s.SourceDefinedPrimaryKey}
		if s.Supports(protocol.SyncIncremental) && len(s.DefaultCursorField) > 0 {
			cs.SyncMode, cs.DestinationSyncMode = protocol.SyncIncremental, protocol.DestAppend
			cs.CursorField = s.DefaultCursorField
		}
		out.Streams = append(out.Streams, cs)
	}
	return out
}

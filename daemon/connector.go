package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// ConnectorLabel is the image label that names a connector (source-faker);
// scripts/build-images.sh sets it.
const ConnectorLabel = "io.ferry.connector"

// connectorTimeout bounds one spec, check or discover run.
const connectorTimeout = 2 * time.Minute

// commandSeq keeps connector command names unique within the process.
var commandSeq atomic.Int64

// Connectors runs a definition's spec, check and discover commands on the
// daemon's runtime, for the API and the first start. Its Check and
// Discover have the signatures web.Connectors declares; Spec returns
// ConnectorSpecResult, which web's SpecResult mirrors field for field.
type Connectors struct{ d *Daemon }

// Connectors returns the daemon's connector command runner.
func (d *Daemon) Connectors() *Connectors { return &Connectors{d: d} }

// ConnectorSpecResult is what a definition's image says about itself.
type ConnectorSpecResult struct {
	// Spec is the ConnectorSpecification JSON.
	Spec json.RawMessage
	// ImageID identifies the image (or binary) the spec was read from.
	ImageID string
	// IPCOptions come from the image's io.ferry.ipc-options label; nil
	// when it has none (a local binary, a legacy image).
	IPCOptions *protocol.IPCOptions
	// Connector is the image's io.ferry.connector label (source-faker),
	// which a definition's short name is derived from; empty when none.
	Connector string
	// Entrypoint is the command the image declares
	// (runner.ImageInfo.Entrypoint); nil when the runtime cannot inspect
	// images or the image declares none.
	Entrypoint []string
}

// Spec runs the definition's spec command and reads its image's ID and
// IPC options label.
func (c *Connectors) Spec(ctx context.Context, def *store.Definition) (*ConnectorSpecResult, error) {
	base, err := c.d.commandSpec(def, runner.CommandSpec)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectorTimeout)
	defer cancel()
	out := &ConnectorSpecResult{}
	if insp, ok := c.d.rt.(runner.ImageInspector); ok {
		info, err := insp.InspectImage(ctx, base.Image)
		if err != nil {
			return nil, err
		}
		out.ImageID, out.Connector, out.Entrypoint = info.ID, info.Labels[ConnectorLabel], info.Entrypoint
		if raw := info.Labels[runner.IPCLabel]; raw != "" {
			if out.IPCOptions, err = protocol.ParseIPCOptions([]byte(raw)); err != nil {
				return nil, fmt.Errorf("image %s: label %s: %w", base.Image, runner.IPCLabel, err)
			}
		}
	}
	res, err := runner.Spec(ctx, c.d.rt, base)
	if err != nil {
		return nil, err
	}
	if out.Spec, err = json.Marshal(res.Spec); err != nil {
		return nil, err
	}
	return out, nil
}

// Check runs check with a plaintext config. A FAILED status is an answer,
// not an error.
func (c *Connectors) Check(ctx context.Context, def *store.Definition, config json.RawMessage) (*protocol.ConnectionStatus, error) {
	base, err := c.d.commandSpec(def, runner.CommandCheck)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectorTimeout)
	defer cancel()
	res, err := runner.Check(ctx, c.d.rt, base, config)
	if err != nil {
		return nil, err
	}
	return res.Status, nil
}

// Discover runs discover with a plaintext config and returns the source's
// catalog.
func (c *Connectors) Discover(ctx context.Context, def *store.Definition, config json.RawMessage) (*protocol.Catalog, error) {
	base, err := c.d.commandSpec(def, runner.CommandDiscover)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, connectorTimeout)
	defer cancel()
	res, err := runner.Discover(ctx, c.d.rt, base, config)
	if err != nil {
		return nil, err
	}
	if res.Catalog == nil {
		return nil, errors.New("the connector answered discover without a source catalog")
	}
	return res.Catalog, nil
}

// commandSpec is the base of a command run: the definition's image (or
// local binary) and limits, labelled as this instance's, so a crash sweep
// removes a container it leaves behind.
func (d *Daemon) commandSpec(def *store.Definition, command string) (runner.ConnectorSpec, error) {
	image, err := d.connectorImage(def)
	if err != nil {
		return runner.ConnectorSpec{}, err
	}
	return runner.ConnectorSpec{
		Name:       fmt.Sprintf("ferry-%s-%s-%d", d.instanceID, command, commandSeq.Add(1)),
		Image:      image,
		Role:       runner.RoleConnector,
		Resources:  runtimeResources(def.Resources),
		Hardening:  runner.Hardening(def.Hardening),
		Entrypoint: def.Entrypoint,
		Labels: map[string]string{
			runner.LabelInstance: d.instanceID,
			runner.LabelJob:      "0",
			runner.LabelAttempt:  "0",
			runner.LabelRole:     string(runner.RoleConnector),
		},
		StopTimeout: 5 * time.Second,
	}, nil
}

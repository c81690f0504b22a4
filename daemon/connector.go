package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// connectorTimeout bounds a spec or discover run at bootstrap.
const connectorTimeout = 2 * time.Minute

// commandSeq keeps connector command names unique within the process.
var commandSeq atomic.Int64

// runCommand runs spec, check or discover on a connector through
// runner.Command, labelled as this instance's (so a crash sweep removes a
// container it leaves), and returns the connector's answer.
func (d *Daemon) runCommand(ctx context.Context, image, command string, config json.RawMessage) (*protocol.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, connectorTimeout)
	defer cancel()
	base := runner.ConnectorSpec{
		Name:  fmt.Sprintf("ferry-%s-%s-%d", d.instanceID, command, commandSeq.Add(1)),
		Image: image,
		Role:  runner.RoleConnector,
		Labels: map[string]string{
			runner.LabelInstance: d.instanceID,
			runner.LabelJob:      "0",
			runner.LabelAttempt:  "0",
			runner.LabelRole:     string(runner.RoleConnector),
		},
		StopTimeout: 5 * time.Second,
	}
	m, _, err := runner.Command(ctx, d.rt, base, command, config)
	return m, err
}

package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// connectorTimeout bounds a spec or discover run at bootstrap.
const connectorTimeout = 2 * time.Minute

// commandSeq keeps connector command names unique within the process.
var commandSeq atomic.Int64

// runCommand runs a spec or discover command of a connector and returns
// the first message of type want. It is the small subset of the connector
// helpers the first start needs; the error carries the connector's last
// stderr lines when the answer is missing.
func (d *Daemon) runCommand(ctx context.Context, image, command string, config json.RawMessage, want protocol.Type) (*protocol.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, connectorTimeout)
	defer cancel()
	spec := runner.ConnectorSpec{
		Name:    fmt.Sprintf("ferry-%s-%s-%d", d.instanceID, command, commandSeq.Add(1)),
		Image:   image,
		Args:    []string{command},
		WorkDir: "/source",
		Role:    runner.RoleConnector,
		Labels: map[string]string{
			runner.LabelInstance: d.instanceID,
			runner.LabelJob:      "0",
			runner.LabelAttempt:  "0",
			runner.LabelRole:     string(runner.RoleConnector),
		},
		StopTimeout: 5 * time.Second,
	}
	if config != nil {
		spec.Files = map[string][]byte{runner.SourceConfigPath: config}
		spec.Args = append(spec.Args, "--config", runner.SourceConfigPath)
	}
	var out, errOut bytes.Buffer
	st, err := d.rt.Run(ctx, spec, runner.Stdio{Out: &out, Err: &errOut})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", image, command, err)
	}
	r := protocol.NewReader(&out, protocol.DefaultMaxLineBytes)
	for {
		line, err := r.ReadLine()
		if err != nil {
			break
		}
		m, err := protocol.Decode(line)
		if err != nil {
			continue // a non-protocol line: logs, banners
		}
		if m.Type == want {
			return m, nil
		}
		if m.Type == protocol.TypeTrace && m.Trace.Error != nil {
			return nil, fmt.Errorf("%s %s: %s", image, command, m.Trace.Error.Message)
		}
	}
	tail := strings.TrimSpace(errOut.String())
	if len(tail) > 2000 {
		tail = tail[len(tail)-2000:]
	}
	return nil, fmt.Errorf("%s %s: no %s message (%s); stderr: %s", image, command, want, st, tail)
}

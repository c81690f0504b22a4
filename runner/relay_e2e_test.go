package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/docker"
	"github.com/ferrysync/ferry/runner/runnertest"
)

// TestE2ERelayMissingImage: bridged mode through a relay whose image is
// not on the engine fails the attempt quickly with a message that names
// the image and how to build it, stops the source, and leaves no
// container behind.
func TestE2ERelayMissingImage(t *testing.T) {
	c := runnertest.RequireDocker(t)
	instance := fmt.Sprintf("e2e-relay-missing-%d", time.Now().UnixNano())
	rt, err := docker.New(c, docker.Options{InstanceID: instance})
	if err != nil {
		t.Fatal(err)
	}
	faker := runnertest.BuildImage(t, "source-faker", "./connectors/source-faker")
	null := runnertest.BuildImage(t, "destination-null", "./connectors/destination-null")
	disc, err := runner.Discover(t.Context(), rt, runner.ConnectorSpec{Name: instance + "-discover", Image: faker,
		Role: runner.RoleConnector, StopTimeout: 5 * time.Second}, []byte(`{"count":10}`))
	if err != nil {
		t.Fatal(err)
	}
	cat := &protocol.ConfiguredCatalog{}
	for _, s := range disc.Catalog.Streams {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{Stream: s, SyncMode: protocol.SyncFullRefresh, DestinationSyncMode: protocol.DestAppend})
	}
	var log bytes.Buffer
	res, err := runner.Sync(context.Background(), rt, runner.Config{
		InstanceID: instance, JobID: 1, Attempt: 1,
		Mode:        runner.Mode{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2, Bridge: runner.BridgeRelay},
		RelayImage:  "ferry/relay:no-such-tag",
		Source:      runner.Connector{Image: faker, Config: json.RawMessage(`{"count":10}`)},
		Destination: runner.Connector{Image: null, Config: json.RawMessage(`{}`)},
		Catalog:     cat, Checkpointer: &runner.FileCheckpointer{Path: filepath.Join(t.TempDir(), "state.json")},
		Log:      &lockedWriter{w: &log},
		Timeouts: runner.Timeouts{SocketConnect: time.Minute, StopGrace: 5 * time.Second},
	})
	if err == nil || res.Status != runner.StatusFailed {
		t.Fatalf("got %s (%v), want failed", res.Status, err)
	}
	t.Logf("failures: %+v", res.Failures)
	if !strings.Contains(res.Failures[0].ExternalMessage, "image ferry/relay:no-such-tag not found") ||
		!strings.Contains(res.Failures[0].ExternalMessage, "scripts/build-images.sh relay") {
		t.Errorf("first failure: got %q, want the missing relay image and how to build it", res.Failures[0].ExternalMessage)
	}
	if f := res.Failures[0]; f.Type != protocol.FailureConfig || f.Retryable {
		t.Errorf("first failure: got %s (retryable %t), want a config_error, not retried", f.Type, f.Retryable)
	}
	if res.Bridge != runner.BridgeRelay {
		t.Errorf("bridge: got %q, want relay", res.Bridge)
	}
	left, err := rt.Sweep(context.Background(), instance, nil)
	if err != nil || left > 0 {
		t.Errorf("sweep after the attempt: %d left (%v), want none", left, err)
	}
}

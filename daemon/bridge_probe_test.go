package daemon

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/runner/local"
	"github.com/ferrysync/ferry/store"
)

// failingProbe is the local runtime with a probe, as the Docker runtime
// has, whose engine fails the first probe and then answers that
// directories are shared.
type failingProbe struct {
	runner.Runtime
	probes atomic.Int32
}

func (f *failingProbe) SharesDirs(context.Context, string) (bool, string, error) {
	if f.probes.Add(1) == 1 {
		return false, "", errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	}
	return true, "", nil
}

// TestBridgeProbeEngineErrorRetried: the engine failing during the
// bridge's probe fails the attempt as a retryable system_error, not a
// config_error, and the retry, with the engine back, syncs bridged.
func TestBridgeProbeEngineErrorRetried(t *testing.T) {
	cfg := testConfig(t, scriptedDir(t))
	rt := &failingProbe{Runtime: local.New(local.Options{Logger: testLogger(t)})}
	d := openDaemon(t, cfg, Options{Runtime: rt})
	conn := scriptedConnection(t, d, scenario{Source: map[string]any{"records": 5}}, scenario{})
	for def, transports := range map[string][]string{
		conn.SourceID:      {protocol.TransportSocket, protocol.TransportStdio},
		conn.DestinationID: {protocol.TransportStdio},
	} {
		setTransports(t, d, def, transports)
	}
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	if j.Status != store.JobSucceeded || len(j.Attempts) != 2 {
		t.Fatalf("job %s after %d attempts, want succeeded after 2", j.Status, len(j.Attempts))
	}
	first := j.Attempts[0].FailureReasons
	if len(first) != 1 || first[0].FailureType != protocol.FailureSystem || first[0].Retryable == nil || !*first[0].Retryable ||
		!strings.Contains(first[0].ExternalMessage, "Cannot connect to the Docker daemon") {
		t.Errorf("attempt 1 failures %+v, want one retryable system_error quoting the engine", first)
	}
	if a := j.Attempts[1]; a.Mode != protocol.ModeBridged || a.Bridge != store.BridgeDirect {
		t.Errorf("attempt 2: mode %q, bridge %q; want bridged, direct", a.Mode, a.Bridge)
	}
	if got := receivedIDs(t, d)["items"]; len(missing(got, 5)) != 0 {
		t.Errorf("destination got %v, want 1..5", got)
	}
}

// setTransports gives the definition of an actor these transports.
func setTransports(t *testing.T, d *Daemon, actorID string, transports []string) {
	t.Helper()
	ctx := context.Background()
	kind := store.KindSource
	a, err := d.db.Actor(ctx, kind, actorID)
	if errors.Is(err, store.ErrNotFound) {
		kind = store.KindDestination
		a, err = d.db.Actor(ctx, kind, actorID)
	}
	if err != nil {
		t.Fatal(err)
	}
	def, err := d.db.Definition(ctx, a.DefinitionID)
	if err != nil {
		t.Fatal(err)
	}
	def.IPCOptions = &protocol.IPCOptions{DataChannel: protocol.DataChannel{Version: "0.0.2",
		SupportedSerialization: []string{protocol.FormatJSONL}, SupportedTransport: transports}}
	if err := d.db.UpdateDefinition(ctx, def); err != nil {
		t.Fatal(err)
	}
}

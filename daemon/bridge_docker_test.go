package daemon

import (
	"context"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner/runnertest"
	"github.com/ferrysync/ferry/store"
)

// TestDockerConnectionForcesRelay: a connection whose bridge setting is
// relay runs bridged mode through the relay container even here, where
// the daemon's default (auto) would find the direct path, and its attempt
// records the path. The destination's definition speaks STDIO only, so
// faker's sockets must be bridged.
func TestDockerConnectionForcesRelay(t *testing.T) {
	runnertest.RequireDocker(t)
	cfg := dockerConfig(t)
	cfg.Runtime.RelayImage = runnertest.BuildImage(t, "relay", runnertest.RelayPkg)
	d := openDaemon(t, cfg, Options{})
	sweepAtCleanup(t, d)
	ctx := context.Background()
	dstDef := imageDefinition(t, d, store.KindDestination, "destination-jsonl")
	dstDef.IPCOptions = &protocol.IPCOptions{DataChannel: protocol.DataChannel{Version: "0.0.2",
		SupportedSerialization: []string{protocol.FormatJSONL}, SupportedTransport: []string{protocol.TransportStdio}}}
	if err := d.db.UpdateDefinition(ctx, dstDef); err != nil {
		t.Fatal(err)
	}
	conn := imageConnection(t, d,
		imageDefinition(t, d, store.KindSource, "source-faker"), `{"count":40,"seed":3}`,
		dstDef, `{"destination_path":"/local/out"}`)
	conn.Bridge = store.BridgeRelay
	if err := d.db.UpdateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	serve(t, d)
	j := runJob(t, d, conn.ID, store.JobSync)
	wantSucceeded(t, "sync through the relay", j)
	a := j.Attempts[len(j.Attempts)-1]
	if a.Mode != protocol.ModeBridged || a.Bridge != store.BridgeRelay {
		t.Errorf("attempt: mode %q, bridge %q; want bridged through the relay", a.Mode, a.Bridge)
	}
	if n, _ := jsonlLines(t, d, "users"); n != 40 {
		t.Errorf("users: %d lines, want 40", n)
	}
}

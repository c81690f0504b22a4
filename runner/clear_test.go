package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestClearRunsTheDestinationAlone: a clear starts no source, even with a
// socket mode and a state asked for; the destination runs over stdio with
// the catalog as given and receives no record, only one COMPLETE per
// stream at the end of its input.
func TestClearRunsTheDestinationAlone(t *testing.T) {
	dst := &destRecorder{}
	rt := &FakeRuntime{
		Source: func(context.Context, ConnectorSpec, Stdio) (ExitStatus, error) {
			t.Error("a clear ran the source")
			return ExitStatus{Code: 1}, nil
		},
		Destination: dst.run,
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users", "orders")
	gen := int64(3)
	for i := range cfg.Catalog.Streams {
		s := &cfg.Catalog.Streams[i]
		s.SyncMode, s.DestinationSyncMode = protocol.SyncFullRefresh, protocol.DestOverwrite
		s.GenerationID, s.MinimumGenerationID = &gen, &gen
	}
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 2}
	cfg.State = []*protocol.State{{Type: protocol.StateLegacy, Data: []byte(`{"cursor":9}`)}}
	res, err := Clear(context.Background(), rt, cfg)
	if err != nil {
		t.Fatalf("Clear: %v (%+v)", err, res.Failures)
	}
	if res.Mode != protocol.ModeStdio || res.Status != StatusSucceeded {
		t.Errorf("mode %s, status %s; want stdio, succeeded", res.Mode, res.Status)
	}
	for _, s := range rt.Specs() {
		if s.Role == RoleSource {
			t.Errorf("the runtime was asked to run the source %s", s.Name)
		}
	}
	if n := len(dst.inputOf(protocol.TypeRecord)); n != 0 {
		t.Errorf("the destination got %d records, want none", n)
	}
	traces := dst.inputOf(protocol.TypeTrace)
	if len(traces) != 2 || !strings.Contains(traces[0], `"COMPLETE"`) || !strings.Contains(traces[1], `"orders"`) {
		t.Errorf("destination traces %q, want a COMPLETE for users and orders", traces)
	}
	files := rt.spec(RoleDestination).Files
	cat := string(files[DestCatalogPath])
	if !strings.Contains(cat, `"minimum_generation_id":3`) || !strings.Contains(cat, `"destination_sync_mode":"overwrite"`) {
		t.Errorf("destination catalog %s, want the truncating catalog as given", cat)
	}
	if env := rt.spec(RoleDestination).Env; env["DATA_CHANNEL_MEDIUM"] != protocol.TransportStdio {
		t.Errorf("destination data channel %q, want STDIO", env["DATA_CHANNEL_MEDIUM"])
	}
}

// TestClearDestinationFailure: a destination that fails the clear fails
// the attempt with the destination as origin and its exit code.
func TestClearDestinationFailure(t *testing.T) {
	rt := &FakeRuntime{Destination: ScriptRun("", "cannot truncate\n", ExitStatus{Code: 2})}
	res, err := Clear(context.Background(), rt, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil || res.Status != StatusFailed {
		t.Fatalf("got %s (%v), want failed", res.Status, err)
	}
	if !hasFailure(res, protocol.OriginDestination, "", "exit code 2") {
		t.Errorf("failures %+v, want the destination's exit code 2", res.Failures)
	}
}

// TestClearCancel: cancelling a clear stops the destination and ends the
// attempt cancelled.
func TestClearCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	rt := &FakeRuntime{Destination: func(c context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		close(started)
		<-c.Done()
		return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
	}}
	go func() {
		<-started
		cancel()
	}()
	res, err := Clear(ctx, rt, baseConfig(&memCheckpointer{}, nil, "users"))
	if err == nil || res.Status != StatusCancelled {
		t.Fatalf("got %s (%v), want cancelled", res.Status, err)
	}
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

func socketStateLine(stream string, id int, partition string, cursor, count int) string {
	return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","id":%d,"partition_id":%q,"stream":{"stream_descriptor":{"name":%q},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":%d.0}}}`,
		id, partition, stream, cursor, count)
}

// socketDest acknowledges the given state ids, in that order, then exits
// with code. It never reads stdin (socket mode), but drains it so Ferry's
// close at the end does not block.
func socketDest(code int, ids ...int) func(context.Context, ConnectorSpec, Stdio) (ExitStatus, error) {
	return func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		for _, id := range ids {
			writeLines(stdio.Out, socketStateLine("users", id, "p1", id*10, 10))
		}
		return ExitStatus{Code: code}, nil
	}
}

// TestSocketBookkeeping: in socket mode an acknowledgement confirms only
// its own id and only the contiguous prefix is committed, whatever the
// arrival order of source states and acknowledgements.
func TestSocketBookkeeping(t *testing.T) {
	var states []string
	for id := 1; id <= 6; id++ {
		states = append(states, socketStateLine("users", id, "p1", id*10, 10))
	}
	for _, tc := range []struct {
		name       string
		acks       []int
		destCode   int
		wantCursor string
		wantErr    bool
	}{
		{"acks 1 2 4 5 then crash commit 2", []int{1, 2, 4, 5}, 1, `"cursor":20}`, true},
		{"out of order acks commit the prefix", []int{2, 1, 3, 6, 5, 4}, 0, `"cursor":60}`, false},
		{"a gap holds everything after it", []int{1, 3, 4, 5, 6}, 0, `"cursor":10}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := &memCheckpointer{}
			cfg := baseConfig(cp, nil, "users")
			cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
			res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, states...), Destination: socketDest(tc.destCode, tc.acks...)}, cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if got := stateJSON(t, cp.last()); !strings.Contains(got, tc.wantCursor) {
				t.Fatalf("committed %s, want %s", got, tc.wantCursor)
			}
			if res.Mode != protocol.ModeSocket || res.Sockets != 2 {
				t.Fatalf("result mode %s/%d, want socket/2", res.Mode, res.Sockets)
			}
		})
	}
}

// TestSocketModeEnv: both connectors get identical DATA_CHANNEL_* values
// and the socket volume; the destination gets the namespace mapping file.
func TestSocketModeEnv(t *testing.T) {
	rt := &FakeRuntime{Source: scriptedSource(0), Destination: socketDest(0)}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 3}
	cfg.Mapping = NamespaceMapping{Prefix: "raw_"}
	if _, err := Sync(context.Background(), rt, cfg); err != nil {
		t.Fatal(err)
	}
	src, dst := rt.spec(RoleSource), rt.spec(RoleDestination)
	for _, k := range []string{"DATA_CHANNEL_MEDIUM", "DATA_CHANNEL_FORMAT", "DATA_CHANNEL_SOCKET_PATHS"} {
		if src.Env[k] == "" || src.Env[k] != dst.Env[k] {
			t.Fatalf("%s: source %q, destination %q; want equal and set", k, src.Env[k], dst.Env[k])
		}
	}
	if want := "/var/run/sockets/airbyte_socket_1.sock,/var/run/sockets/airbyte_socket_2.sock,/var/run/sockets/airbyte_socket_3.sock"; src.Env["DATA_CHANNEL_SOCKET_PATHS"] != want {
		t.Fatalf("socket paths: got %s, want %s", src.Env["DATA_CHANNEL_SOCKET_PATHS"], want)
	}
	if src.SocketVolume == "" || src.SocketVolume != dst.SocketVolume {
		t.Fatalf("socket volume: source %q, destination %q", src.SocketVolume, dst.SocketVolume)
	}
	if got := string(dst.Files[DestNamespaceMapPath]); !strings.Contains(got, `"streamPrefix":"raw_"`) {
		t.Fatalf("namespace mapping: %s", got)
	}
}

// TestConnectorsRunUnbuffered: in every mode both connectors of a sync get
// PYTHONUNBUFFERED=1, so a Python destination's acknowledgements are not
// held back in an 8 KiB stdout buffer; the connector's own variables come
// on top.
func TestConnectorsRunUnbuffered(t *testing.T) {
	for name, mode := range map[string]Mode{"stdio": {}, "socket": {Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}} {
		t.Run(name, func(t *testing.T) {
			rt := &FakeRuntime{Source: scriptedSource(0), Destination: (&destRecorder{}).run}
			if mode.Mode == protocol.ModeSocket {
				rt.Destination = socketDest(0)
			}
			cfg := baseConfig(&memCheckpointer{}, nil, "users")
			cfg.Mode = mode
			cfg.Source.Env = map[string]string{"LOG_LEVEL": "DEBUG"}
			if _, err := Sync(context.Background(), rt, cfg); err != nil {
				t.Fatal(err)
			}
			for _, role := range []Role{RoleSource, RoleDestination} {
				if got := rt.spec(role).Env["PYTHONUNBUFFERED"]; got != "1" {
					t.Errorf("%s: PYTHONUNBUFFERED=%q, want 1", role, got)
				}
			}
			if got := rt.spec(RoleSource).Env["LOG_LEVEL"]; got != "DEBUG" {
				t.Errorf("source LOG_LEVEL=%q, want the connector's DEBUG", got)
			}
		})
	}
}

// TestSocketDestinationFailureStopsSource: in socket mode a destination
// that fails to start must stop the source, which would otherwise wait for
// a client on its sockets until its connect timeout.
func TestSocketDestinationFailureStopsSource(t *testing.T) {
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		<-ctx.Done() // listening, waiting for a destination that never comes
		return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		return ExitStatus{}, errors.New("create container: invalid mount config")
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	done := make(chan *Result, 1)
	go func() {
		res, _ := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst}, cfg)
		done <- res
	}()
	select {
	case res := <-done:
		if !hasFailure(res, protocol.OriginDestination, "", "invalid mount config") {
			t.Fatalf("failures %+v: want the destination's start failure", res.Failures)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sync hung with a failed destination")
	}
}

// TestSocketModeBytesFromStatsRecords: in socket mode the destination's
// stats records give the byte counts Ferry cannot see itself.
func TestSocketModeBytesFromStatsRecords(t *testing.T) {
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		writeLines(stdio.Out,
			`{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1,"isDummyStatsMessage":true,"emittedRecordsCount":10,"emittedBytesCount":2048}}`,
			socketStateLine("users", 1, "p1", 10, 10))
		return ExitStatus{}, nil
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	res, err := Sync(context.Background(), &FakeRuntime{Source: scriptedSource(0, socketStateLine("users", 1, "p1", 10, 10)), Destination: dst}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.BytesEmitted != 2048 || res.Stats.RecordsEmitted != 10 {
		t.Fatalf("stats: %d records, %d bytes; want 10 and 2048", res.Stats.RecordsEmitted, res.Stats.BytesEmitted)
	}
}

// TestSocketEarlyAckKeepsDestinationStats (G12): in socket mode the
// destination may acknowledge a state before Ferry reads the source's copy
// of it. The commit that follows books the acknowledgement's
// destinationStats, so the counts agree.
func TestSocketEarlyAckKeepsDestinationStats(t *testing.T) {
	ack := func(id int) string {
		return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","id":%d,"partition_id":"p1","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":10.0},"destinationStats":{"recordCount":10.0}}}`, id, id*10)
	}
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}
	cfg.FailOnCountMismatch = true
	ft := withFakeTime(&cfg, time.Hour)
	state1Written := make(chan struct{})
	src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		writeLines(stdio.Out, socketStateLine("users", 1, "p1", 10, 10))
		close(state1Written)
		// The destination is faster: its ack of state 2 is booked first.
		early := func(a *attempt) bool {
			a.ledger.mu.Lock()
			defer a.ledger.mu.Unlock()
			kb := a.ledger.book.keys[protocol.StreamDescriptor{Name: "users"}]
			return kb != nil && kb.acked[2] != nil
		}
		if !waitFor(ft, ctx.Done(), early) {
			return ExitStatus{Code: 143, Signalled: true}, ErrCancelled
		}
		writeLines(stdio.Out, socketStateLine("users", 2, "p1", 20, 10))
		return ExitStatus{}, nil
	}
	dst := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		go io.Copy(io.Discard, stdio.In)
		<-state1Written
		writeLines(stdio.Out, ack(1), ack(2))
		return ExitStatus{}, nil
	}
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: dst}, cfg)
	st := res.Stats.Streams[0]
	if err != nil || st.DestinationRecordCount != st.RecordsCommitted {
		t.Fatalf("err %v; destination count %d, committed %d (both acks carried destinationStats 10)", err, st.DestinationRecordCount, st.RecordsCommitted)
	}
}

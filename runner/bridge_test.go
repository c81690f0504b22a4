package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// bridgedSource listens on its sockets like a socket-mode source and
// writes partition p1 (ids 1..4) on socket 1 and p2 (ids 5..8) on socket 2.
// The state of p2 (source id 2) goes out on socket 1 before p2's records are
// all sent, and the state of p1 (id 1) on socket 2: Ferry must reorder.
func bridgedSource(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	var ls []net.Listener
	for _, p := range strings.Split(spec.Env["DATA_CHANNEL_SOCKET_PATHS"], ",") {
		l, err := net.Listen("unix", filepath.Join(spec.SocketVolume, filepath.Base(p)))
		if err != nil {
			return ExitStatus{Code: 1}, nil
		}
		defer l.Close()
		ls = append(ls, l)
	}
	var conns []net.Conn
	for _, l := range ls {
		c, err := l.Accept()
		if err != nil {
			return ExitStatus{Code: 1}, nil
		}
		conns = append(conns, c)
	}
	rec := func(id int, part string) string {
		return fmt.Sprintf(`{"type":"RECORD","record":{"stream":"users","data":{"id":%d},"emitted_at":1,"partition_id":%q}}`, id, part)
	}
	state := func(id int, part string, cursor int) string {
		return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","id":%d,"partition_id":%q,"stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":%d}},"sourceStats":{"recordCount":4.0}}}`, id, part, cursor)
	}
	writeLines(conns[0], rec(1, "p1"), rec(2, "p1"), state(2, "p2", 8), rec(3, "p1"), rec(4, "p1"))
	writeLines(conns[1], rec(5, "p2"), "", state(1, "p1", 4), rec(6, "p2"), rec(7, "p2"), rec(8, "p2"))
	writeLines(stdio.Out, state(1, "p1", 4), state(2, "p2", 8), `{"type":"LOG","log":{"level":"INFO","message":"done"}}`)
	for _, c := range conns {
		c.Close()
	}
	return ExitStatus{}, nil
}

// TestBridgedMode: Ferry reads the source's sockets and writes one stdio
// stream: records without partition_id, each state after its partition's
// records and in the source's id order, renumbered and counted by Ferry.
func TestBridgedMode(t *testing.T) {
	dst := &destRecorder{}
	cp := &memCheckpointer{}
	cfg := baseConfig(cp, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2}
	cfg.Timeouts.SocketConnect = 5 * time.Second
	rt := &FakeRuntime{Source: bridgedSource, Destination: dst.run}
	res, err := Sync(context.Background(), rt, cfg)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rt.spec(RoleDestination).Env["DATA_CHANNEL_MEDIUM"] != "STDIO" || rt.spec(RoleSource).Env["DATA_CHANNEL_MEDIUM"] != "SOCKET" {
		t.Fatalf("media: source %s, destination %s", rt.spec(RoleSource).Env["DATA_CHANNEL_MEDIUM"], rt.spec(RoleDestination).Env["DATA_CHANNEL_MEDIUM"])
	}
	var seen int
	var states []string
	for _, l := range dst.input {
		env, _ := protocol.ScanEnvelope([]byte(l))
		switch env.Type {
		case protocol.TypeRecord:
			seen++
			if strings.Contains(l, "partition_id") {
				t.Fatalf("a record kept its partition_id: %s", l)
			}
		case protocol.TypeState:
			states = append(states, fmt.Sprintf("after %d records: %s", seen, l))
			if strings.Contains(l, "partition_id") {
				t.Fatalf("a state kept its partition_id: %s", l)
			}
		}
	}
	if seen != 8 || len(states) != 2 {
		t.Fatalf("got %d records and states %v; want 8 and 2", seen, states)
	}
	if !strings.Contains(states[0], `"id":1}`) || !strings.Contains(states[0], `"cursor":4`) || !strings.Contains(states[1], `"cursor":8`) {
		t.Fatalf("states out of order or not renumbered: %v", states)
	}
	if !strings.HasPrefix(states[1], "after 8 records") {
		t.Fatalf("the second state came before its partition's records: %s", states[1])
	}
	if got := stateJSON(t, cp.last()); !strings.Contains(got, `"cursor":8}`) {
		t.Fatalf("committed %s", got)
	}
	if res.Mode != protocol.ModeBridged || res.Stats.RecordsEmitted != 8 {
		t.Fatalf("result: mode %s, %d records", res.Mode, res.Stats.RecordsEmitted)
	}
	if _, err := os.Stat(rt.spec(RoleSource).SocketVolume); !os.IsNotExist(err) {
		t.Fatalf("the bridge directory was left behind: %v", err)
	}
}

// TestStripPartition removes partition_id wherever it sits in the record.
func TestStripPartition(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"RECORD","record":{"stream":"s","partition_id":"ab","data":{}}}`: `{"type":"RECORD","record":{"stream":"s","data":{}}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{},"partition_id":"ab"}}`: `{"type":"RECORD","record":{"stream":"s","data":{}}}`,
		`{"type":"RECORD","record":{"partition_id":"ab"}}`:                        `{"type":"RECORD","record":{}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{"partition_id":1}}}`:     `{"type":"RECORD","record":{"stream":"s","data":{"partition_id":1}}}`,
	} {
		if got := string(stripPartition([]byte(in))); got != want {
			t.Errorf("stripPartition(%s):\n got %s\nwant %s", in, got, want)
		}
	}
}

// TestBridgeForgetsReleasedPartitions: the merger forgets a partition once its state is released, so a
// long bridged sync does not grow with its number of states (G10).
func TestBridgeForgetsReleasedPartitions(t *testing.T) {
	b := &bridge{a: testAttempt()}
	items := make(chan *bridgeBatch)
	done := make(chan error, 1)
	go func() { done <- b.merge(items, bufio.NewWriter(io.Discard)) }()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			p := fmt.Sprintf("part-%07d", i)
			id := int64(i + 1)
			items <- &bridgeBatch{items: []bridgeItem{
				{line: []byte(`{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1}}`), typ: protocol.TypeRecord, partition: p},
				{line: []byte(`{}`), typ: protocol.TypeState, partition: p,
					state: &protocol.State{Type: protocol.StateStream, ID: &id, Stream: &protocol.StreamState{StreamDescriptor: protocol.StreamDescriptor{Name: "users"}},
						SourceStats: &protocol.StateStats{RecordCount: protocol.NewCount(1)}}},
			}}
		}
	}
	send(0, 1000)
	before := heap()
	send(1000, 101000)
	after := heap()
	close(items)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if grown := int64(after) - int64(before); grown > 2<<20 {
		t.Fatalf("the bridge's memory grew by %d KiB over 100,000 released states", grown>>10)
	}
}

// TestBridgeStopsDialingWhenTheSourceExits: a source that fails at startup
// and never listens ends the bridge's dialling at once; Ferry does not wait
// out SocketConnect (the clock never moves here).
func TestBridgeStopsDialingWhenTheSourceExits(t *testing.T) {
	cfg := baseConfig(&memCheckpointer{}, nil, "users")
	cfg.Mode = Mode{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2}
	cfg.Timeouts.SocketConnect = time.Minute
	withFakeTime(&cfg, time.Hour)
	src := scriptedSource(1, `{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"bad config","failure_type":"config_error"}}}`)
	res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: (&destRecorder{}).run}, cfg)
	if err == nil {
		t.Fatal("got success, want failure")
	}
	if !hasFailure(res, protocol.OriginSource, "", "exited before listening") || hasFailure(res, "", "", "never listened") {
		t.Fatalf("failures %+v: want the source's exit before listening, not a connect timeout", res.Failures)
	}
}

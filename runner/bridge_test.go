package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
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
	time.Sleep(20 * time.Millisecond)
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
	rt := &fakeRuntime{source: bridgedSource, destination: dst.run}
	res, err := Sync(context.Background(), rt, cfg)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rt.specs[RoleDestination].Env["DATA_CHANNEL_MEDIUM"] != "STDIO" || rt.specs[RoleSource].Env["DATA_CHANNEL_MEDIUM"] != "SOCKET" {
		t.Fatalf("media: source %s, destination %s", rt.specs[RoleSource].Env["DATA_CHANNEL_MEDIUM"], rt.specs[RoleDestination].Env["DATA_CHANNEL_MEDIUM"])
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
	if _, err := os.Stat(rt.specs[RoleSource].SocketVolume); !os.IsNotExist(err) {
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

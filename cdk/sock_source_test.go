package cdk

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// TestSocketGlobalStates: a GLOBAL source numbers its states with one
// counter across streams and partitions, contiguous from 1 in stdout
// order, each with the partition it closes; the destination acknowledges
// them all, in order.
func TestSocketGlobalStates(t *testing.T) {
	socketEnv(t, FormatProtobuf, 2)
	src := syncSource(true)
	cfg := writeFile(t, "c.json", `{"count":1}`)
	cat := catalogOf(t, src.streams...)
	d := &memDest{}
	s, dst := runSocketPair(t, src, []string{"read", "--config", cfg, "--catalog", cat}, d, []string{"write", "--config", cfg, "--catalog", cat})
	if s.code != ExitOK || dst.code != ExitOK {
		t.Fatalf("exit codes %d and %d: %s %s", s.code, dst.code, s.stdout, dst.stdout)
	}
	var sent, got []int64
	parts := map[string]bool{}
	total := 0.0
	for _, m := range s.ofType(protocol.TypeState) {
		if m.State.Kind() != protocol.StateGlobal || m.State.PartitionID == "" || parts[m.State.PartitionID] {
			t.Fatalf("want GLOBAL states with a fresh partition_id each: %+v", m.State)
		}
		parts[m.State.PartitionID] = true
		sent = append(sent, *m.State.ID)
		total += float64(*m.State.SourceStats.RecordCount)
	}
	for i, id := range sent {
		if id != int64(i+1) {
			t.Fatalf("state ids %v: want 1..%d in order", sent, len(sent))
		}
	}
	for _, m := range dst.ofType(protocol.TypeState) {
		got = append(got, *m.State.ID)
	}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}
	if total != 2500+700+1300+3 {
		t.Errorf("sourceStats sum to %v, want every record", total)
	}
}

// TestSocketPathSafety: a stale socket file is replaced, anything else at
// a socket path is left alone and fails the read.
func TestSocketPathSafety(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 2, EnvSocketTimeout, "200ms")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: paths[0], Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // a stale socket file, as a killed source leaves it
	if err := os.WriteFile(paths[1], []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := &testSource{streams: []Stream{countingStream("a", 3, 0, false)}}
	cat := configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "a")
	res := runCmd(t, src, "", "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", cat)
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "is not a socket") {
		t.Errorf("got exit %d, %s; want 1 and a refusal", res.code, res.stdout)
	}
	if b, err := os.ReadFile(paths[1]); err != nil || string(b) != "precious" {
		t.Errorf("the file at the socket path was touched: %q, %v", b, err)
	}
	if err := prepareSocketPath(paths[0]); err != nil {
		t.Errorf("stale socket: %v", err)
	}
	if _, err := os.Lstat(paths[0]); !os.IsNotExist(err) {
		t.Errorf("stale socket not removed: %v", err)
	}
}

// TestSocketSourceFailure: a failing partition stops the read with its
// stream's INCOMPLETE status (on stdout and the socket); the destination
// sees the sockets end, acknowledges what was complete, and finishes
// nothing as complete.
func TestSocketSourceFailure(t *testing.T) {
	socketEnv(t, FormatJSONL, 2)
	boom := &testStream{name: "b", read: func(ctx context.Context, req *ReadRequest, out *Emitter) error {
		if err := out.Record([]byte(`{"id":1}`)); err != nil {
			return err
		}
		if err := out.Checkpoint([]byte(`{"cursor":1}`)); err != nil {
			return err
		}
		return errors.New("the API went away")
	}}
	src := &testSource{streams: []Stream{boom}}
	cfg := writeFile(t, "c.json", `{"count":1}`)
	cat := configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "b")
	d := &memDest{}
	s, dst := runSocketPair(t, src, []string{"read", "--config", cfg, "--catalog", cat}, d, []string{"write", "--config", cfg, "--catalog", cat})
	traces := s.errorTraces()
	if s.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "the API went away") {
		t.Errorf("source: exit %d, %s", s.code, s.stdout)
	}
	if got := statusesOf(s, "b"); got[len(got)-1] != protocol.StreamIncomplete {
		t.Errorf("statuses %v: want INCOMPLETE last", got)
	}
	if dst.code != ExitOK || len(dst.ofType(protocol.TypeState)) != 1 {
		t.Errorf("destination: exit %d, %s; want 0 and the one state acknowledged", dst.code, dst.stdout)
	}
	if !cmp.Equal(d.events[len(d.events)-2:], []string{"finish b false", "close"}) {
		t.Errorf("events %v: want b finished as incomplete", d.events)
	}
}

// TestSocketDestinationGone: when the destination dies, the source's
// writes fail and it stops with an error that says so.
func TestSocketDestinationGone(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 1)
	src := &testSource{streams: []Stream{&genStream{name: "users", n: 2_000_000, every: 1000}}}
	cat := catalogOf(t, src.streams...)
	done := make(chan result)
	go func() {
		done <- runCmd(t, src, "", "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", cat)
	}()
	conns, err := dialSockets(context.Background(), paths, 10e9)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	if _, err := conns[0].Read(buf); err != nil {
		t.Fatal(err)
	}
	conns[0].Close()
	res := <-done
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "went away") {
		t.Errorf("got exit %d, traces %+v; want 1 and a write error", res.code, traces)
	}
}

// TestSocketStopWhileBlocked: a source blocked writing to a destination
// that stopped reading still stops promptly on SIGTERM (143).
func TestSocketStopWhileBlocked(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 1)
	src := &testSource{streams: []Stream{&genStream{name: "users", n: 10_000_000, every: 1000}}}
	cat := catalogOf(t, src.streams...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, src, []string{"read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", cat},
			Stdio{Out: io.Discard, Err: io.Discard}, fixedNow)
	}()
	conns, err := dialSockets(context.Background(), paths, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conns[0].Close()
	time.Sleep(300 * time.Millisecond) // the socket fills up; nobody reads
	cancel()
	select {
	case code := <-done:
		if code != ExitTerminated {
			t.Errorf("exit %d, want %d", code, ExitTerminated)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the source did not stop within 5s of its context ending")
	}
}

package cdk

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// Socket-mode destination tests: the test plays the source, listening on
// the sockets and writing hand-made JSONL.

// sRec is a record of stream with id in partition.
func sRec(stream, partition string, id int) string {
	return fmt.Sprintf(`{"type":"RECORD","record":{"stream":%q,"partition_id":%q,"data":{"id":%d},"emitted_at":1}}`, stream, partition, id)
}

// sState is a STREAM state with its id, partition and count.
func sState(stream string, id int, partition string, count int) string {
	return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":%q},"stream_state":{"n":%d}},"sourceStats":{"recordCount":%d.0},"id":%d,"partition_id":%q}}`,
		stream, id, count, id, partition)
}

func sComplete(stream string) string {
	return fmt.Sprintf(`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":%q},"status":"COMPLETE"}}}`, stream)
}

// fakeSource accepts the destination on every socket.
func fakeSource(t *testing.T, paths []string) []*net.UnixConn {
	t.Helper()
	conns, err := listenSockets(context.Background(), paths, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

func send(t *testing.T, c net.Conn, lines ...string) {
	t.Helper()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
}

// startWrite runs a write of memDest d in the background; wait returns
// its result.
func startWrite(t *testing.T, d *memDest, streams ...string) (out *syncBuffer, wait func() result) {
	t.Helper()
	args := []string{"write", "--config", writeFile(t, "c.json", `{"count":1}`),
		"--catalog", configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, streams...)}
	out = &syncBuffer{}
	done := make(chan int)
	go func() { done <- runRaw(d, Stdio{In: eofReader{}, Out: out, Err: &syncBuffer{}}, args...) }()
	return out, func() result {
		select {
		case code := <-done:
			return parseResult(t, code, out.String(), "")
		case <-time.After(time.Minute): // a hang guard only
			t.Fatal("the destination did not exit")
			return result{}
		}
	}
}

// acked lists the "stream/id" of the acknowledgements in out so far.
func acked(t *testing.T, out *syncBuffer) []string {
	res := parseResult(t, 0, out.String(), "")
	got := []string{}
	for _, m := range res.ofType(protocol.TypeState) {
		got = append(got, fmt.Sprintf("%s/%d", m.State.Stream.StreamDescriptor.Name, *m.State.ID))
	}
	return got
}

// waitAcks waits until the acknowledgements are want, and stay so.
func waitAcks(t *testing.T, out *syncBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cmp.Equal(want, acked(t, out)) {
		if time.Now().After(deadline) {
			t.Fatalf("acks: got %v, want %v", acked(t, out), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // many flush intervals: nothing more may come
	if got := acked(t, out); !cmp.Equal(want, got) {
		t.Fatalf("acks went on to %v, want them to stay %v", got, want)
	}
}

// TestSocketReleaseInOrder holds a state back while its partition's
// records are missing, with the states after it, even though those are
// releasable: acks 1 and 2 go out, 4 and 5 wait for 3. A COMPLETE that
// overtakes its stream's records on another socket takes effect only once
// every socket is at its end.
func TestSocketReleaseInOrder(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 2)
	d := &memDest{opts: WriteOptions{FlushInterval: 10 * time.Millisecond}}
	out, wait := startWrite(t, d, "a", "b")
	c := fakeSource(t, paths)
	send(t, c[0], sRec("a", "p1", 1), sRec("a", "p1", 2), sState("a", 1, "p1", 2), sRec("a", "p2", 3), sState("a", 2, "p2", 1))
	send(t, c[1], sState("a", 3, "p3", 2), sRec("a", "p4", 6), sRec("a", "p4", 7), sState("a", 4, "p4", 2),
		sRec("a", "p5", 8), "", sState("a", 5, "p5", 1), sComplete("b"))
	waitAcks(t, out, "a/1", "a/2")
	send(t, c[0], sRec("a", "p3", 4), sRec("a", "p3", 5), sRec("b", "q1", 1), sState("b", 1, "q1", 1))
	waitAcks(t, out, "a/1", "a/2", "a/3", "a/4", "a/5", "b/1")
	c[0].Close()
	c[1].Close()
	res := wait()
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stdout)
	}
	if n := len(d.records["a"]); n != 8 {
		t.Errorf("got %d records of a, want 8", n)
	}
	events := d.events[len(d.events)-3:]
	if diff := cmp.Diff([]string{"finish a false", "finish b true", "close"}, events); diff != "" {
		t.Errorf("end events (-want +got):\n%s", diff)
	}
	st := res.ofType(protocol.TypeState)[2].State
	if st.PartitionID != "p3" || string(st.Extra[keyCommittedRecords]) != "5" || *st.DestinationStats.RecordCount != 2 {
		t.Errorf("ack 3: partition %q, committedRecordsCount %s, destinationStats %v; want p3, 5, 2",
			st.PartitionID, st.Extra[keyCommittedRecords], *st.DestinationStats.RecordCount)
	}
}

// TestSocketInputErrors: socket mode needs keys on records and states.
func TestSocketInputErrors(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"record without partition", `{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1}}`, "without partition_id"},
		{"state without id", `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}},"sourceStats":{"recordCount":0},"partition_id":"p"}}`, "without both id and partition_id"},
		{"state without partition", `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}},"sourceStats":{"recordCount":0},"id":1}}`, "without both id and partition_id"},
		{"state without count", `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}},"id":1,"partition_id":"p"}}`, "sourceStats must be set"},
		{"duplicate id", sState("a", 1, "p", 5) + "\n" + sState("a", 1, "q", 0), "already pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := socketEnv(t, FormatJSONL, 1)
			d := &memDest{}
			_, wait := startWrite(t, d, "a")
			c := fakeSource(t, paths)
			send(t, c[0], tt.line)
			res := wait()
			c[0].Close()
			traces := res.errorTraces()
			if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, tt.want) {
				t.Errorf("got exit %d, %s; want 1 and an error containing %q", res.code, res.stdout, tt.want)
			}
		})
	}
}

// TestSocketLegacyIgnored: a LEGACY state has no key in socket mode; it is
// skipped with a warning, never acknowledged, and does not fail the sync.
func TestSocketLegacyIgnored(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 1)
	d := &memDest{}
	_, wait := startWrite(t, d, "a")
	c := fakeSource(t, paths)
	send(t, c[0], sRec("a", "p", 1), `{"type":"STATE","state":{"data":{"a":1}}}`)
	c[0].Close()
	res := wait()
	if res.code != ExitOK || len(res.ofType(protocol.TypeState)) != 0 || !strings.Contains(res.stdout, "ignoring LEGACY") {
		t.Errorf("got exit %d, %s; want 0, no ack and a warning", res.code, res.stdout)
	}
}

// TestSocketTimeouts: a destination without a source, and a source
// without a destination, each fail with a clear error after the timeout.
func TestSocketTimeouts(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 2, EnvSocketTimeout, "300ms")
	start := time.Now()
	res := runWrite(t, &memDest{}, "", "a")
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "did not accept a connection within 300ms") {
		t.Errorf("destination: got exit %d, %s", res.code, res.stdout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the destination gave up after %v, want about 300ms", d)
	}
	src := &testSource{streams: []Stream{countingStream("a", 3, 0, false)}}
	cat := configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, "a")
	res = runCmd(t, src, "", "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", cat)
	traces = res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "no destination connected within 300ms") {
		t.Errorf("source: got exit %d, %s", res.code, res.stdout)
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("socket %s left behind", p)
		}
	}
}

// TestSocketDummyStats: a socket-mode destination reports what it has
// received per stream on stdout, as flagged RECORD messages, until the
// stream completes.
func TestSocketDummyStats(t *testing.T) {
	old := statsEvery
	statsEvery = 30 * time.Millisecond
	t.Cleanup(func() { statsEvery = old })
	paths := socketEnv(t, FormatJSONL, 1)
	d := &memDest{}
	out, wait := startWrite(t, d, "a", "b")
	c := fakeSource(t, paths)
	send(t, c[0], sRec("a", "p", 1), sRec("a", "p", 2), sComplete("b"))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"emittedRecordsCount":2`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c[0].Close()
	res := wait()
	var stats []*protocol.Record
	for _, m := range res.ofType(protocol.TypeRecord) {
		stats = append(stats, m.Record)
	}
	if len(stats) == 0 {
		t.Fatalf("no stats records on stdout: %s", res.stdout)
	}
	// Each report lists a, then b while it is not complete: a last report
	// that ends with a means b was no longer reported.
	last := stats[len(stats)-1]
	if last.Stream != "a" || string(last.Extra["isDummyStatsMessage"]) != "true" || string(last.Extra["emittedRecordsCount"]) != "2" ||
		string(last.Extra["emittedBytesCount"]) == "0" || string(last.Data) != "{}" {
		t.Errorf("stats record %+v; want stream a, flagged, 2 records and their bytes", last)
	}
	res.validate(t)
}

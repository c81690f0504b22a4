package cdk

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// Socket-mode destination tests of Ferry's COMPLETE confirmations
// (dest_confirm.go).

// startWriteIn runs a write of dst with stdin and the catalog file in the
// background; wait returns its result.
func startWriteIn(t *testing.T, dst Connector, stdin io.Reader, catalog string) (wait func() result) {
	t.Helper()
	args := []string{"write", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", catalog}
	out := &syncBuffer{}
	done := make(chan int)
	go func() { done <- runRaw(dst, Stdio{In: stdin, Out: out, Err: &syncBuffer{}}, args...) }()
	return func() result {
		select {
		case code := <-done:
			return parseResult(t, code, out.String(), "")
		case <-time.After(time.Minute): // a hang guard only
			t.Fatal("the destination did not exit")
			return result{}
		}
	}
}

// TestSocketCompleteNeedsFerry (G5): with EnvCompleteOnStdin a socket
// COMPLETE finalises nothing by itself. A stream is finalised only when
// Ferry's COMPLETE for it came on stdin (under the source's name, also
// with a namespace mapping), and only after every socket ended, so that
// no record still in flight misses the finalised stream. Stdin ending
// without a confirmation (the source failed) finishes the stream as
// incomplete, and its acknowledged states are still acknowledged.
func TestSocketCompleteNeedsFerry(t *testing.T) {
	tests := []struct {
		name    string
		stdin   string
		socket  []string // after the records and states of a and b
		mapping string
		want    []string // the end events
	}{
		{name: "the source failed: no confirmation", socket: []string{sComplete("a"), sComplete("b")},
			want: []string{"finish a false", "finish b false", "close"}},
		{name: "confirmed", stdin: input("c:a", "c:b"), socket: []string{sComplete("a"), sComplete("b")},
			want: []string{"finish a true", "finish b true", "close"}},
		{name: "confirmed without a socket COMPLETE", stdin: input("c:a"),
			want: []string{"finish a true", "finish b false", "close"}},
		{name: "one stream confirmed", stdin: input("c:b"), socket: []string{sComplete("a"), sComplete("b")},
			want: []string{"finish a false", "finish b true", "close"}},
		{name: "confirmed under the source's name", stdin: input("c:a", "c:b"), socket: []string{sComplete("a")},
			mapping: `{"namespaceDefinitionType":"source","streamPrefix":"pre_"}`,
			want:    []string{"finish pre_a true", "finish pre_b true", "close"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := []string{EnvCompleteOnStdin, "true"}
			if tt.mapping != "" {
				extra = append(extra, EnvNamespaceMapping, writeFile(t, "mapping.json", tt.mapping))
			}
			paths := socketEnv(t, FormatJSONL, 2, extra...)
			d := &memDest{}
			stdin, ferry := io.Pipe()
			wait := startWriteIn(t, d, stdin, configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestOverwrite, "a", "b"))
			c := fakeSource(t, paths)
			// Ferry's confirmations and the end of stdin come before the
			// records: the records must still all be written before the
			// streams finish. (Ferry closes stdin only after the source
			// exited, which it cannot do before the destination connected.)
			go func() {
				io.WriteString(ferry, tt.stdin)
				ferry.Close()
			}()
			send(t, c[0], sRec("a", "p1", 1), sRec("a", "p1", 2), sState("a", 1, "p1", 2))
			send(t, c[1], append([]string{sRec("b", "q1", 1), sState("b", 1, "q1", 1)}, tt.socket...)...)
			c[0].Close()
			c[1].Close()
			res := wait()
			if res.code != ExitOK {
				t.Fatalf("exit %d: %s", res.code, res.stdout)
			}
			if got := len(res.ofType(protocol.TypeState)); got != 2 {
				t.Errorf("%d acknowledgements, want both states acknowledged: %s", got, res.stdout)
			}
			if n := len(d.events); n < len(tt.want) || !cmp.Equal(tt.want, d.events[n-len(tt.want):]) {
				t.Fatalf("events %v, want them to end with %v", d.events, tt.want)
			}
			var recs int
			for _, rs := range d.records {
				recs += len(rs)
			}
			if recs != 3 {
				t.Errorf("%d records written before the end, want 3", recs)
			}
		})
	}
}

// TestSocketCompleteWithoutFerry: without EnvCompleteOnStdin (another
// platform) the source's COMPLETE on the sockets finalises the stream, as
// with Airbyte's destinations, and stdin is not read.
func TestSocketCompleteWithoutFerry(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 1)
	d := &memDest{}
	wait := startWriteIn(t, d, failingReader{t}, configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestOverwrite, "a"))
	c := fakeSource(t, paths)
	send(t, c[0], sRec("a", "p1", 1), sState("a", 1, "p1", 1), sComplete("a"))
	c[0].Close()
	res := wait()
	if res.code != ExitOK || !cmp.Equal([]string{"finish a true", "close"}, d.events[len(d.events)-2:]) {
		t.Fatalf("exit %d, events %v; want a finished complete", res.code, d.events)
	}
}

// TestSocketSourceGoneBeforeConnect: under Ferry, stdin ending while the
// destination still waits for the source's sockets means the source is
// gone without ever listening (it failed at its start); the destination
// fails at once instead of polling until its connect timeout.
func TestSocketSourceGoneBeforeConnect(t *testing.T) {
	socketEnv(t, FormatJSONL, 2, EnvCompleteOnStdin, "true", EnvSocketTimeout, "1h")
	d := &memDest{}
	res := startWriteIn(t, d, strings.NewReader(""), configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestOverwrite, "a"))()
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "the source ended before it accepted the destination") {
		t.Fatalf("exit %d, %s; want a failure naming the source's end", res.code, res.stdout)
	}
	if !cmp.Equal([]string{"open a", "finish a false", "close"}, d.events) {
		t.Errorf("events %v: want the stream finished as incomplete", d.events)
	}
}

// failingReader fails the test when read.
type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("stdin was read")
	return 0, io.EOF
}

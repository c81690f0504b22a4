package cdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// memDest records what the kit asks of its writer.
type memDest struct {
	events  []string
	records map[string][]string // stream -> record data
	opts    WriteOptions
	failOn  string // fail the Write of this stream
	openErr error
}

func (d *memDest) Spec() *protocol.Spec                          { return testSpec }
func (d *memDest) Check(ctx context.Context, req *Request) error { return nil }
func (d *memDest) Open(ctx context.Context, req *WriteRequest) (Writer, error) {
	if d.openErr != nil {
		return nil, d.openErr
	}
	d.records = map[string][]string{}
	return &memWriter{d: d}, nil
}

type memWriter struct{ d *memDest }

func (w *memWriter) WriteOptions() WriteOptions { return w.d.opts }

func (w *memWriter) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error) {
	w.d.events = append(w.d.events, "open "+s.Stream.Name)
	return &memStream{d: w.d, name: s.Stream.Name}, nil
}

func (w *memWriter) Close(ctx context.Context) error {
	w.d.events = append(w.d.events, "close")
	return nil
}

type memStream struct {
	d    *memDest
	name string
}

func (s *memStream) Write(ctx context.Context, batch []Record) error {
	if s.d.failOn == s.name {
		return errors.New("disk full")
	}
	for _, r := range batch {
		f, err := r.Fields()
		if err != nil {
			return err
		}
		s.d.records[s.name] = append(s.d.records[s.name], string(f.Data))
	}
	s.d.events = append(s.d.events, fmt.Sprintf("write %s %d", s.name, len(batch)))
	return nil
}

func (s *memStream) Flush(ctx context.Context) error {
	s.d.events = append(s.d.events, "flush "+s.name)
	return nil
}

func (s *memStream) Finish(ctx context.Context, complete bool) error {
	s.d.events = append(s.d.events, fmt.Sprintf("finish %s %v", s.name, complete))
	return nil
}

// input builds destination stdin: "r:a:1" is a record of stream a with
// id 1, "s:a:7:2" a STREAM state of a with id 7 and recordCount 2,
// "g:3:5" a GLOBAL state with id 3 and count 5, "c:a" a COMPLETE status.
func input(items ...string) string {
	var b strings.Builder
	for _, it := range items {
		f := strings.Split(it, ":")
		switch f[0] {
		case "r":
			fmt.Fprintf(&b, `{"type":"RECORD","record":{"stream":%q,"data":{"id":%s},"emitted_at":1}}`, f[1], f[2])
		case "s":
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":%q},"stream_state":{"n":%s}},"sourceStats":{"recordCount":%s.0},"id":%s}}`, f[1], f[2], f[3], f[2])
		case "g":
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{},"stream_states":[{"stream_descriptor":{"name":"a"},"stream_state":{}}]},"sourceStats":{"recordCount":%s.0},"id":%s}}`, f[2], f[1])
		case "c":
			fmt.Fprintf(&b, `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":%q},"status":"COMPLETE"}}}`, f[1])
		default:
			b.WriteString(it)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func runWrite(t *testing.T, d *memDest, stdin string, streams ...string) result {
	t.Helper()
	return runCmd(t, d, stdin, "write", "--config", writeFile(t, "c.json", `{"count":1}`),
		"--catalog", configuredCatalog(t, protocol.SyncFullRefresh, protocol.DestAppend, streams...))
}

func ackIDs(r result) []int64 {
	out := []int64{}
	for _, m := range r.ofType(protocol.TypeState) {
		out = append(out, *m.State.ID)
	}
	return out
}

// TestWriteAcksAfterFlush echoes every state in order, each after a flush
// of its records, honours COMPLETE, and finishes a stream without it as
// incomplete.
func TestWriteAcksAfterFlush(t *testing.T) {
	d := &memDest{opts: WriteOptions{FlushEveryState: true}}
	res := runWrite(t, d, input("r:a:1", "r:b:2", "s:a:1:1", "r:a:3", "not json at all", "s:b:2:1", "s:a:3:1", "c:a"), "a", "b")
	if res.code != ExitOK {
		t.Fatalf("exit code %d, want 0: %s", res.code, res.stdout)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, ackIDs(res)); diff != "" {
		t.Errorf("acks mismatch (-want +got):\n%s", diff)
	}
	want := []string{"open a", "open b",
		"write a 1", "flush a", "write b 1", "flush b", // state 1 flushes everything pending
		"write a 1", "flush a", // state 2 (b) finds b already flushed
		"finish a true",
		"finish b false", "close"}
	if diff := cmp.Diff(want, d.events); diff != "" {
		t.Errorf("writer events mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"a": {`{"id":1}`, `{"id":3}`}, "b": {`{"id":2}`}}, d.records); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	acks := res.ofType(protocol.TypeState)
	st := acks[2].State
	if st.DestinationStats == nil || *st.DestinationStats.RecordCount != 1 || string(st.Extra[keyCommittedRecords]) != "2" {
		t.Errorf("third ack: got destinationStats %+v and committedRecordsCount %s, want 1 and 2", st.DestinationStats, st.Extra[keyCommittedRecords])
	}
	res.validate(t)
}

// TestWriteGlobal acknowledges GLOBAL states once every stream flushed.
func TestWriteGlobal(t *testing.T) {
	d := &memDest{}
	res := runWrite(t, d, input("r:a:1", "r:b:2", "g:1:2", "r:b:3", "g:2:1"), "a", "b")
	if res.code != ExitOK {
		t.Fatalf("exit code %d, want 0: %s", res.code, res.stdout)
	}
	if diff := cmp.Diff([]int64{1, 2}, ackIDs(res)); diff != "" {
		t.Errorf("acks mismatch (-want +got):\n%s", diff)
	}
}

// TestWriteStalledState fails at the end when a state's count can never
// be met, after acknowledging the states before it.
func TestWriteStalledState(t *testing.T) {
	d := &memDest{}
	res := runWrite(t, d, input("r:a:1", "s:a:1:1", "r:a:2", "s:a:2:5", "r:a:3", "s:a:3:1"), "a")
	if res.code != ExitFailure {
		t.Errorf("exit code: got %d, want 1", res.code)
	}
	if diff := cmp.Diff([]int64{1}, ackIDs(res)); diff != "" {
		t.Errorf("acks mismatch (-want +got):\n%s", diff)
	}
	traces := res.errorTraces()
	if len(traces) != 1 || !strings.Contains(traces[0].Message, "never acknowledged") {
		t.Errorf("got traces %s, want one about states never acknowledged", res.stdout)
	}
}

// TestWriteFailures covers input and writer errors: each is an ERROR
// trace and exit 1, and the writer is still finished and closed.
func TestWriteFailures(t *testing.T) {
	tests := []struct {
		name  string
		d     *memDest
		in    string
		wantT string
	}{
		{"record of an unknown stream", &memDest{}, input("r:zzz:1"), "not in the configured catalog"},
		{"state of an unknown stream", &memDest{}, input("s:zzz:1:0"), "not in the configured catalog"},
		{"writer error", &memDest{failOn: "a"}, input("r:a:1", "s:a:1:1"), "disk full"},
		{"mixed state types", &memDest{}, input("s:a:1:0", "g:2:0"), "cannot mix"},
		{"record after COMPLETE", &memDest{}, input("c:a", "r:a:1"), "after its COMPLETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runWrite(t, tt.d, tt.in, "a")
			if res.code != ExitFailure {
				t.Errorf("exit code: got %d, want 1", res.code)
			}
			traces := res.errorTraces()
			if len(traces) != 1 || !strings.Contains(traces[0].Message+traces[0].InternalMessage, tt.wantT) {
				t.Errorf("got traces %s, want one containing %q", res.stdout, tt.wantT)
			}
			if n := len(tt.d.events); n == 0 || tt.d.events[n-1] != "close" {
				t.Errorf("writer events %v: want them to end with close", tt.d.events)
			}
		})
	}
}

// TestWriteHugeLine rejects a line over the limit.
func TestWriteHugeLine(t *testing.T) {
	d := &memDest{opts: WriteOptions{MaxLineBytes: 100}}
	res := runWrite(t, d, input(`{"type":"RECORD","record":{"stream":"a","data":{"x":"`+strings.Repeat("y", 200)+`"},"emitted_at":1}}`), "a")
	traces := res.errorTraces()
	if res.code != ExitFailure || len(traces) != 1 || !strings.Contains(traces[0].Message, "limit") {
		t.Errorf("got exit %d, traces %s; want 1 and a line-limit error", res.code, res.stdout)
	}
}

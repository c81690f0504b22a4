package cdk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// syncSource has partitioned streams (one with a namespace) and two plain
// ones, which the kit reads one after the other.
func syncSource(global bool) *testSource {
	return &testSource{global: global, streams: []Stream{
		&partGenStream{genStream{name: "users", n: 2500, every: 100}},
		&genStream{name: "plain", n: 700, every: 100},
		&partGenStream{genStream{name: "events", ns: "app", n: 1300, every: 250}},
		&genStream{name: "tiny", n: 3, every: 100},
	}}
}

// stdioRecords runs the same read and write through stdio, the reference.
func stdioRecords(t *testing.T, src *testSource, cfg, cat string) map[string][]string {
	t.Helper()
	useEnv(t, map[string]string{})
	read := runCmd(t, src, "", "read", "--config", cfg, "--catalog", cat)
	if read.code != ExitOK {
		t.Fatalf("stdio read: exit %d: %s", read.code, read.stdout)
	}
	d := &memDest{}
	if w := runCmd(t, d, read.stdout, "write", "--config", cfg, "--catalog", cat); w.code != ExitOK {
		t.Fatalf("stdio write: exit %d: %s", w.code, w.stdout)
	}
	return sorted(d.records)
}

func sorted(m map[string][]string) map[string][]string {
	for _, v := range m {
		slices.Sort(v)
	}
	return m
}

// TestSocketSync moves the same records over 1, 2 and 8 sockets in both
// formats as a stdio run does, and checks the wire rules: no record on
// source stdout, every state numbered per stream from 1 with its
// partition and count, each acknowledged once, in order, with its keys
// and counts, and every stream finished as complete.
func TestSocketSync(t *testing.T) {
	cfg := writeFile(t, "c.json", `{"count":1}`)
	cat := catalogOf(t, syncSource(false).streams...)
	want := stdioRecords(t, syncSource(false), cfg, cat)
	for _, format := range []string{FormatJSONL, FormatProtobuf} {
		for _, n := range []int{1, 2, 8} {
			t.Run(fmt.Sprintf("%s/%d", format, n), func(t *testing.T) {
				socketEnv(t, format, n)
				d := &memDest{}
				src, dst := runSocketPair(t, syncSource(false), []string{"read", "--config", cfg, "--catalog", cat},
					d, []string{"write", "--config", cfg, "--catalog", cat})
				if src.code != ExitOK || dst.code != ExitOK {
					t.Fatalf("exit codes %d and %d:\nsource: %s\ndestination: %s", src.code, dst.code, src.stdout, dst.stdout)
				}
				if diff := cmp.Diff(want, sorted(d.records)); diff != "" {
					t.Errorf("records differ from the stdio run (-want +got):\n%s", diff)
				}
				checkSocketStates(t, src, dst, map[string]int{"users": 2500, "plain": 700, "events": 1300, "tiny": 3})
				for _, name := range []string{"users", "plain", "events", "tiny"} {
					if !slices.Contains(d.events, "finish "+name+" true") {
						t.Errorf("stream %s was not finished as complete: %v", name, d.events[len(d.events)-6:])
					}
					if got := statusesOf(src, name); got[0] != "STARTED" || got[len(got)-1] != "COMPLETE" {
						t.Errorf("stream %s statuses %v: want STARTED first and COMPLETE last", name, got)
					}
				}
				src.validate(t)
				dst.validate(t)
			})
		}
	}
}

// protoDest is a memDest whose writer takes protobuf records as they are.
type protoDest struct{ memDest }

type protoWriter struct{ *memWriter }

func (protoWriter) ProtobufRecords() bool { return true }

func (d *protoDest) Open(ctx context.Context, req *WriteRequest) (Writer, error) {
	w, err := d.memDest.Open(ctx, req)
	return protoWriter{w.(*memWriter)}, err
}

func (w protoWriter) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error) {
	sw, err := w.memWriter.OpenStream(ctx, s)
	return protoStream{sw.(*memStream)}, err
}

// protoStream checks that records come as protobuf, then reads them
// through Fields like any writer.
type protoStream struct{ *memStream }

func (s protoStream) Write(ctx context.Context, batch []Record) error {
	for _, r := range batch {
		if r.Line != nil || r.Proto == nil {
			return fmt.Errorf("record of %s: want Proto set and no Line", r.Stream)
		}
	}
	return s.memStream.Write(ctx, batch)
}

// TestSocketProtobufRecords: a writer that implements ProtobufRecords
// gets records unconverted, and Fields still reads them.
func TestSocketProtobufRecords(t *testing.T) {
	cfg := writeFile(t, "c.json", `{"count":1}`)
	cat := catalogOf(t, syncSource(false).streams...)
	want := stdioRecords(t, syncSource(false), cfg, cat)
	socketEnv(t, FormatProtobuf, 2)
	d := &protoDest{}
	src, dst := runSocketPair(t, syncSource(false), []string{"read", "--config", cfg, "--catalog", cat},
		d, []string{"write", "--config", cfg, "--catalog", cat})
	if src.code != ExitOK || dst.code != ExitOK {
		t.Fatalf("exit codes %d and %d: %s", src.code, dst.code, dst.stdout)
	}
	if diff := cmp.Diff(want, sorted(d.records)); diff != "" {
		t.Errorf("records differ from the stdio run (-want +got):\n%s", diff)
	}
	checkSocketStates(t, src, dst, map[string]int{"users": 2500, "plain": 700, "events": 1300, "tiny": 3})
}

// checkSocketStates checks the states on source stdout and their
// acknowledgements on destination stdout.
func checkSocketStates(t *testing.T, src, dst result, records map[string]int) {
	t.Helper()
	if n := len(src.ofType(protocol.TypeRecord)); n > 0 {
		t.Errorf("source stdout carries %d records; in socket mode records go only to sockets", n)
	}
	type key struct {
		stream string
		id     int64
	}
	sent := map[key]*protocol.State{}
	counts := map[string]int{}
	for _, m := range src.ofType(protocol.TypeState) {
		st := m.State
		if st.ID == nil || st.PartitionID == "" || st.SourceStats == nil {
			t.Fatalf("source state without id, partition_id or sourceStats: %+v", st)
		}
		name := st.Stream.StreamDescriptor.Name
		if *st.ID != int64(len(stateIDs(sent, name))+1) {
			t.Errorf("stream %s: state id %d after %d states; ids must be contiguous from 1 in stdout order", name, *st.ID, len(stateIDs(sent, name)))
		}
		sent[key{name, *st.ID}] = st
		counts[name] += int(*st.SourceStats.RecordCount)
	}
	if diff := cmp.Diff(records, counts); diff != "" {
		t.Errorf("sourceStats.recordCount sums (-want +got):\n%s", diff)
	}
	last := map[string]int64{}
	acked := 0
	for _, m := range dst.ofType(protocol.TypeState) {
		st := m.State
		name := st.Stream.StreamDescriptor.Name
		s := sent[key{name, *st.ID}]
		switch {
		case s == nil:
			t.Errorf("ack of an unknown state %s/%d", name, *st.ID)
			continue
		case *st.ID != last[name]+1:
			t.Errorf("stream %s: ack %d after %d; acks must come in id order", name, *st.ID, last[name])
		case st.PartitionID != s.PartitionID:
			t.Errorf("stream %s ack %d: partition_id %q, want %q", name, *st.ID, st.PartitionID, s.PartitionID)
		case st.DestinationStats == nil || *st.DestinationStats.RecordCount != *s.SourceStats.RecordCount:
			t.Errorf("stream %s ack %d: destinationStats %+v, want recordCount %v", name, *st.ID, st.DestinationStats, *s.SourceStats.RecordCount)
		}
		last[name] = *st.ID
		acked++
		if int64(len(stateIDs(sent, name))) == *st.ID {
			if got, want := string(st.Extra[keyCommittedRecords]), fmt.Sprint(records[name]); got != want {
				t.Errorf("stream %s last ack: committedRecordsCount %s, want %s", name, got, want)
			}
		}
	}
	if acked != len(sent) {
		t.Errorf("%d acks for %d states", acked, len(sent))
	}
}

func stateIDs[K comparable](sent map[K]*protocol.State, stream string) []int64 {
	var out []int64
	for _, st := range sent {
		if st.Stream.StreamDescriptor.Name == stream {
			out = append(out, *st.ID)
		}
	}
	return out
}

// statusesOf lists a stream's statuses in order.
func statusesOf(r result, stream string) []string {
	var out []string
	for _, s := range r.statuses() {
		if name, status, _ := strings.Cut(s, ":"); name == stream {
			out = append(out, status)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

package cdk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// wireStream emits a record through Record, one with meta through Emit
// (with "note" missing), idles long enough for a probe, and checkpoints.
func wireStream() *testStream {
	return &testStream{name: "wire", read: func(ctx context.Context, req *ReadRequest, out *Emitter) error {
		if err := out.Record(genRecord(nil, "wire", 1)); err != nil {
			return err
		}
		rec := &protocol.Record{Stream: "wire", Namespace: "ns", EmittedAt: 5,
			Data: json.RawMessage(`{"id":2,"active":true,"tags":[]}`),
			Meta: &protocol.RecordMeta{Changes: []protocol.RecordChange{{Field: "note", Change: "NULLED", Reason: "SOURCE_FIELD_SIZE_LIMITATION"}}}}
		if err := out.Emit(&protocol.Message{Type: protocol.TypeRecord, Record: rec}); err != nil {
			return err
		}
		time.Sleep(10 * socketTick)
		return out.Checkpoint(json.RawMessage(`{"upto":2}`))
	}}
}

// wireSchemaStream gives wireStream genSchema and a namespace.
type wireSchemaStream struct{ *testStream }

func (s wireSchemaStream) Describe() protocol.Stream {
	return (&genStream{name: "wire", ns: "ns"}).Describe()
}

// captureSockets plays the destination: it connects to every path and
// returns everything each socket carried, while src reads.
func captureSockets(t *testing.T, paths []string, src Connector, args ...string) (result, [][]byte) {
	t.Helper()
	old := socketTick
	socketTick = 20 * time.Millisecond
	t.Cleanup(func() { socketTick = old })
	var out, errb bytes.Buffer
	var code int
	var wg sync.WaitGroup
	wg.Go(func() { code = runRaw(src, Stdio{Out: &out, Err: &errb}, args...) })
	conns, err := dialSockets(context.Background(), paths, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]byte, len(conns))
	for i, c := range conns {
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		data[i] = b
	}
	wg.Wait()
	return parseResult(t, code, out.String(), errb.String()), data
}

// TestSocketProtobufWire decodes the kit's protobuf output with protowire
// and checks it against Airbyte's schema (docs/protocol.md 5.5): the record's
// field numbers 1..6 in order (then only Ferry's extensions), one value per
// property in UTF-16 order of the property names with the member their
// type calls for, is_null for a missing value, states and statuses as
// airbyte_protocol_message, and the probe's exact bytes.
func TestSocketProtobufWire(t *testing.T) {
	paths := socketEnv(t, FormatProtobuf, 1)
	src := &testSource{streams: []Stream{wireSchemaStream{wireStream()}}}
	cat := catalogOf(t, src.streams...)
	res, data := captureSockets(t, paths, src, "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", cat)
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stdout)
	}
	raw := data[0]
	if !bytes.Contains(raw, protobuf.ProbeFrame) {
		t.Errorf("no probe frame 02 1a 00 on an idle socket")
	}
	var kinds []protowire.Number
	var records [][]byte
	var texts []string
	for b := raw; len(b) > 0; {
		n, k := protowire.ConsumeVarint(b)
		if k < 0 || int(n) > len(b)-k {
			t.Fatalf("bad frame length at %d", len(raw)-len(b))
		}
		msg := b[k : k+int(n)]
		b = b[k+int(n):]
		num, typ, body := oneField(t, msg)
		if typ != protowire.BytesType {
			t.Fatalf("top-level field %d has wire type %d", num, typ)
		}
		kinds = append(kinds, num)
		switch num {
		case 1:
			records = append(records, body)
			var m pb.AirbyteMessageProtobuf
			if err := proto.Unmarshal(msg, &m); err != nil || m.GetRecord() == nil {
				t.Fatalf("generated types reject the record: %v", err)
			}
		case 2:
			texts = append(texts, string(body))
		}
	}
	kinds = slices.Compact(kinds)
	for len(kinds) > 0 && kinds[0] == 3 {
		kinds = kinds[1:] // a loaded machine may probe before the first status
	}
	if diff := cmp.Diff([]protowire.Number{2, 1, 3, 2}, kinds); diff != "" {
		t.Errorf("message kinds (2 status, 1 records, 3 probes, 2 state and status) (-want +got):\n%s", diff)
	}
	if len(records) != 2 {
		t.Fatalf("got %d records, want 2", len(records))
	}
	names := []string{"active", "email", "id", "name", "note", "score", "tags", "updated_at"}
	// Record 1: every property set.
	fields, values := recordFields(t, records[0])
	if diff := cmp.Diff([]protowire.Number{1, 2, 3, 4, 5}, airbyteFields(t, fields)); diff != "" {
		t.Errorf("record field numbers in order (-want +got):\n%s", diff)
	}
	wantMembers := []protowire.Number{1, 2, 3, 2, 2, 5, 12, 10} // boolean, string, integer, ..., number, json, timestamp_with_timezone
	if diff := cmp.Diff(wantMembers, valueMembers(t, values)); diff != "" {
		t.Errorf("value members by position %v (-want +got):\n%s", names, diff)
	}
	if id := varintOf(t, values[2], 3); protowire.DecodeZigZag(id) != 1 {
		t.Errorf("value 3 (id): got %d, want 1", protowire.DecodeZigZag(id))
	}
	if f := fixedOf(t, values[5], 5); math.Float64frombits(f) != 1.25 {
		t.Errorf("value 6 (score): got %v, want 1.25", math.Float64frombits(f))
	}
	// Record 2: meta is field 6, and missing properties are is_null.
	fields, values = recordFields(t, records[1])
	if diff := cmp.Diff([]protowire.Number{1, 2, 3, 4, 5, 6}, airbyteFields(t, fields)); diff != "" {
		t.Errorf("record with meta: field numbers in order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]protowire.Number{1, 13, 3, 13, 13, 13, 12, 13}, valueMembers(t, values)); diff != "" {
		t.Errorf("record with nulls: value members (-want +got):\n%s", diff)
	}
	var m pb.AirbyteMessageProtobuf
	if err := proto.Unmarshal(append(protowire.AppendTag(nil, 1, protowire.BytesType), protowire.AppendBytes(nil, records[0])...), &m); err != nil {
		t.Fatal(err)
	}
	r := m.GetRecord()
	if r.GetStreamNamespace() != "ns" || r.GetStreamName() != "wire" || r.GetEmittedAtMs() != uint64(fixedNow().UnixMilli()) || r.GetPartitionId() == "" {
		t.Errorf("record header: %v", r)
	}
	var state *protocol.State
	for _, txt := range texts {
		if msg, err := protocol.Decode([]byte(txt)); err == nil && msg.State != nil {
			state = msg.State
		}
	}
	if state == nil || state.ID == nil || *state.ID != 1 || state.PartitionID != r.GetPartitionId() || *state.SourceStats.RecordCount != 2 {
		t.Errorf("state on the socket: %+v; want id 1, the records' partition_id and recordCount 2", state)
	}
}

// TestSocketJSONLWire checks the JSONL framing: records with
// partition_id, a blank line as the probe, states with their keys.
func TestSocketJSONLWire(t *testing.T) {
	paths := socketEnv(t, FormatJSONL, 1)
	src := &testSource{streams: []Stream{wireSchemaStream{wireStream()}}}
	res, data := captureSockets(t, paths, src, "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", catalogOf(t, src.streams...))
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stdout)
	}
	lines := strings.Split(string(data[0]), "\n")
	var pids []string
	probes := 0
	for _, l := range lines[:len(lines)-1] {
		if l == "" {
			probes++
			continue
		}
		env, err := protocol.ScanEnvelope([]byte(l))
		if err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		if env.Type == protocol.TypeRecord {
			pids = append(pids, env.PartitionID)
		}
	}
	if probes == 0 || len(pids) != 2 || pids[0] == "" || pids[0] != pids[1] {
		t.Errorf("got %d probes and record partitions %q; want probes and two records of one partition", probes, pids)
	}
	if !strings.Contains(string(data[0]), `"id":1,"partition_id":"`+pids[0]+`"`) {
		t.Errorf("no state with id 1 and partition %s in %s", pids[0], data[0])
	}
}

// oneField returns the only field of msg.
func oneField(t *testing.T, msg []byte) (protowire.Number, protowire.Type, []byte) {
	t.Helper()
	num, typ, n := protowire.ConsumeTag(msg)
	if n < 0 {
		t.Fatalf("bad tag: %v", protowire.ParseError(n))
	}
	m := protowire.ConsumeFieldValue(num, typ, msg[n:])
	if m < 0 || n+m != len(msg) {
		t.Fatalf("field %d: want exactly one field in the message", num)
	}
	body, _ := protowire.ConsumeBytes(msg[n:])
	return num, typ, body
}

// recordFields returns a record's field numbers in wire order (repeats of
// one field folded) and its data values.
func recordFields(t *testing.T, rec []byte) ([]protowire.Number, [][]byte) {
	t.Helper()
	var nums []protowire.Number
	var values [][]byte
	for b := rec; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if n < 0 || m < 0 {
			t.Fatal("bad record")
		}
		if len(nums) == 0 || nums[len(nums)-1] != num {
			nums = append(nums, num)
		}
		if num == 5 {
			v, _ := protowire.ConsumeBytes(b[n:])
			values = append(values, v)
		}
		b = b[n+m:]
	}
	return nums, values
}

// ferryExtension is where Ferry's extension fields start (protobuf's
// extension.go): Airbyte's parsers skip them.
const ferryExtension = 2001

// airbyteFields returns the field numbers of Airbyte's schema, checking
// that only Ferry's extensions follow them, in order.
func airbyteFields(t *testing.T, nums []protowire.Number) []protowire.Number {
	t.Helper()
	i := 0
	for i < len(nums) && nums[i] < ferryExtension {
		i++
	}
	if !slices.IsSorted(nums[i:]) {
		t.Errorf("fields %v: Airbyte's fields and then Ferry's extensions in order, want", nums)
	}
	return nums[:i]
}

// valueMembers returns the field number set in each value: its oneof
// member, or 13 for is_null. Only Ferry's extensions may follow it.
func valueMembers(t *testing.T, values [][]byte) []protowire.Number {
	t.Helper()
	var out []protowire.Number
	for _, v := range values {
		num, typ, n := protowire.ConsumeTag(v)
		m := protowire.ConsumeFieldValue(num, typ, v[n:])
		if n < 0 || m < 0 {
			t.Fatalf("value %x: bad field", v)
		}
		for _, ext := range fieldNumbers(t, v[n+m:]) {
			if ext < ferryExtension {
				t.Errorf("value %x: field %d after its member, want only Ferry's extensions", v, ext)
			}
		}
		out = append(out, num)
	}
	return out
}

// fieldNumbers lists the field numbers of a message body.
func fieldNumbers(t *testing.T, b []byte) []protowire.Number {
	t.Helper()
	var nums []protowire.Number
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if n < 0 || m < 0 {
			t.Fatalf("bad field in %x", b)
		}
		nums = append(nums, num)
		b = b[n+m:]
	}
	return nums
}

func oneFieldAny(t *testing.T, v []byte) (protowire.Number, protowire.Type, int) {
	t.Helper()
	num, typ, n := protowire.ConsumeTag(v)
	if n < 0 || n+protowire.ConsumeFieldValue(num, typ, v[n:]) != len(v) {
		t.Fatalf("value %x: want exactly one field", v)
	}
	return num, typ, n
}

func varintOf(t *testing.T, v []byte, want protowire.Number) uint64 {
	t.Helper()
	num, typ, n := oneFieldAny(t, v)
	x, _ := protowire.ConsumeVarint(v[n:])
	if num != want || typ != protowire.VarintType {
		t.Fatalf("value %x: want varint field %d", v, want)
	}
	return x
}

func fixedOf(t *testing.T, v []byte, want protowire.Number) uint64 {
	t.Helper()
	num, typ, n := oneFieldAny(t, v)
	x, _ := protowire.ConsumeFixed64(v[n:])
	if num != want || typ != protowire.Fixed64Type {
		t.Fatalf("value %x: want fixed64 field %d", v, want)
	}
	return x
}

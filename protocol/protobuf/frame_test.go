package protobuf

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestAppendRecordFrame checks that the header path gives the framed bytes
// of AppendRecordProto, and that the learned member order never changes a
// result: every record is also converted with a fresh schema.
func TestAppendRecordFrame(t *testing.T) {
	schemaJSON := []byte(`{"properties":{"id":{"type":"integer"},"name":{"type":"string"},"at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},"x":{}}}`)
	s, err := NewRecordSchema(schemaJSON)
	if err != nil {
		t.Fatal(err)
	}
	datas := []string{
		`{"id":1,"name":"a","at":"2021-01-01T00:00:00+00:00","x":[1]}`,
		`{"id":2,"name":"b","at":"2021-01-01T00:00:01+00:00","x":{}}`,
		`{"name":"c","id":3}`,
		`{"name":"c","id":3,"extra":1,"at":null}`,
		`{"extra":1,"name":"d\u00e9","id":4,"x":null,"at":"bad"}`,
		`{"id":5,"name":"e","at":"2021-01-01T00:00:00Z","x":1,"id":6}`,
		`{}`,
		`{"id":1,"name":"a","at":"2021-01-01T00:00:00+00:00","x":[1]}`,
	}
	for _, d := range datas {
		for _, h := range []RecordHeader{
			{Stream: []byte("s"), PartitionID: []byte("p1"), EmittedAt: 1700000000000},
			{Namespace: []byte("ns"), Stream: []byte("s"), PartitionID: []byte("p1")},
		} {
			rec := []byte(`{`)
			if len(h.Namespace) > 0 {
				rec = append(rec, `"namespace":"ns",`...)
			}
			rec = append(rec, `"stream":"s","partition_id":"p1","data":`...)
			rec = append(rec, d...)
			rec = append(rec, `,"emitted_at":`...)
			rec = append(rec, []byte(map[bool]string{true: "1700000000000", false: "0"}[h.EmittedAt != 0])...)
			rec = append(rec, '}')
			fresh, _ := NewRecordSchema(schemaJSON)
			want, wantStats, err := fresh.AppendRecordProto(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			want = append(protowire.AppendVarint(nil, uint64(1+protowire.SizeBytes(len(want)))), append([]byte{0x0a}, protowire.AppendBytes(nil, want)...)...)
			got, stats, err := s.AppendRecordFrame([]byte("x"), &h, []byte(d))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[1:], want) || stats != wantStats {
				t.Errorf("%s: got %x %+v, want %x %+v", d, got[1:], stats, want, wantStats)
			}
		}
	}
	if got, _, err := s.AppendRecordFrame([]byte("x"), &RecordHeader{Stream: []byte("s")}, []byte(`[1]`)); err == nil || string(got) != "x" {
		t.Errorf("data not an object: got %q, %v; want an error and dst unchanged", got, err)
	}
}

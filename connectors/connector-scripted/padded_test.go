package main

import (
	"bytes"
	"testing"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// TestPaddedMatchesRecord holds the cheap builder to record: the same
// JSON text, and in PROTOBUF the same frame the kit converts that text
// to, across the ids where the id gains a digit and the pad shrinks.
func TestPaddedMatchesRecord(t *testing.T) {
	schema, err := protobuf.NewRecordSchema(streamSchema)
	if err != nil {
		t.Fatal(err)
	}
	hdr := &protobuf.RecordHeader{Stream: []byte("s1"), PartitionID: []byte("p-1"), EmittedAt: 1700000000000}
	var ids []int64
	for _, base := range []int64{1, 10, 100, 10000, 1000000} {
		ids = append(ids, base-1, base, base+1)
	}
	for _, size := range []int{0, 20, 30, 50, 5000, 70000} {
		for _, name := range []string{"s1", "items"} {
			s := &stream{name: name}
			js := newPaddedRecords(s, size, nil)
			pb := newPaddedRecords(s, size, schema)
			if js.vals != nil || pb.vals == nil {
				t.Fatalf("values used: JSON builder %v, PROTOBUF builder %v", js.vals != nil, pb.vals != nil)
			}
			for _, i := range ids {
				if i < 1 {
					continue
				}
				want := s.record(nil, i, size)
				if got := js.json(i); !bytes.Equal(got, want) {
					t.Fatalf("size %d id %d: json\n%s\nwant\n%s", size, i, got, want)
				}
				wantPB, _, err := schema.AppendRecordFrame(nil, hdr, want)
				if err != nil {
					t.Fatal(err)
				}
				gotPB, err := schema.AppendValuesFrame(nil, hdr, pb.values(i))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(gotPB, wantPB) {
					t.Fatalf("size %d id %d: values frame differs from the converted JSON (%d vs %d bytes)", size, i, len(gotPB), len(wantPB))
				}
			}
		}
	}
}

// TestPaddedFallsBackToJSON: a catalog that types a property otherwise,
// or a name JSON would escape, gets JSON records, which the kit converts.
func TestPaddedFallsBackToJSON(t *testing.T) {
	other, err := protobuf.NewRecordSchema([]byte(`{"type":"object","properties":{"id":{"type":"string"},"stream":{"type":"string"},"pad":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := protobuf.NewRecordSchema(streamSchema)
	if err != nil {
		t.Fatal(err)
	}
	if p := newPaddedRecords(&stream{name: "s1"}, 100, other); p.vals != nil {
		t.Error("values used for a catalog that types id as a string")
	}
	if p := newPaddedRecords(&stream{name: "caf\u00e9"}, 100, ours); p.vals != nil {
		t.Error("values used for a stream name that is not plain ASCII")
	}
	if p := newPaddedRecords(&stream{name: "s1"}, 100, ours); p.vals == nil {
		t.Error("values not used for the connector's own schema")
	}
}

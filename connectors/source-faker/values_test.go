package main

import (
	"bytes"
	"testing"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// TestValuesMatchJSON checks that the values generators give, record by
// record, exactly the protobuf bytes the kit would convert the JSON
// records to, with the same draws from the rng.
func TestValuesMatchJSON(t *testing.T) {
	for _, tc := range []struct {
		name, schema string
		gen          genFunc
		values       *valuesGen
	}{
		{"users", usersSchema, appendUser, usersValues},
		{"purchases", purchasesSchema, appendPurchase, purchasesValues},
	} {
		schema, err := protobuf.NewRecordSchema([]byte(tc.schema))
		if err != nil {
			t.Fatal(err)
		}
		w := tc.values.writer(schema)
		if w == nil {
			t.Fatalf("%s: the values generator does not fit the stream's own schema", tc.name)
		}
		for _, c := range []*config{{Count: 5000, Seed: 3}, {Count: 1 << 40, Seed: -7}} {
			h := &protobuf.RecordHeader{Stream: []byte(tc.name), PartitionID: []byte("p"), EmittedAt: 1700000000000}
			var js, want, got []byte
			for id := int64(1); id <= 5000; id++ {
				updated := baseTime + id*997
				r1 := newRNG(c.Seed, 9, id)
				js = tc.gen(js[:0], c, &r1, id, updated)
				want, stats, err := schema.AppendRecordFrame(want[:0], h, js)
				if err != nil || stats != (protobuf.ConvertStats{}) {
					t.Fatalf("%s: %v %+v", js, err, stats)
				}
				r2 := newRNG(c.Seed, 9, id)
				w.v.Reset()
				tc.values.fill(w, c, &r2, id, updated)
				if got, err = schema.AppendValuesFrame(got[:0], h, w.v); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) || r1 != r2 {
					t.Fatalf("%s record %d: values differ from the JSON record\n%s\ngot  %x\nwant %x", tc.name, id, js, got, want)
				}
			}
		}
	}
	// A catalog that changed a field's kind gets converted JSON.
	s, _ := protobuf.NewRecordSchema([]byte(`{"properties":{"id":{"type":"string"}}}`))
	if purchasesValues.writer(s) != nil {
		t.Error("a writer for a catalog whose id is a string; want none")
	}
}

package cdk

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// TestFieldsFromSpans checks that Fields from the intake scan's spans
// gives what searching the line gives, errors included, on compact and
// spaced records, duplicates, odd emitted_at values and missing parts.
func TestFieldsFromSpans(t *testing.T) {
	lines := []string{
		`{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":1700000000000,"meta":{"changes":[]}}}`,
		` { "type" : "RECORD" , "record" : { "stream" : "s" , "data" : { "a" : [ 1 ] } , "emitted_at" : 12.5 } } `,
		`{"type":"RECORD","record":{"stream":"s","data":{},"data":{"b":2},"emitted_at":1,"emitted_at":2}}`,
		`{"type":"RECORD","record":{"stream":"s","data":[1],"emitted_at":1}}`,
		`{"type":"RECORD","record":{"stream":"s","emitted_at":1}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":"x"}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":0,"meta":null}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":-3}}`,
		`{"type":"RECORD","record":{"stream":"s","data":{"k":"a\"b"},"emitted_at":99999999999999999999}}`,
	}
	p := msgParser{where: func() string { return "test" }}
	for _, l := range lines {
		b := &InputBatch{}
		if err := p.line(b, []byte(l)); err != nil || len(b.Inputs) != 1 || b.Inputs[0].Kind != InputRecord {
			t.Fatalf("%s: %v, %+v", l, err, b.Inputs)
		}
		rec := b.Inputs[0].Record
		got, gotErr := rec.Fields()
		searched := rec
		searched.spans.Valid = false
		want, wantErr := searched.Fields()
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: error %v, searching gives %v", l, gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: fields from spans differ from searching (-want +got):\n%s", l, diff)
		}
	}
	// The compact line must come with spans: else this test compares the
	// search with itself.
	b := &InputBatch{}
	p.line(b, []byte(lines[0])) //nolint:errcheck // checked above
	if !b.Inputs[0].Record.spans.Valid {
		t.Fatal("the intake gave no spans for a compact record")
	}
}

// TestAppendDataMatchesFields holds AppendData to Fields: on protobuf
// records (the fast path and the ones it declines) and on lines, the same
// data, emitted_at and error.
func TestAppendDataMatchesFields(t *testing.T) {
	s, err := protobuf.NewRecordSchema([]byte(`{"type":"object","properties":{"id":{"type":"integer"},
		"at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},"name":{"type":["null","string"]},
		"n":{"type":"number"},"o":{"type":"object"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for _, r := range []string{
		`{"stream":"s","data":{"id":1,"at":"2021-01-01T00:00:00+00:00","name":"x"},"emitted_at":1700000000000}`,
		`{"stream":"s","data":{"id":2,"name":null,"extra":[1]},"emitted_at":5}`,
		`{"stream":"s","data":{"name":"caf\u00e9 \"q\"","n":1.5e300,"o":{"a":{}}},"emitted_at":0}`,
		`{"stream":"s","data":{"at":"2021-01-01 00:00:00.5Z","id":-3},"emitted_at":1,"meta":{"changes":[]}}`,
		`{"stream":"s","partition_id":"p","data":{},"emitted_at":999999999999999999}`,
		`{"stream":"s","data":{"id":7},"emitted_at":1000000000000000000}`,
	} {
		b, _, err := s.AppendRecordProto(nil, []byte(r))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		recs = append(recs, Record{Proto: b, schema: s})
	}
	bad := append([]byte(nil), recs[0].Proto...)
	bad[len(bad)-1] = 0xff // a string that is not UTF-8
	recs = append(recs, Record{Proto: bad, schema: s}, Record{Proto: []byte{0x2a}, schema: s})
	p := msgParser{where: func() string { return "test" }}
	for _, l := range []string{
		`{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":1700000000000}}`,
		`{"type":"RECORD","record":{"stream":"s","data":[1],"emitted_at":1}}`,
	} {
		b := &InputBatch{}
		if err := p.line(b, []byte(l)); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b.Inputs[0].Record)
	}
	for i, r := range recs {
		got, at, gotErr := r.AppendData([]byte("x"))
		f, wantErr := r.Fields()
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("record %d: error %v, Fields %v", i, gotErr, wantErr)
			continue
		}
		if gotErr == nil && (string(got) != "x"+string(f.Data) || at != f.EmittedAt) {
			t.Errorf("record %d: AppendData %s %d, Fields %s %d", i, got, at, f.Data, f.EmittedAt)
		}
	}
	if _, _, ok := s.AppendDataFast(nil, recs[0].Proto); !ok {
		t.Error("the fast path declined a common record: the test compares Fields with itself")
	}
}

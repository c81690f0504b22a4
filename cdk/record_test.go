package cdk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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

package protocol

import (
	"os"
	"path/filepath"
	"testing"
)

// envelopeSeeds are lines on the edges of the fast envelope scan: the
// compact common case, whitespace, escapes in keys and values, duplicate
// members, wrong value kinds, and lines that are not one JSON object.
var envelopeSeeds = []string{
	`{"type":"RECORD","record":{"stream":"s","namespace":"n","partition_id":"p","data":{"a":1},"emitted_at":1,"meta":{"changes":[]}}}`,
	` { "type" : "RECORD" , "record" : { "stream" : "s" , "data" : { } , "emitted_at" : 1 } } `,
	`{"type":"RECORD","record":{"stream":"s\"q","data":{}}}`, `{"ty\u0070e":"RECORD","record":{"stream":"s","data":{}}}`,
	`{"type":"REC\u004fRD","record":{"stream":"s","data":{}}}`, `{"type":"RECORD","record":{"stream":"s","data":{}},"record":{"stream":"t"}}`,
	`{"type":"RECORD","record":null,"record":{"stream":"s","data":{}}}`, `{"type":"RECORD","record":{"stream":1,"stream":"s","data":[]}}`,
	`{"type":"RECORD","record":{"stream":"s","data":{},"data":{"x":1},"meta":null,"meta":{}}}`, `{"type":"RECORD","type":7,"record":{"stream":"s"}}`,
	`{"type":"RECORD","record":{"stream":"s","data":{"a":1,}}}`, `{"type":"RECORD","record":{"stream":"s","data":{}}}x`,
	`{"type":"RECORD","record":{"stream":"s","data":{}}`, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"}}}}`,
	`{"type":"LOG","log":{"level":"INFO","message":"m"}}`, `{"type":"NEW_KIND"}`, `{"record":{"stream":"s"}}`, `{}`, `[]`, `"x"`, ``, `{"type":"RECORD",}`,
	"{\"type\":\"RECORD\",\"record\":{\"stream\":\"\xff\",\"data\":{}}}", `{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1.5e3}}`,
}

// FuzzScanEnvelopeFast holds ScanEnvelopeAfter, which tries the fast scan
// first, to the full scan on every input: the same outcome (an error, or
// the same envelope: type, stream, namespace, partition_id), and, where
// the fast scan located the record's parts, the spans of the members a
// destination would find by searching the line.
func FuzzScanEnvelopeFast(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s), "s", "")
	}
	for _, l := range fakerLines {
		f.Add(l, "purchases", "aB3x")
	}
	f.Fuzz(func(t *testing.T, line []byte, prevStream, prevPartition string) {
		prev := Envelope{Stream: prevStream, PartitionID: prevPartition}
		got, gotErr := ScanEnvelopeAfter(line, &prev)
		want, wantErr := scanEnvelope(line, &prev)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: error %v, full scan %v", line, gotErr, wantErr)
		}
		if got.Type != want.Type || got.Stream != want.Stream || got.Namespace != want.Namespace ||
			got.PartitionID != want.PartitionID || string(got.Raw) != string(want.Raw) {
			t.Fatalf("%q: envelope %+v, full scan %+v", line, got, want)
		}
		if got.Spans.Valid {
			checkSpans(t, line, got.Spans)
		}
	})
}

// checkSpans compares spans with the members MemberSpan finds.
func checkSpans(t *testing.T, line []byte, sp RecordSpans) {
	t.Helper()
	rs, re, ok := MemberSpan(line, "record")
	if !ok {
		t.Fatalf("%q: spans %+v, but MemberSpan finds no record", line, sp)
	}
	rec := line[rs:re]
	for _, m := range []struct {
		key  string
		span Span
	}{{"data", sp.Data}, {"emitted_at", sp.EmittedAt}, {"meta", sp.Meta}} {
		s, e, ok := MemberSpan(rec, m.key)
		want := Span{}
		if ok {
			want = Span{rs + s, rs + e}
		}
		if m.span != want {
			t.Fatalf("%q: %s span %+v, MemberSpan %+v", line, m.key, m.span, want)
		}
	}
}

// TestScanEnvelopeFastTakesRecords checks that the fast scan itself, not
// the fallback, handles compact and spaced records, so the fuzz test
// cannot pass with a fast scan that always gives up.
func TestScanEnvelopeFastTakesRecords(t *testing.T) {
	for _, l := range append([][]byte{[]byte(envelopeSeeds[0]), []byte(envelopeSeeds[1])}, fakerLines...) {
		var env Envelope
		ok := scanEnvelopeFast(l, nil, &env)
		if !ok || env.Type != TypeRecord || env.Stream == "" || !env.Spans.Valid {
			t.Errorf("scanEnvelopeFast(%s) = %+v, %v; want a record with valid spans", l, env, ok)
		}
	}
}

// TestFuzzCorpusKept checks that the seed corpus in testdata is there:
// go test runs it as part of FuzzScanEnvelopeFast.
func TestFuzzCorpusKept(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzScanEnvelopeFast"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("testdata/fuzz/FuzzScanEnvelopeFast: %d files, %v", len(ents), err)
	}
}

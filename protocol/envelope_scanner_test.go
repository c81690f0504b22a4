package protocol

import "testing"

// FuzzEnvelopeScanner holds EnvelopeScanner to the full scan on lines in
// sequence: a, then b written after the first cut bytes of a (so that b
// often shares a's header, and the scanner resumes after it, or shares
// only part of it), b again, and a again. Every line has the full scan's
// outcome and envelope given the records before it, and valid spans
// locate the members.
func FuzzEnvelopeScanner(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s), []byte(`{"id":1},"emitted_at":2}}`), uint16(len(recordPrefix)+12))
	}
	for _, l := range fakerLines {
		f.Add(l, []byte(`{"x":"y"}}}`), uint16(len(l)/3))
	}
	f.Add(stdioPurchase, []byte(`{"a":1},"stream":"other"}}`), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":1}},"record":{"stream":"t","data":{}}}`), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":1},"data":{}}}`), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":1,}}}`), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":2},"emitted_at":1796307412899,"meta":{}}} `), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":2},"emitted_at":1796307412899},"type":"LOG"}`), uint16(55))
	f.Add(stdioPurchase, []byte(`{"a":2},"emitted_at":1796307412899},"record":null}`), uint16(55))
	f.Fuzz(func(t *testing.T, a, tail []byte, cut uint16) {
		b := append(append([]byte(nil), a[:int(cut)%(len(a)+1)]...), tail...)
		var s EnvelopeScanner
		var prev Envelope // the full scan's view of the last record
		for _, line := range [][]byte{a, b, b, a} {
			got, gotErr := s.Scan(line)
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
			if wantErr == nil && want.Type == TypeRecord {
				prev = want
			}
		}
	})
}

// TestEnvelopeScannerResumes checks that a run of records with one header
// is scanned from the data on, and their common tail is kept (so the fuzz
// test cannot pass with a scanner that never resumes), and that a record of another stream with
// the same header length is not taken for the last one's.
func TestEnvelopeScannerResumes(t *testing.T) {
	var s EnvelopeScanner
	for i := 0; i < 3; i++ {
		env, err := s.Scan(stdioPurchase)
		if err != nil || env.Stream != "purchases" || !env.Spans.Valid {
			t.Fatalf("scan %d: %+v, %v", i, env, err)
		}
		if len(s.head) != len(`{"type":"RECORD","record":{"stream":"purchases","data":`) {
			t.Fatalf("scan %d: header %q", i, s.head)
		}
		if string(s.tail) != `,"emitted_at":1796307412899}}` {
			t.Fatalf("scan %d: tail %q", i, s.tail)
		}
	}
	other := []byte(`{"type":"RECORD","record":{"stream":"purchasex","data":{"id":1},"emitted_at":1}}`)
	if env, err := s.Scan(other); err != nil || env.Stream != "purchasex" {
		t.Fatalf("other stream: %+v, %v", env, err)
	}
	bad := []byte(`{"type":"RECORD","record":{"stream":"purchasex","data":{"id":1,},"emitted_at":1}}`)
	if _, err := s.Scan(bad); err == nil {
		t.Fatalf("%s: no error after a header it kept", bad)
	}
}

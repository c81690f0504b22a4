package protobuf

import (
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestMessageJSONSpans checks the places AppendMessageJSONSpans reports
// against the members found by searching the line it wrote, with a
// prefix in dst (spans count from the line's start), with and without
// meta, and with a meta that travels as text.
func TestMessageJSONSpans(t *testing.T) {
	c := testCatalog(t)
	for _, line := range []string{
		`{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"a"},"emitted_at":2}}`,
		`{"type":"RECORD","record":{"namespace":"other","stream":"users","data":{"x":true},"emitted_at":2,"meta":{"changes":[{"field":"x","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}]}}}`,
		`{"type":"RECORD","record":{"stream":"users","data":{"id":1,"extra":[1]},"emitted_at":3,"meta":{"changes":[],"other":1}}}`,
	} {
		wire, _, err := c.AppendMessageProto(nil, []byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		prefix := []byte("previous line\n")
		out, spans, err := c.AppendMessageJSONSpans(prefix, wire)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got := out[len(prefix):]
		if !spans.Valid {
			if env, _ := protocol.ScanEnvelope(got); env.Spans.Valid && env.Spans.Meta.End == 0 {
				t.Errorf("%s: no valid spans for a record without meta", got)
			}
			continue
		}
		rs, re, _ := protocol.MemberSpan(got, "record")
		for _, m := range []struct {
			key  string
			span protocol.Span
		}{{"data", spans.Data}, {"emitted_at", spans.EmittedAt}, {"meta", spans.Meta}} {
			want := protocol.Span{}
			if s, e, ok := protocol.MemberSpan(got[rs:re], m.key); ok {
				want = protocol.Span{Start: rs + s, End: rs + e}
			}
			if m.span != want {
				t.Errorf("%s: %s at %+v, searching finds %+v", got, m.key, m.span, want)
			}
		}
	}
	// The first record has no meta and must come with its spans.
	wire, _, _ := c.AppendMessageProto(nil, []byte(`{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":2}}`))
	if _, spans, err := c.AppendMessageJSONSpans(nil, wire); err != nil || !spans.Valid {
		t.Fatalf("a plain record: spans %+v, %v; want valid spans", spans, err)
	}
}

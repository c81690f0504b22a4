package protobuf

import (
	"bytes"
	"io"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protocoltest"
)

// reportRecords adds a records/s figure, comparable across codecs.
func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}

func benchCatalog(b *testing.B) *Catalog {
	c, err := NewCatalog([]protocol.Stream{{Name: "products", JSONSchema: []byte(protocoltest.ProductsSchema)}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkProtoEncode converts JSONL RECORD lines to protobuf messages.
// Throughput is in JSON bytes.
func BenchmarkProtoEncode(b *testing.B) {
	c := benchCatalog(b)
	lines := protocoltest.ProductLines(1024)
	b.SetBytes(protocoltest.TotalLen(lines) / int64(len(lines)))
	b.ReportAllocs()
	var out []byte
	for i := 0; b.Loop(); i++ {
		var err error
		out, _, err = c.AppendMessageProto(out[:0], lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, 1)
}

// BenchmarkProtoDecode converts protobuf messages back to JSONL lines.
// Throughput is in protobuf bytes; json-MB/s is in the JSON bytes made.
func BenchmarkProtoDecode(b *testing.B) {
	c := benchCatalog(b)
	lines := protocoltest.ProductLines(1024)
	msgs := make([][]byte, len(lines))
	var n int64
	for i, l := range lines {
		m, _, err := c.AppendMessageProto(nil, l)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
		n += int64(len(m))
	}
	b.SetBytes(n / int64(len(msgs)))
	b.ReportAllocs()
	var out []byte
	for i := 0; b.Loop(); i++ {
		var err error
		out, err = c.AppendMessageJSON(out[:0], msgs[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, 1)
	avgJSON := float64(protocoltest.TotalLen(lines)) / float64(len(lines))
	b.ReportMetric(avgJSON*float64(b.N)/b.Elapsed().Seconds()/1e6, "json-MB/s")
}

// BenchmarkProtoStream writes framed records through a Writer and
// reads them back with a Reader, decoding each to JSON: the
// destination side of socket mode end to end. Throughput is in JSON bytes.
func BenchmarkProtoStream(b *testing.B) {
	c := benchCatalog(b)
	lines := protocoltest.ProductLines(4096)
	var wire bytes.Buffer
	w := NewWriter(&wire)
	for _, l := range lines {
		if _, err := w.WriteMessage(c, l); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	data := wire.Bytes()
	b.SetBytes(protocoltest.TotalLen(lines))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), 0)
		for {
			frame, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if out, err = c.AppendMessageJSON(out[:0], frame); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRecords(b, len(lines))
}

// BenchmarkProtoWrite converts JSONL lines and writes them framed through a
// Writer: the source side of socket mode. Throughput is in JSON bytes.
func BenchmarkProtoWrite(b *testing.B) {
	c := benchCatalog(b)
	lines := protocoltest.ProductLines(1024)
	w := NewWriter(io.Discard)
	b.SetBytes(protocoltest.TotalLen(lines) / int64(len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := w.WriteMessage(c, lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	reportRecords(b, 1)
}

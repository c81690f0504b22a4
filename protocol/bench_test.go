package protocol

import (
	"bytes"
	"io"
	"testing"

	"github.com/ferrysync/ferry/protocol/protocoltest"
)

// reportRecords adds a records/s figure, comparable across codecs.
func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkScanEnvelope(b *testing.B) {
	lines := protocoltest.ProductLines(1024)
	b.SetBytes(protocoltest.TotalLen(lines) / int64(len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		env, err := ScanEnvelope(lines[i%len(lines)])
		if err != nil || env.Type != TypeRecord || env.Stream != "products" {
			b.Fatalf("ScanEnvelope = %+v, %v", env, err)
		}
	}
	reportRecords(b, 1)
}

func BenchmarkDecode(b *testing.B) {
	lines := protocoltest.ProductLines(1024)
	b.SetBytes(protocoltest.TotalLen(lines) / int64(len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Decode(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, 1)
}

// BenchmarkReader reads a stream of JSONL lines and scans each envelope,
// the daemon's per-line work in stdio mode.
func BenchmarkReader(b *testing.B) {
	lines := protocoltest.ProductLines(4096)
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), 0)
		n := 0
		for {
			line, err := r.ReadLine()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ScanEnvelope(line); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(lines) {
			b.Fatalf("read %d lines, want %d", n, len(lines))
		}
	}
	reportRecords(b, len(lines))
}

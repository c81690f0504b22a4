package protocol

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchSchema is the json_schema of source-faker's products stream, the
// shape of the records the benchmarks use.
const benchSchema = `{"type":"object","properties":{
	"id":{"type":"integer"},
	"make":{"type":["null","string"]},
	"model":{"type":["null","string"]},
	"year":{"type":["null","integer"]},
	"price":{"type":["null","number"]},
	"in_stock":{"type":["null","boolean"]},
	"created_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"},
	"updated_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"}}}`

var benchMakes = []string{"Mazda", "Mercedes-Benz", "Pontiac", "Ford", "Volkswagen", "Chevrolet", "Dodge", "Lincoln"}
var benchModels = []string{"MX-5", "CLK-Class", "Grand Prix", "F-150", "Passat", "Silverado 2500", "Ram 1500", "Navigator"}

// benchRecord returns a faker-like record object for row i (about 200 bytes).
func benchRecord(i int) []byte {
	return fmt.Appendf(nil, `{"stream":"products","data":{"id":%d,"make":%q,"model":%q,"year":%d,"price":%d.%02d,"in_stock":%t,"created_at":"2022-02-%02dT17:02:%02d+00:00","updated_at":"2023-03-%02dT08:15:%02d+00:00"},"emitted_at":%d}`,
		i, benchMakes[i%len(benchMakes)], benchModels[i%len(benchModels)], 1990+i%30, 1000+i%9000, i%100, i%3 != 0,
		1+i%28, i%60, 1+i%28, (i*7)%60, 1700000000000+int64(i))
}

// benchLines returns n faker-like RECORD lines.
func benchLines(n int) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = append(append([]byte(`{"type":"RECORD","record":`), benchRecord(i)...), '}')
	}
	return lines
}

// reportRecords adds a records/s figure, comparable across codecs.
func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}

func totalLen(lines [][]byte) int64 {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return int64(n)
}

func BenchmarkScanEnvelope(b *testing.B) {
	lines := benchLines(1024)
	b.SetBytes(totalLen(lines) / int64(len(lines)))
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
	lines := benchLines(1024)
	b.SetBytes(totalLen(lines) / int64(len(lines)))
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
	lines := benchLines(4096)
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

func benchCatalog(b *testing.B) *ProtoCatalog {
	c, err := NewProtoCatalog([]Stream{{Name: "products", JSONSchema: []byte(benchSchema)}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkProtoEncode converts JSONL RECORD lines to protobuf messages.
// Throughput is in JSON bytes.
func BenchmarkProtoEncode(b *testing.B) {
	c := benchCatalog(b)
	lines := benchLines(1024)
	b.SetBytes(totalLen(lines) / int64(len(lines)))
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
	lines := benchLines(1024)
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
	avgJSON := float64(totalLen(lines)) / float64(len(lines))
	b.ReportMetric(avgJSON*float64(b.N)/b.Elapsed().Seconds()/1e6, "json-MB/s")
}

// BenchmarkProtoStream writes framed records through a ProtoWriter and
// reads them back with a ProtoReader, decoding each to JSON: the
// destination side of socket mode end to end. Throughput is in JSON bytes.
func BenchmarkProtoStream(b *testing.B) {
	c := benchCatalog(b)
	lines := benchLines(4096)
	var wire bytes.Buffer
	w := NewProtoWriter(&wire)
	for _, l := range lines {
		if _, err := w.WriteMessage(c, l); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	data := wire.Bytes()
	b.SetBytes(totalLen(lines))
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		r := NewProtoReader(bytes.NewReader(data), 0)
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
// ProtoWriter: the source side of socket mode. Throughput is in JSON bytes.
func BenchmarkProtoWrite(b *testing.B) {
	c := benchCatalog(b)
	lines := benchLines(1024)
	w := NewProtoWriter(io.Discard)
	b.SetBytes(totalLen(lines) / int64(len(lines)))
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

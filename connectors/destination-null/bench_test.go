package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/cdk/cdktest"
)

// BenchmarkFakerToNull is the reference connectors' throughput: source-faker
// into destination-null, 2 x benchFakerCount users and purchases (plus 100
// products), through a plain pipe (stdio mode, no Ferry in between) and
// over 2, 4 and 8 sockets in each format, side by side in one run.
// records/s and MB/s are wall-clock figures; MB are of the records as
// JSONL lines, from the destination's committedBytesCount (a PROTOBUF
// destination-null counts the smaller protobuf bytes it received, so its
// MB are taken from the JSONL runs of the same records). cpu-ns/record is
// the user plus system time of both processes, which does not depend on
// what else the machine is running.
func BenchmarkFakerToNull(b *testing.B) {
	faker := cdktest.Build(b, "github.com/ferrysync/ferry/connectors/source-faker")
	cdktest.Build(b, "github.com/ferrysync/ferry/connectors/destination-null")
	cat := fakerCatalog(b, faker)
	cfg := file(b, "faker.json", fmt.Sprintf(`{"count": %d, "seed": 5, "records_per_slice": 1000}`, benchFakerCount))
	b.Run("stdio-pipe", func(b *testing.B) { benchPair(b, cfg, cat, "", 0) })
	for _, format := range []string{cdk.FormatJSONL, cdk.FormatProtobuf} {
		for _, n := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("%s-%d", format, n), func(b *testing.B) { benchPair(b, cfg, cat, format, n) })
		}
	}
}

const benchFakerCount = 500_000

// jsonBytesPerRecord is the JSONL size of faker's records, from the first
// stdio or JSONL run.
var jsonBytesPerRecord float64

func benchPair(b *testing.B, cfg, cat, format string, n int) {
	var recs, bytes int64
	var wall, cpu time.Duration
	for b.Loop() {
		r := syncFakerNull(b, cfg, cat, format, n)
		if r.acked != r.sent || r.records != 2*benchFakerCount+100 {
			b.Fatalf("%d acks for %d states, %d records", r.acked, r.sent, r.records)
		}
		recs += r.records
		bytes += r.bytes
		wall += r.wall
		cpu += r.cpu
	}
	mb := float64(bytes) / 1e6
	switch {
	case format != cdk.FormatProtobuf && jsonBytesPerRecord == 0:
		jsonBytesPerRecord = float64(bytes) / float64(recs)
	case format == cdk.FormatProtobuf && jsonBytesPerRecord > 0:
		mb = jsonBytesPerRecord * float64(recs) / 1e6
	}
	b.ReportMetric(float64(recs)/wall.Seconds(), "records/s")
	b.ReportMetric(mb/wall.Seconds(), "MB/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(recs), "cpu-ns/record")
}

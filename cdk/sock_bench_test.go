package cdk

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchRecords is the size of one benchmark sync.
const benchRecords = 400_000

// BenchmarkSocketSync moves benchRecords generated records from an
// in-process source to an in-process null destination: through a plain
// pipe in stdio mode, then over 1, 2, 4 and 8 sockets in each format.
func BenchmarkSocketSync(b *testing.B) {
	b.Run("stdio-pipe", func(b *testing.B) { benchStdio(b) })
	for _, format := range []string{FormatJSONL, FormatProtobuf} {
		for _, n := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s-%d", format, n), func(b *testing.B) { benchSocket(b, format, n) })
		}
	}
}

func benchArgs(b *testing.B) (src, dst []string) {
	cfg := writeFileTB(b, "c.json", `{"count":1}`)
	cat := genCatalog(b, "users", "purchases")
	return []string{"read", "--config", cfg, "--catalog", cat}, []string{"write", "--config", cfg, "--catalog", cat}
}

func benchSource() *testSource {
	return &testSource{streams: []Stream{
		&partGenStream{genStream{name: "users", n: benchRecords / 2, every: 1000}},
		&partGenStream{genStream{name: "purchases", n: benchRecords / 2, every: 1000}},
	}}
}

// cpuTime is the process's user plus system CPU time. Both roles run in
// the benchmark's process, so it is the pair's cost, which (unlike wall
// time) does not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, d *nullDest, cpu time.Duration) {
	if got := d.records.Load(); got != int64(b.N)*benchRecords {
		b.Fatalf("destination got %d records, want %d", got, int64(b.N)*benchRecords)
	}
	recs := float64(d.records.Load())
	b.ReportMetric(recs/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(recs*200/1e6/b.Elapsed().Seconds(), "MB/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/recs, "cpu-ns/record")
}

func benchStdio(b *testing.B) {
	useEnv(b, map[string]string{})
	srcArgs, dstArgs := benchArgs(b)
	d := &nullDest{}
	start := cpuTime()
	for b.Loop() {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if code := runRaw(benchSource(), Stdio{Out: w, Err: io.Discard}, srcArgs...); code != 0 {
				b.Errorf("source exit %d", code)
			}
			w.Close()
		})
		if code := runRaw(d, Stdio{In: r, Out: io.Discard, Err: io.Discard}, dstArgs...); code != 0 {
			b.Errorf("destination exit %d", code)
		}
		wg.Wait()
		r.Close()
	}
	report(b, d, cpuTime()-start)
}

func benchSocket(b *testing.B, format string, n int) {
	socketEnv(b, format, n)
	srcArgs, dstArgs := benchArgs(b)
	d := &nullDest{}
	start := cpuTime()
	for b.Loop() {
		var wg sync.WaitGroup
		wg.Go(func() {
			if code := runRaw(benchSource(), Stdio{Out: io.Discard, Err: io.Discard}, srcArgs...); code != 0 {
				b.Errorf("source exit %d", code)
			}
		})
		if code := runRaw(d, Stdio{In: eofReader{}, Out: io.Discard, Err: io.Discard}, dstArgs...); code != 0 {
			b.Errorf("destination exit %d", code)
		}
		wg.Wait()
	}
	report(b, d, cpuTime()-start)
}

// eofReader is an empty stdin.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

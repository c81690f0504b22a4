package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// benchInput is n faker-like records of about 200 bytes with a state every
// 10,000 records, as one block of JSONL.
func benchInput(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"type":"RECORD","record":{"stream":"users","data":{"id":%d,"name":"user %07d","email":"user%07d@example.com","age":%d,"created_at":"2024-01-01T00:00:00Z","address":{"city":"Springfield"}},"emitted_at":1700000000000}}`+"\n", i, i, i, i%90)
		if i%10000 == 0 {
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":%d}}}}`+"\n", i)
		}
	}
	return b.Bytes()
}

// ackingSink reads its input and echoes every STATE, like destination-null.
func ackingSink(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	r := protocol.NewReader(stdio.In, 0)
	for {
		line, err := r.ReadLine()
		if err != nil {
			return ExitStatus{}, nil
		}
		if bytes.Contains(line, []byte(`"type":"STATE"`)) {
			stdio.Out.Write(append(line, '\n'))
		}
	}
}

// BenchmarkSyncStdio measures Ferry's stdio pump between two in-process
// connectors; BenchmarkPipeBaseline moves the same bytes through one plain
// pipe. The ratio is Ferry's cost, without any runtime.
func BenchmarkSyncStdio(b *testing.B) {
	input := benchInput(200000)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			for off := 0; off < len(input); off += 64 << 10 {
				end := min(off+64<<10, len(input))
				if _, err := stdio.Out.Write(input[off:end]); err != nil {
					return ExitStatus{Code: 1}, nil
				}
			}
			return ExitStatus{}, nil
		}
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: ackingSink}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.RecordsEmitted != 200000 {
			b.Fatalf("records: got %d", res.Stats.RecordsEmitted)
		}
	}
	b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPipeBaseline(b *testing.B) {
	input := benchInput(200000)
	b.SetBytes(int64(len(input)))
	for i := 0; i < b.N; i++ {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			ackingSink(context.Background(), ConnectorSpec{}, Stdio{In: pr, Out: io.Discard})
			close(done)
		}()
		for off := 0; off < len(input); off += 64 << 10 {
			end := min(off+64<<10, len(input))
			pw.Write(input[off:end])
		}
		pw.Close()
		<-done
	}
	b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// purchasesInput is n records shaped as source-faker's purchases on
// stdout (about 316 bytes) with a state every 10,000.
func purchasesInput(n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"type":"RECORD","record":{"stream":"users","data":{"id":%d,"user_id":%d,"product_id":%d,"created_at":"2020-10-08T18:21:37+00:00","updated_at":"2021-01-01T00:00:01+00:00","added_to_cart_at":"2020-10-08T18:47:30+00:00","purchased_at":"2020-10-09T02:11:00+00:00","returned_at":null},"emitted_at":1796307412899}}`+"\n", i, i*7919%1000000, i%100)
		if i%10000 == 0 {
			fmt.Fprintf(&b, `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"cursor":%d}}}}`+"\n", i)
		}
	}
	return b.Bytes()
}

// BenchmarkPumpPurchases is Ferry's side of a stdio sync of 100,000
// purchases records, with a destination that only drains its input, so
// that nearly every instruction counted is Ferry's: run it under
// callgrind (GOMAXPROCS=1) at 1x and 2x for the instructions per record.
func BenchmarkPumpPurchases(b *testing.B) {
	const n = 100000
	input := purchasesInput(n)
	b.SetBytes(int64(len(input)))
	drain := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
		io.CopyBuffer(io.Discard, stdio.In, make([]byte, 1<<20)) //nolint:errcheck
		return ExitStatus{}, nil
	}
	for b.Loop() {
		src := func(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
			if _, err := stdio.Out.Write(input); err != nil {
				return ExitStatus{Code: 1}, nil
			}
			return ExitStatus{}, nil
		}
		cfg := baseConfig(&memCheckpointer{}, nil, "users")
		res, err := Sync(context.Background(), &FakeRuntime{Source: src, Destination: drain}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.RecordsEmitted != n {
			b.Fatalf("records: got %d", res.Stats.RecordsEmitted)
		}
	}
}

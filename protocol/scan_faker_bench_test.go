package protocol

import "testing"

// fakerLines are source-faker's records as its sockets carry them in
// JSONL: the destination scans every one (ScanEnvelope).
var fakerLines = [][]byte{
	[]byte(`{"type":"RECORD","record":{"stream":"users","partition_id":"aB3x","data":{"id":4711,"created_at":"2020-09-14T07:21:44+00:00","updated_at":"2021-01-01T01:18:31+00:00","name":"Grace Hopper","title":"Dr.","age":44,"email":"Grace.4711@example.org","telephone":"+1-555-1234567","gender":"Female","language":"English","academic_degree":"Master","nationality":"Norwegian","occupation":"Engineer","height":"1.72","blood_type":"A+","weight":71,"address":{"street_number":"12","street_name":"Elm Street","city":"Springfield","state":"Oregon","province":null,"postal_code":"54321","country_code":"US"}},"emitted_at":1700000000000}}`),
	[]byte(`{"type":"RECORD","record":{"stream":"purchases","partition_id":"aB3x","data":{"id":4711,"user_id":12345,"product_id":42,"created_at":"2020-12-01T11:22:33+00:00","updated_at":"2021-01-01T01:18:31+00:00","added_to_cart_at":"2020-12-01T11:40:00+00:00","purchased_at":"2020-12-02T03:00:00+00:00","returned_at":null},"emitted_at":1700000000000}}`),
}

func BenchmarkScanEnvelopeFaker(b *testing.B) {
	var n int64
	for _, l := range fakerLines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(fakerLines)))
	for i := 0; b.Loop(); i++ {
		if _, err := ScanEnvelope(fakerLines[i%len(fakerLines)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanEnvelopeAfterFaker(b *testing.B) {
	var prev Envelope
	for i := 0; b.Loop(); i++ {
		env, err := ScanEnvelopeAfter(fakerLines[1], &prev)
		if err != nil {
			b.Fatal(err)
		}
		prev = env
	}
}

func BenchmarkScanEnvelopePurchase(b *testing.B) {
	for b.Loop() {
		if _, err := ScanEnvelope(fakerLines[1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanEnvelopeFullPurchase is the full scan alone on the same
// line, the cost of every line before the fast scan.
func BenchmarkScanEnvelopeFullPurchase(b *testing.B) {
	for b.Loop() {
		if _, err := scanEnvelope(fakerLines[1], nil); err != nil {
			b.Fatal(err)
		}
	}
}

// stdioPurchase is a purchases record as source-faker prints it on stdout
// (no partition_id), about 316 bytes: the line of `make bench-sync`'s
// stdio rows.
var stdioPurchase = []byte(`{"type":"RECORD","record":{"stream":"purchases","data":{"id":2,"user_id":435313,"product_id":52,"created_at":"2020-10-08T18:21:37+00:00","updated_at":"2021-01-01T00:00:01+00:00","added_to_cart_at":"2020-10-08T18:47:30+00:00","purchased_at":"2020-10-09T02:11:00+00:00","returned_at":null},"emitted_at":1796307412899}}`)

// BenchmarkScanEnvelopeAfterStdio is the pump's scan of that line, after
// a record of the same stream. Run it under callgrind for a repeatable
// instruction count (docs in the README's performance section).
func BenchmarkScanEnvelopeAfterStdio(b *testing.B) {
	b.SetBytes(int64(len(stdioPurchase)))
	var prev Envelope
	for b.Loop() {
		env, err := ScanEnvelopeAfter(stdioPurchase, &prev)
		if err != nil {
			b.Fatal(err)
		}
		prev = env
	}
}

// BenchmarkEnvelopeScannerStdio is the same line through an
// EnvelopeScanner, which resumes after the header it kept.
func BenchmarkEnvelopeScannerStdio(b *testing.B) {
	b.SetBytes(int64(len(stdioPurchase)))
	var s EnvelopeScanner
	for b.Loop() {
		if _, err := s.Scan(stdioPurchase); err != nil {
			b.Fatal(err)
		}
	}
}

package jsonscan

import "testing"

// purchaseData is the data object of a faker purchases record, the
// workload of the figures.
var purchaseData = []byte(`{"id":4711,"user_id":12345,"product_id":42,"created_at":"2020-12-01T11:22:33+00:00","updated_at":"2021-01-01T01:18:31+00:00","added_to_cart_at":"2020-12-01T11:40:00+00:00","purchased_at":"2020-12-02T03:00:00+00:00","returned_at":null}`)

// BenchmarkSkipFull and BenchmarkSkipFast skip the same object with the
// full scanner and with the fast path.
func BenchmarkSkipFull(b *testing.B) {
	b.SetBytes(int64(len(purchaseData)))
	for b.Loop() {
		s := Scanner{Buf: purchaseData}
		if err := s.SkipValue(0); err != nil || s.Pos != len(purchaseData) {
			b.Fatal(err)
		}
	}
}

func BenchmarkSkipFast(b *testing.B) {
	b.SetBytes(int64(len(purchaseData)))
	for b.Loop() {
		if end, ok := SkipFast(purchaseData, 0); !ok || end != len(purchaseData) {
			b.Fatal("SkipFast gave up")
		}
	}
}

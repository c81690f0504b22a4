package protobuf

import (
	"math/rand/v2"
	"testing"
)

// TestTimestampInRange: every timestamp_with_timezone a source may set
// (timestampInRange) is one a destination can write, so the check at the
// source and the one at the destination agree on the edges.
func TestTimestampInRange(t *testing.T) {
	const maxSecond = maxEpochDay * secondsPerDay
	seconds := []int64{0, -1, 1, maxSecond, maxSecond + 1, -maxSecond, -maxSecond - 1, 1 << 62, -1 << 62}
	nanos := []uint32{0, 999_999_999, 1_000_000_000, 1 << 31}
	offsets := []int32{0, maxOffsetSeconds, -maxOffsetSeconds, maxOffsetSeconds + 1, -maxOffsetSeconds - 1, 1 << 30}
	forms := []TextForm{0, formAll, offsetNone, offsetNone + 1, formOffset, formFrac, 1 << 15}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		forms = append(forms, TextForm(r.Uint32N(1<<16)))
	}
	var buf []byte
	for _, s := range seconds {
		for _, n := range nanos {
			for _, o := range offsets {
				for _, f := range forms {
					if !timestampInRange(s, n, o, f) {
						continue
					}
					if _, err := appendOffsetDateTime(buf[:0], s, n, o, f); err != nil {
						t.Fatalf("(%d, %d, %d, form %#x) passes the source's check but cannot be written: %v", s, n, o, f, err)
					}
				}
			}
		}
	}
	for _, bad := range [][4]int64{{0, 1e9, 0, 0}, {0, 0, 1 << 30, 0}, {1 << 62, 0, 0, 0}, {0, 0, 0, 1 << 15}} {
		if timestampInRange(bad[0], uint32(bad[1]), int32(bad[2]), TextForm(bad[3])) {
			t.Fatalf("%v passes the source's check", bad)
		}
	}
}

// TestRecordValuesRefuseBadTimestamp: a source that sets a timestamp a
// destination could not write gets an error naming the value, and no
// frame, instead of sending it.
func TestRecordValuesRefuseBadTimestamp(t *testing.T) {
	s, err := NewRecordSchema([]byte(fidelitySchema))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := s.Index("at")
	v := s.NewRecordValues()
	h := &RecordHeader{Stream: []byte("s"), EmittedAt: 1}
	v.SetTimestampTZ(at, 0, 1_000_000_000, 0, 0)
	frame, err := s.AppendValuesFrame([]byte("pre"), h, v)
	if err == nil || err.Error() != "record value at is a timestamp out of range" || string(frame) != "pre" {
		t.Fatalf("frame %q, error %v; want none and the value named", frame, err)
	}
	v.Reset()
	v.SetTimestampTZ(at, 1609495200, 0, 0, 0)
	if _, err := s.AppendValuesFrame(nil, h, v); err != nil {
		t.Fatalf("after Reset, a good timestamp: %v", err)
	}
}

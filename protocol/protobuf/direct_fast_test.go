package protobuf

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// checkFast fails t when appendValueFast writes body and the walk writes
// something else, or would report an error or an absent property.
func checkFast(t *testing.T, body []byte) (taken bool) {
	t.Helper()
	got, ok := appendValueFast([]byte("x"), body)
	if !ok {
		if string(got) != "x" {
			t.Fatalf("body %x: declined but wrote %q", body, got)
		}
		return false
	}
	want, present, err := appendValueWalk([]byte("x"), body)
	if err != nil || !present || !bytes.Equal(got, want) {
		t.Fatalf("body %x: fast path %s, walk %s (present %v, error %v)", body, got, want, present, err)
	}
	return true
}

// TestValueFastMatches holds the fast path to the walk on the bodies of
// the direct writer's tests and on hand-made ones at its edges, and checks
// that it takes the common shapes.
func TestValueFastMatches(t *testing.T) {
	taken := 0
	for _, b := range directSeeds(t) {
		if checkFast(t, b) {
			taken++
		}
	}
	if taken < 100 {
		t.Errorf("the fast path took only %d seed bodies", taken)
	}
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	str := func(s string) []byte { return protowire.AppendString(tag(fieldString, protowire.BytesType), s) }
	ts := func(sec int64, nano uint32, off int32) []byte {
		var m []byte
		m = protowire.AppendVarint(append(m, 1<<3), protowire.EncodeZigZag(sec))
		m = protowire.AppendVarint(append(m, 2<<3), uint64(nano))
		m = protowire.AppendVarint(append(m, 3<<3), protowire.EncodeZigZag(int64(off)))
		return protowire.AppendBytes(tag(fieldTimestampTZ, protowire.BytesType), m)
	}
	withForm := func(b []byte, f uint64) []byte {
		return protowire.AppendVarint(append(append([]byte(nil), b...), formTag...), f)
	}
	cases := []struct {
		body []byte
		take bool
	}{
		{str("plain ascii 0123456789 ~!@#$%^&*()"), true},
		{str(""), true},
		{str("a\"b"), false}, {str("back\\slash here"), false}, {str("tab\there"), false},
		{str("long enough to take the eight-byte loop \x7f"), true},
		{str("caf\u00e9 au lait, eight-byte loop"), false}, {str("bad \xff utf-8"), false},
		{str(string(make([]byte, 200))), false},
		{str(strings.Repeat("long, with a two-byte length ", 20)), true},
		{protowire.AppendString(tag(fieldJSON, protowire.BytesType), `{"a":[1,"x"],"b":{}}`), true},
		{protowire.AppendString(tag(fieldJSON, protowire.BytesType), "{\n\"a\": 1\n}"), true},
		{protowire.AppendString(tag(fieldJSON, protowire.BytesType), `{"a":`), false},
		{protowire.AppendString(tag(fieldJSON, protowire.BytesType), `[1] 2`), false},
		{protowire.AppendString(tag(fieldJSON, protowire.BytesType), strings.Repeat(`{"k":`, 30)+`0`+strings.Repeat(`}`, 30)), true},
		{protowire.AppendVarint(tag(fieldInteger, protowire.VarintType), protowire.EncodeZigZag(-123456789)), true},
		{protowire.AppendVarint(tag(fieldInteger, protowire.VarintType), math.MaxUint64), true},
		{protowire.AppendFixed64(tag(fieldNumber, protowire.Fixed64Type), math.Float64bits(3.25)), true},
		{protowire.AppendFixed64(tag(fieldNumber, protowire.Fixed64Type), math.Float64bits(math.NaN())), true},
		{protowire.AppendVarint(tag(fieldBoolean, protowire.VarintType), 1), true},
		{protowire.AppendVarint(tag(fieldBoolean, protowire.VarintType), 2), false},
		{protowire.AppendVarint(tag(fieldIsNull, protowire.VarintType), 1), true},
		{protowire.AppendVarint(tag(fieldIsNull, protowire.VarintType), 0), false},
		{protowire.AppendVarint(tag(fieldDate, protowire.VarintType), protowire.EncodeZigZag(-719528)), true},
		{protowire.AppendVarint(tag(fieldDate, protowire.VarintType), protowire.EncodeZigZag(1<<40)), false},
		{ts(1700000000, 0, 0), true},
		{ts(-62135596800, 999999999, -3600*14), true},
		{ts(1700000000, 1e9, 0), false},
		{withForm(ts(1700000000, 5000, 7200), uint64(offsetColon|sepSpace|(4<<formFracShift))), true},
		{withForm(ts(1700000000, 0, 0), 1<<15), false},
		{append(ts(1, 0, 0), str("x")...), false},
		{append(str("x"), str("y")...), false},
	}
	// Timestamps at the edges of the one-go writer: every offset style and
	// separator, offsets of hours, minutes and seconds, both signs, and
	// years around 0000 and 9999.
	for _, sec := range []int64{0, 1700000000, -1, 253402300799, 253402300800, -62167219200, -62167219201, 951782400} {
		for _, off := range []int32{0, 3600, -3600, 5400, -5400, 45, 18 * 3600, -18 * 3600} {
			for _, style := range []TextForm{offsetCanonical, offsetLowerZ, offsetColon, offsetCompact, offsetHours, offsetNone, formNegZero} {
				for _, sep := range []TextForm{0, sepLowerT, sepSpace} {
					checkFast(t, withForm(ts(sec, 0, off), uint64(style|sep)))
					checkFast(t, withForm(ts(sec, 1, off), uint64(style|sep)))
				}
			}
		}
	}
	for _, c := range cases {
		if got := checkFast(t, c.body); got != c.take {
			t.Errorf("body %x: fast path taken %v, want %v", c.body, got, c.take)
		}
		checkDirect(t, c.body)
	}
}

// FuzzValueFast holds the fast path to the walk on arbitrary bodies.
func FuzzValueFast(f *testing.F) {
	for i, b := range directSeeds(f) {
		if i%50 == 0 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFast(t, body) })
}

// TestCivilFast compares civilFast with civilFromDays on every day of
// years 0000 to 9999.
func TestCivilFast(t *testing.T) {
	for days := int64(-719528); days <= 2932896; days++ {
		y, m, d := civilFromDays(days)
		fy, fm, fd := civilFast(days)
		if int64(fy) != y || fm != m || fd != d {
			t.Fatalf("day %d: civilFast %d-%d-%d, civilFromDays %d-%d-%d", days, fy, fm, fd, y, m, d)
		}
	}
}

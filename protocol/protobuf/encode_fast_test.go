package protobuf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// valueWireGeneral is a data field the general way (recordEncoder.appendTo).
func valueWireGeneral(b []byte, v *pvalue) []byte {
	b = append(b, tagRecData, 0)
	at := len(b)
	return setLength(v.appendTo(b), at)
}

// TestValueWireMatches holds appendValueWire to the general writer on
// random values of every case, with and without forms and kept text, at
// the edges of the varints and of the short strings.
func TestValueWireMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	ints := []int64{0, 1, -1, 63, -64, 64, math.MaxInt64, math.MinInt64, 1 << 35}
	pick := func() int64 {
		if r.IntN(3) == 0 {
			return ints[r.IntN(len(ints))]
		}
		return r.Int64() >> r.IntN(64)
	}
	taken := 0
	for i := range 200000 {
		v := pvalue{c: uint8(r.IntN(fieldIsNull + 1)), b: r.IntN(2) == 0, i: pick(), u: uint64(pick()),
			f: r.NormFloat64(), nano: uint32(r.Int64N(2e9)), off: int32(r.Int64N(2*86400) - 86400)}
		if r.IntN(4) == 0 {
			v.nano = 0
		}
		if r.IntN(4) == 0 {
			v.off = 0
		}
		if r.IntN(3) == 0 {
			v.form = TextForm(r.IntN(1 << 12))
		}
		if r.IntN(10) == 0 {
			v.text = []byte(`"x"`)
		}
		v.s = bytes.Repeat([]byte{'s'}, r.IntN(fastStringMax+10))
		prefix := []byte{byte(i)}
		got, ok := appendValueWire(bytes.Clone(prefix), &v)
		if !ok {
			if !bytes.Equal(got, prefix) {
				t.Fatalf("%+v: declined but wrote %x", v, got)
			}
			continue
		}
		taken++
		if want := valueWireGeneral(bytes.Clone(prefix), &v); !bytes.Equal(got, want) {
			t.Fatalf("%+v:\nfast    %x\ngeneral %x", v, got, want)
		}
	}
	if taken < 30000 {
		t.Errorf("the fast writer took only %d values", taken)
	}
}

package protobuf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
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

// TestSettersClear checks that each RecordValues setter leaves the value
// it sets and nothing of the one before it.
func TestSettersClear(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"type":"object","properties":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := s.NewRecordValues()
	dirty := pvalue{c: fieldString, b: true, i: 1, u: 2, f: 3, nano: 4, off: 5, s: []byte("s"), form: 6, text: []byte("t")}
	for _, c := range []struct {
		set  func()
		want pvalue
	}{
		{func() { v.SetAbsent(0) }, pvalue{}},
		{func() { v.SetNull(0) }, pvalue{c: valNull}},
		{func() { v.SetInt(0, -7) }, pvalue{c: fieldInteger, i: -7}},
		{func() { v.SetNumber(0, 1.5) }, pvalue{c: fieldNumber, f: 1.5}},
		{func() { v.SetBool(0, true) }, pvalue{c: fieldBoolean, b: true}},
		{func() { v.SetString(0, "x") }, pvalue{c: fieldString, s: []byte("x")}},
		{func() { v.SetTimestampTZ(0, 9, 8, 60, 3) }, pvalue{c: fieldTimestampTZ, i: 9, nano: 8, off: 60, form: 3}},
		{func() { v.SetJSON(0, []byte("{}")) }, pvalue{c: fieldJSON, s: []byte("{}")}},
	} {
		v.vals[0] = dirty
		c.set()
		got := v.vals[0]
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("got %+v, want %+v", got, c.want)
		}
	}
}

// TestEnvelopeRoom checks that the frame is the same whatever room is
// left for its length prefixes, on bodies around the varint edges, and
// that the room returned is the prefixes' length.
func TestEnvelopeRoom(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"type":"object","properties":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := s.NewRecordValues()
	for _, n := range []int{0, 100, 110, 120, 121, 122, 123, 124, 125, 126, 127, 128, 200, 16360, 16370, 16380, 16390, 70000} {
		v.SetString(0, strings.Repeat("y", n))
		e := recordEncoder{schema: s, vals: v.vals, stream: []byte("s"), emittedAt: 7}
		want := appendRecordEnvelope([]byte("pre"), &e, true)
		for room := 0; room <= len(envelopeRoom); room++ {
			got, used := appendRecordEnvelopeRoom([]byte("pre"), &e, true, room)
			if !bytes.Equal(got, want) {
				t.Fatalf("string of %d, room %d: frames differ", n, room)
			}
			_, k := protowire.ConsumeVarint(got[3:])
			_, k2 := protowire.ConsumeVarint(got[3+k+1:])
			if used != k+1+k2 {
				t.Fatalf("string of %d, room %d: room %d returned, prefixes %d", n, room, used, k+1+k2)
			}
		}
	}
}

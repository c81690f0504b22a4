package protobuf

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Writing the common values of a record in place: a null, an absent
// property, an integer, a short string and a timestamp with timezone,
// each with no text kept. The bytes are pvalue.appendTo's, tag and
// length in front (TestValueWireMatches); any other value declines and
// goes the general way.

// fastStringMax is the longest string written here: its value body, tag
// and length included, stays under 128 bytes.
const fastStringMax = 120

// absentWire is the data field of an absent property.
var absentWire = string(append([]byte{tagRecData, byte(len(absentBody))}, absentBody...))

// appendValueWire appends v as a record's data field when it is one of
// the common shapes, and reports whether it did; b is unchanged when it
// did not.
func appendValueWire(b []byte, v *pvalue) ([]byte, bool) {
	if v.text != nil {
		return b, false
	}
	n := len(b)
	switch v.c {
	case valNull:
		if v.form != 0 {
			return b, false
		}
		return append(b, tagRecData, 2, tagIsNull, 1), true
	case 0:
		if v.form != 0 {
			return b, false
		}
		return append(b, absentWire...), true
	case fieldInteger:
		if v.form != 0 {
			return b, false
		}
		b = slices.Grow(b, 16)[:n+16]
		b[n], b[n+2] = tagRecData, tagInteger
		k := putVarint(b[n+3:], protowire.EncodeZigZag(v.i))
		b[n+1] = byte(1 + k)
		return b[:n+3+k], true
	case fieldString:
		if v.form != 0 || len(v.s) > fastStringMax {
			return b, false
		}
		b = append(b, tagRecData, byte(2+len(v.s)), tagString, byte(len(v.s)))
		return append(b, v.s...), true
	case fieldTimestampTZ:
		// At most 4 tag and length bytes, three varints with their tags
		// (33) and the form (5).
		b = slices.Grow(b, 48)[:n+48]
		b[n], b[n+2] = tagRecData, tagTimestampTZ
		p := n + 4
		if v.i != 0 {
			b[p] = 1<<3 | byte(protowire.VarintType)
			p += 1 + putVarint(b[p+1:], protowire.EncodeZigZag(v.i))
		}
		if v.nano != 0 {
			b[p] = 2<<3 | byte(protowire.VarintType)
			p += 1 + putVarint(b[p+1:], uint64(v.nano))
		}
		if v.off != 0 {
			b[p] = 3<<3 | byte(protowire.VarintType)
			p += 1 + putVarint(b[p+1:], protowire.EncodeZigZag(int64(v.off)))
		}
		b[n+3] = byte(p - n - 4)
		if v.form != 0 {
			b[p], b[p+1] = formTag0, formTag1
			p += 2 + putVarint(b[p+2:], uint64(v.form))
		}
		b[n+1] = byte(p - n - 2)
		return b[:p], true
	}
	return b, false
}

// putVarint writes x as a varint at the start of b, which has room for
// it, and returns its length.
func putVarint(b []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		b[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	b[i] = byte(x)
	return i + 1
}

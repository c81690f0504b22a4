package protobuf

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// The common value bodies, written without the general walk of
// appendValue: one member with a one-byte tag, for a date or time
// possibly followed by its form, and nothing else. A string is copied
// when it is printable ASCII (nothing to escape, nothing to validate); a
// JSON member is checked and written as the walk does.
// Whatever else a body holds, appendValueFast declines it, and
// appendValue's walk writes it (or reports its error): the fast path
// never decides anything the walk would decide otherwise
// (TestValueFastMatches, FuzzValueFast).

// Tags of the fast members.
const (
	tagBoolean     = fieldBoolean<<3 | byte(protowire.VarintType)
	tagString      = fieldString<<3 | byte(protowire.BytesType)
	tagInteger     = fieldInteger<<3 | byte(protowire.VarintType)
	tagNumber      = fieldNumber<<3 | byte(protowire.Fixed64Type)
	tagDate        = fieldDate<<3 | byte(protowire.VarintType)
	tagTimestampTZ = fieldTimestampTZ<<3 | byte(protowire.BytesType)
	tagJSON        = fieldJSON<<3 | byte(protowire.BytesType)
	tagIsNull      = fieldIsNull<<3 | byte(protowire.VarintType)
)

// onlyPayload returns the payload of body's first field, a length-
// delimited one, when that field is all of body.
func onlyPayload(body []byte) ([]byte, bool) {
	n, k := uvarint(body[1:])
	if k <= 0 || uint64(len(body)-1-k) != n {
		return nil, false
	}
	return body[1+k:], true
}

// appendValueFast writes body's JSON when body is one of the common
// shapes, and reports whether it did; dst is unchanged when it did not.
func appendValueFast(dst, body []byte) ([]byte, bool) {
	if len(body) < 2 {
		return dst, false
	}
	switch body[0] {
	case tagString:
		if p, ok := onlyPayload(body); ok {
			return appendASCII(dst, p)
		}
		return dst, false
	case tagJSON:
		p, ok := onlyPayload(body)
		if !ok {
			return dst, false
		}
		out, err := appendRawJSON(dst, p)
		if err != nil {
			return dst, false // the walk reports it
		}
		return out, true
	case tagInteger:
		v, n := uvarint(body[1:])
		if n <= 0 || 1+n != len(body) {
			return dst, false
		}
		return appendInt(dst, protowire.DecodeZigZag(v)), true
	case tagNumber:
		if len(body) != 9 {
			return dst, false
		}
		return appendNumberJSON(dst, math.Float64frombits(le64(body[1:]))), true
	case tagBoolean:
		if len(body) != 2 || body[1] > 1 {
			return dst, false
		}
		return strconv.AppendBool(dst, body[1] == 1), true
	case tagIsNull:
		if len(body) != 2 || body[1] != 1 {
			return dst, false
		}
		return append(dst, "null"...), true
	case tagDate:
		v, n := uvarint(body[1:])
		if n <= 0 || 1+n != len(body) {
			return dst, false
		}
		out, err := appendDate(append(dst, '"'), protowire.DecodeZigZag(v))
		if err != nil {
			return dst, false
		}
		return append(out, '"'), true
	case tagTimestampTZ:
		return appendTimestampTZFast(dst, body)
	}
	return dst, false
}

// appendTimestampTZFast writes an OffsetDateTime member, with its form
// when one follows it.
func appendTimestampTZFast(dst, body []byte) ([]byte, bool) {
	n := int(body[1])
	if n >= 0x80 || 2+n > len(body) {
		return dst, false
	}
	msg, rest := body[2:2+n], body[2+n:]
	var form TextForm
	if len(rest) > 0 {
		if len(rest) < 3 || rest[0] != formTag0 || rest[1] != formTag1 {
			return dst, false
		}
		v, k := uint64(rest[2]), 1
		if v >= 0x80 {
			v, k = protowire.ConsumeVarint(rest[2:])
		}
		if k <= 0 || 2+k != len(rest) || v&^uint64(formAll) != 0 {
			return dst, false
		}
		form = TextForm(v)
	}
	var t temporal
	for len(msg) > 0 {
		tag := msg[0]
		v, k := uvarint(msg[1:])
		if k <= 0 {
			return dst, false
		}
		msg = msg[1+k:]
		switch tag {
		case 1<<3 | byte(protowire.VarintType):
			t.i = protowire.DecodeZigZag(v)
		case 2<<3 | byte(protowire.VarintType):
			t.nano = uint32(v)
		case 3<<3 | byte(protowire.VarintType):
			t.off = int32(protowire.DecodeZigZag(v & math.MaxUint32))
		default:
			return dst, false
		}
	}
	if out, ok := appendTimestampQuoted(dst, t.i, t.nano, t.off, form); ok {
		return out, true
	}
	out, err := appendOffsetDateTime(append(dst, '"'), t.i, t.nano, t.off, form)
	if err != nil {
		return dst, false
	}
	return append(out, '"'), true
}

// formTag is the two bytes of extForm's tag, a varint; formTag0 and
// formTag1 are they as constants (TestFormTag).
var formTag = protowire.AppendTag(nil, extForm, protowire.VarintType)

const (
	formTag0 = byte(extForm<<3&0x7f | 0x80)
	formTag1 = byte(extForm << 3 >> 7)
)

// appendASCII writes s quoted when every byte is printable ASCII that
// JSON does not escape, eight bytes at a time.
func appendASCII(dst, s []byte) ([]byte, bool) {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := le64(s[i:])
		// A byte >= 0x80, < 0x20, '"' or '\\' stops the copy.
		if (w|(w-0x2020202020202020)|hasByte(w, '"')|hasByte(w, '\\'))&0x8080808080808080 != 0 {
			return dst, false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return dst, false
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}

// hasByte has the high bit set in each byte of w equal to c (and maybe in
// bytes above one that is: only a zero result is exact, which is all the
// caller uses).
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (0x0101010101010101 * uint64(c))
	return (x - 0x0101010101010101) &^ x
}

// le64 reads eight little-endian bytes.
func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// uvarint is protowire.ConsumeVarint for varints of up to five bytes
// (epoch seconds, most lengths and integers) without a call; longer ones
// go to it.
func uvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	if len(b) >= 5 {
		v := uint64(b[0]) & 0x7f
		c := uint64(b[1])
		v |= (c & 0x7f) << 7
		if c < 0x80 {
			return v, 2
		}
		c = uint64(b[2])
		v |= (c & 0x7f) << 14
		if c < 0x80 {
			return v, 3
		}
		c = uint64(b[3])
		v |= (c & 0x7f) << 21
		if c < 0x80 {
			return v, 4
		}
		c = uint64(b[4])
		v |= (c & 0x7f) << 28
		if c < 0x80 {
			return v, 5
		}
	}
	return protowire.ConsumeVarint(b)
}

// appendInt is strconv.AppendInt in base 10, two digits at a time for
// the integers of up to 16 digits that records mostly hold.
func appendInt(dst []byte, x int64) []byte {
	if x < 0 || x >= 1e16 {
		return strconv.AppendInt(dst, x, 10)
	}
	var buf [16]byte
	i := len(buf)
	u := uint64(x)
	for u >= 100 {
		q := u / 100
		r := u - q*100
		i -= 2
		buf[i], buf[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(dst, buf[i:]...)
}

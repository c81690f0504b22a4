package protobuf

import (
	"encoding/binary"
	"slices"
)

// Writing the common timestamps with timezone in one go: years 0000-9999,
// whole seconds, an offset of whole minutes, and a form that only chooses
// the separator and the offset's style. appendOffsetDateTime writes
// everything else; for these, both write the same bytes
// (TestValueFastMatches, FuzzValueFast through appendValueFast).

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// pairs holds "00" to "99" as little-endian uint16s, and zeros up to a
// power of two, so that an index masked with 127 needs no bounds check.
var pairs = func() (t [128]uint16) {
	for i := range 100 {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return t
}()

// utcColon is `+00:00"` and a byte past it, little-endian.
const utcColon = '+' | '0'<<8 | '0'<<16 | ':'<<24 | '0'<<32 | '0'<<40 | '"'<<48

// appendTimestampQuoted writes the quoted text of an OffsetDateTime, or
// reports false, with dst unchanged, when it is not one of the common
// ones. It writes at fixed places in room it makes first: the text is at
// most 28 bytes ("YYYY-MM-DDTHH:MM:SS+HH:MM" and the quotes).
func appendTimestampQuoted(dst []byte, epochSec int64, nano uint32, off int32, form TextForm) ([]byte, bool) {
	if nano != 0 || form&^(formOffset|formSep) != 0 || off%60 != 0 ||
		off > maxOffsetSeconds || off < -maxOffsetSeconds || epochSec > 253402300799 || epochSec < -62167219200-maxOffsetSeconds {
		return dst, false
	}
	local := epochSec + int64(off)
	var days int64
	if local >= 0 {
		days = int64(uint64(local) / secondsPerDay) // no sign to correct for
	} else {
		days = floorDiv(local, secondsPerDay)
	}
	secs := int(local - days*secondsPerDay)
	if days < -719528 || days > 2932896 { // not in years 0000-9999
		return dst, false
	}
	y, m, d := civilFast(days)
	var sep byte = 'T'
	switch form & formSep {
	case sepLowerT:
		sep = 't'
	case sepSpace:
		sep = ' '
	}
	n := len(dst)
	if cap(dst)-n < 28 {
		dst = slices.Grow(dst, 28)
	}
	b := dst[n : n+28]
	h, mi, sc := secs/3600, secs/60%60, secs%60
	// Eight bytes at a time: `"YYYY-MM`, `-DDTHH:M`, `M:SS`.
	binary.LittleEndian.PutUint64(b[0:], '"'|uint64(pairs[y/100&127])<<8|uint64(pairs[y%100&127])<<24|'-'<<40|uint64(pairs[m&127])<<48)
	mm := pairs[mi&127]
	binary.LittleEndian.PutUint64(b[8:], '-'|uint64(pairs[d&127])<<8|uint64(sep)<<24|uint64(pairs[h&127])<<32|':'<<48|uint64(mm&0xff)<<56)
	binary.LittleEndian.PutUint32(b[16:], uint32(mm>>8)|':'<<8|uint32(pairs[sc&127])<<16)
	k := 6
	if off == 0 && form&formOffset == offsetColon {
		binary.LittleEndian.PutUint64(b[20:], utcColon) // UTC as most sources write it
	} else {
		k = putOffsetFast(b[20:27], off, form&formOffset)
	}
	b[20+k] = '"' // already there after +00:00
	return dst[:n+21+k], true
}

// putOffsetFast writes, at the start of b, the offset appendOffset writes
// for an offset of whole minutes in range with a form that has no other
// bits than the style, and returns its length.
func putOffsetFast(b []byte, off int32, style TextForm) int {
	b = b[:6]
	if off == 0 {
		switch style {
		case offsetLowerZ:
			b[0] = 'z'
			return 1
		case offsetNone:
			return 0
		case offsetColon, offsetCompact, offsetHours:
		default:
			b[0] = 'Z'
			return 1
		}
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, mi := int(off/3600), int(off/60%60)
	b[0], b[1], b[2] = sign, digitPairs[2*h], digitPairs[2*h+1]
	switch {
	case style == offsetHours && mi == 0:
		return 3
	case style == offsetCompact:
		b[3], b[4] = digitPairs[2*mi], digitPairs[2*mi+1]
		return 5
	}
	b[3], b[4], b[5] = ':', digitPairs[2*mi], digitPairs[2*mi+1]
	return 6
}

// civilFast is civilFromDays for the days of years 0000 to 9999 (days
// from -719528 to 2932896), in 32-bit arithmetic without divisions by
// anything but constants (Neri and Schneider's Euclidean affine form,
// shifted so that every intermediate is unsigned).
func civilFast(days int64) (y, m, d int) {
	const shift = 82 // centuries of 146097 days added to keep n positive
	n := uint32(days + 719468 + 146097*shift)
	n1 := 4*n + 3
	c := n1 / 146097
	nc := n1 % 146097 / 4
	n2 := 4*nc + 3
	p2 := 2939745 * uint64(n2)
	z := uint32(p2 >> 32)
	ny := uint32(p2) / 2939745 / 4
	n3 := 2141*ny + 197913
	mm, dd := n3>>16, n3&0xFFFF/2141
	yy := 100*c + z
	if ny >= 306 {
		yy++
		mm -= 12
	}
	return int(yy) - shift*400, int(mm), int(dd) + 1
}

package protobuf

import (
	"math"
	"strconv"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// JSON number helpers for the codec's hot path. They work on bytes the
// scanner has already validated, and never allocate beyond the buffers
// they are given.

// appendFloatJSON appends f as encoding/json writes a float64: the shortest
// text that parses back to f, in exponent form only below 1e-6 or from 1e21.
// f must be finite.
func appendFloatJSON(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-07 into e-7, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// isJSONNumber reports whether b is exactly one JSON number.
func isJSONNumber(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	s := jsonscan.Scanner{Buf: b}
	if c := b[0]; c != '-' && (c < '0' || c > '9') {
		return false
	}
	return s.Number() == nil && s.Pos == len(b)
}

// isJSONInteger reports whether the JSON number b has no fraction or
// exponent.
func isJSONInteger(b []byte) bool {
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// maxFloatDigits is the most significant digits the shortest form of a
// float64 can have.
const maxFloatDigits = 17

// decimal is a JSON number reduced to sign, significant digits without
// leading or trailing zeros, and a power of ten: value = digits × 10^exp.
type decimal struct {
	neg    bool
	digits [maxFloatDigits]byte
	n      int
	exp    int64
}

// parseDecimal reduces a valid JSON number. ok is false when it has more
// than maxFloatDigits significant digits, which no float64 prints as.
func parseDecimal(b []byte) (d decimal, ok bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		d.neg = true
		i++
	}
	var scale int64 // digits after the decimal point
	zeros := 0      // trailing zeros not yet committed to digits
	frac := false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			frac = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if frac {
			scale++
		}
		if c == '0' {
			if d.n > 0 {
				zeros++
			}
			continue
		}
		if d.n+zeros+1 > maxFloatDigits {
			return d, false
		}
		for ; zeros > 0; zeros-- {
			d.digits[d.n] = '0'
			d.n++
		}
		d.digits[d.n] = c
		d.n++
	}
	d.exp = int64(zeros) - scale
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		var e int64
		for ; i < len(b); i++ {
			if e < 1<<40 { // saturate: such exponents never compare equal anyway
				e = e*10 + int64(b[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		d.exp += e
	}
	if d.n == 0 {
		d.neg, d.exp = false, 0 // every zero is the same value
	}
	return d, true
}

// floatExact reports whether the JSON number text holds exactly the value
// of the float64 it parses to, where the float's value is taken to be its
// shortest decimal form. 0.1 qualifies; 0.10000000000000000001 and
// 12345678901234567891 do not. It returns the float.
func floatExact(text []byte, scratch []byte) (float64, bool) {
	// Integers of up to 15 digits are exact doubles: skip the formatting.
	if len(text) <= 15 && isJSONInteger(text) {
		if v, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			if v == 0 && text[0] == '-' {
				return math.Copysign(0, -1), true
			}
			return float64(v), true
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	canon := appendFloatJSON(scratch[:0], f)
	if string(canon) == string(text) {
		return f, true
	}
	a, ok := parseDecimal(text)
	if !ok {
		return 0, false
	}
	b, _ := parseDecimal(canon)
	return f, a.neg == b.neg && a.n == b.n && a.exp == b.exp && a.digits == b.digits
}

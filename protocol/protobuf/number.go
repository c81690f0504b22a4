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

// floatCanonical reports whether the JSON number text is exactly the
// shortest form of the float64 it parses to, the form the decoder writes
// for a `number` (appendFloatJSON), and returns the float. 0.1 and 1e-7
// qualify; 1.0, 1E3, 0.10 and 12345678901234567891 do not: they travel as
// big_decimal, with their text, so the destination gets what the source
// wrote.
func floatCanonical(text []byte, scratch []byte) (float64, bool) {
	// Integers of up to 15 digits are exact doubles written in their
	// shortest form (-0 included): skip the formatting.
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
	return f, string(appendFloatJSON(scratch[:0], f)) == string(text)
}

package protobuf

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// convert turns one JSON value into a protobuf value of the given kind.
func (e *recordEncoder) convert(v *pvalue, kind ValueKind, raw []byte) {
	if raw[0] == 'n' {
		v.c = valNull
		return
	}
	if kind == KindJSON {
		v.c, v.s = fieldJSON, raw
		return
	}
	switch raw[0] {
	case '"':
		text, escaped, ok := e.unquote(raw)
		if !ok {
			e.stats.Coerced++
			v.c, v.s = fieldJSON, raw
			return
		}
		if e.temporal(v, kind, text) {
			return
		}
		if kind != KindString {
			e.stats.Coerced++
		}
		v.c, v.s = fieldString, text
		if escaped && !jsonscan.IsCanonical(raw, text) {
			v.text = raw // escapes the decoder would not write: keep them
		}
		return
	case 't', 'f':
		if kind == KindBoolean {
			v.c, v.b = fieldBoolean, raw[0] == 't'
			return
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		switch kind {
		case KindInteger:
			if isJSONInteger(raw) {
				e.integer(v, raw)
				return
			}
			e.stats.Coerced++
			e.number(v, raw)
			return
		case KindNumber:
			e.number(v, raw)
			return
		}
	}
	e.stats.Coerced++
	v.c, v.s = fieldJSON, raw
}

// temporal converts the text of a date or time property to its typed
// member, noting the text's form, and reports whether it could.
func (e *recordEncoder) temporal(v *pvalue, kind ValueKind, text []byte) bool {
	switch kind {
	case KindDate:
		if days, n, ok := parseDate(text); ok && n == len(text) {
			v.c, v.i = fieldDate, days
			return true
		}
	case KindTimeWithoutTimezone:
		if nanos, _, form, has, ok := parseTimeOfDay(text); ok && !has {
			v.c, v.u, v.form = fieldTimeNoTZ, nanos, form
			return true
		}
	case KindTimeWithTimezone:
		if nanos, off, form, has, ok := parseTimeOfDay(text); ok {
			v.c, v.u, v.off, v.form = fieldTimeTZ, nanos, off, withOffset(form, has)
			return true
		}
	case KindTimestampWithoutTimezone:
		if days, nanos, _, form, has, ok := parseDateTime(text); ok && !has {
			v.c, v.i, v.u, v.form = fieldTimestamp, days, nanos, form
			return true
		}
	case KindTimestampWithTimezone:
		if days, nanos, off, form, has, ok := parseDateTime(text); ok {
			v.c = fieldTimestampTZ
			v.i = epochSecond(days, nanos, off)
			v.nano = uint32(nanos % nanosPerSecond)
			v.off = off
			v.form = withOffset(form, has)
			return true
		}
	}
	return false
}

// unquote unescapes a JSON string into e.text, and reports whether it
// held escapes.
func (e *recordEncoder) unquote(raw []byte) (text []byte, escaped, ok bool) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, false, utf8.Valid(body)
	}
	start := len(e.text)
	out, ok := jsonscan.Unquote(e.text, raw)
	e.text = out
	return out[start:], true, ok
}

func (e *recordEncoder) integer(v *pvalue, raw []byte) {
	var n uint64
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) <= 19 {
		for _, c := range digits {
			n = n*10 + uint64(c-'0')
		}
		switch {
		case n == 0 && neg:
			// -0 is not an int64; keep the text so it round-trips.
		case !neg && n <= math.MaxInt64:
			v.c, v.i = fieldInteger, int64(n)
			return
		case neg && n <= 1<<63:
			v.c, v.i = fieldInteger, -int64(n-1)-1
			return
		}
	}
	v.c, v.s = fieldBigInteger, raw
}

func (e *recordEncoder) number(v *pvalue, raw []byte) {
	if f, ok := floatCanonical(raw, e.scratch[:]); ok {
		v.c, v.f = fieldNumber, f
		return
	}
	v.c, v.s = fieldBigDecimal, raw
}

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
		return // null
	}
	if kind == KindJSON {
		v.c, v.s = fieldJSON, raw
		return
	}
	switch raw[0] {
	case '"':
		text, ok := e.unquote(raw)
		if !ok {
			e.stats.Coerced++
			v.c, v.s = fieldJSON, raw
			return
		}
		switch kind {
		case KindString:
			v.c, v.s = fieldString, text
			return
		case KindDate:
			if days, n, ok := parseDate(text); ok && n == len(text) {
				v.c, v.i = fieldDate, days
				return
			}
		case KindTimeWithoutTimezone:
			if nanos, _, has, ok := parseTimeOfDay(text); ok && !has {
				v.c, v.u = fieldTimeNoTZ, nanos
				return
			}
		case KindTimeWithTimezone:
			if nanos, off, _, ok := parseTimeOfDay(text); ok {
				v.c, v.u, v.off = fieldTimeTZ, nanos, off
				return
			}
		case KindTimestampWithoutTimezone:
			if days, nanos, _, has, ok := parseDateTime(text); ok && !has {
				v.c, v.i, v.u = fieldTimestamp, days, nanos
				return
			}
		case KindTimestampWithTimezone:
			if days, nanos, off, _, ok := parseDateTime(text); ok {
				v.c = fieldTimestampTZ
				v.i = epochSecond(days, nanos, off)
				v.nano = uint32(nanos % nanosPerSecond)
				v.off = off
				return
			}
		}
		e.stats.Coerced++
		v.c, v.s = fieldString, text
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

// unquote unescapes a JSON string into e.text.
func (e *recordEncoder) unquote(raw []byte) ([]byte, bool) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, utf8.Valid(body)
	}
	start := len(e.text)
	out, ok := jsonscan.Unquote(e.text, raw)
	e.text = out
	return out[start:], ok
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
	if f, ok := floatExact(raw, e.scratch[:]); ok {
		v.c, v.f = fieldNumber, f
		return
	}
	v.c, v.s = fieldBigDecimal, raw
}

package protobuf

import (
	"errors"
	"strconv"
)

// Temporal values for the protobuf codec. Parsing accepts RFC 3339 and the
// looser forms Airbyte connectors write, and notes how the text departs
// from one canonical RFC 3339 form (form.go); formatting writes the
// canonical form, or the one noted. The arithmetic is done on civil dates directly
// (proleptic Gregorian, as java.time does), which is both faster than going
// through time.Time and defined for every year java.time supports.

const (
	nanosPerSecond = 1_000_000_000
	secondsPerDay  = 86_400
	nanosPerDay    = secondsPerDay * nanosPerSecond
	// maxOffsetSeconds is java.time's limit on a UTC offset: ±18:00.
	maxOffsetSeconds = 18 * 3600
	// maxEpochDay bounds a date to java.time's years ±999,999,999, so the
	// arithmetic below cannot overflow.
	maxEpochDay = 365_241_780_471
)

var errTemporalRange = errors.New("temporal value out of range")

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits parses exactly n ASCII digits at b[i:].
func digits(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDate parses YYYY-MM-DD at the start of b and returns the epoch day
// and the bytes used.
func parseDate(b []byte) (days int64, n int, ok bool) {
	y, ok1 := digits(b, 0, 4)
	m, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' {
		return 0, 0, false
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(int64(y), m) {
		return 0, 0, false
	}
	return daysFromCivil(int64(y), m, d), 10, true
}

// parseClock parses HH:MM[:SS[.fraction]] at the start of b, with up to
// nine fraction digits, and returns the nanoseconds of the day and how the
// text departs from the canonical form (no seconds, fraction digits).
func parseClock(b []byte) (nanos uint64, n int, form TextForm, ok bool) {
	h, ok1 := digits(b, 0, 2)
	mi, ok2 := digits(b, 3, 2)
	if !ok1 || !ok2 || b[2] != ':' || h > 23 || mi > 59 {
		return 0, 0, 0, false
	}
	n = 5
	var s, frac int
	if n < len(b) && b[n] == ':' {
		var ok3 bool
		if s, ok3 = digits(b, n+1, 2); !ok3 || s > 59 {
			return 0, 0, 0, false
		}
		n += 3
		if n < len(b) && b[n] == '.' {
			n++
			start := n
			for n < len(b) && '0' <= b[n] && b[n] <= '9' {
				if n-start == 9 {
					return 0, 0, 0, false // finer than nanoseconds: keep as text
				}
				frac = frac*10 + int(b[n]-'0')
				n++
			}
			if n == start {
				return 0, 0, 0, false
			}
			for k := n - start; k < 9; k++ {
				frac *= 10
			}
			if d := n - start; d != fracDigits(uint64(frac)) {
				form |= TextForm(d+1) << formFracShift
			}
		}
	} else {
		form |= formNoSeconds
	}
	secs := uint64(h*3600 + mi*60 + s)
	return secs*nanosPerSecond + uint64(frac), n, form, true
}

// parseOffset parses Z, ±HH:MM, ±HHMM or ±HH at the start of b.
func parseOffset(b []byte) (secs int32, n int, form TextForm, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	switch b[0] {
	case 'Z':
		return 0, 1, 0, true
	case 'z':
		return 0, 1, offsetLowerZ, true
	case '+', '-':
	default:
		return 0, 0, 0, false
	}
	h, ok := digits(b, 1, 2)
	if !ok {
		return 0, 0, 0, false
	}
	n, form = 3, offsetHours
	m := 0
	switch {
	case len(b) >= 6 && b[3] == ':':
		if m, ok = digits(b, 4, 2); !ok {
			return 0, 0, 0, false
		}
		n, form = 6, offsetColon
	case len(b) >= 5 && b[3] != ':':
		if m, ok = digits(b, 3, 2); !ok {
			return 0, 0, 0, false
		}
		n, form = 5, offsetCompact
	}
	if m > 59 {
		return 0, 0, 0, false
	}
	secs = int32(h*3600 + m*60)
	if secs > maxOffsetSeconds {
		return 0, 0, 0, false
	}
	switch {
	case secs == 0 && b[0] == '-':
		form |= formNegZero
	case secs != 0 && form == offsetColon:
		form = 0 // the canonical form of an offset that is not UTC
	}
	if b[0] == '-' {
		secs = -secs
	}
	return secs, n, form, true
}

// parseTimeOfDay parses a time with an optional offset. hasOffset reports
// whether one was present.
func parseTimeOfDay(b []byte) (nanos uint64, off int32, form TextForm, hasOffset, ok bool) {
	nanos, n, form, ok := parseClock(b)
	if !ok {
		return 0, 0, 0, false, false
	}
	if n == len(b) {
		return nanos, 0, form, false, true
	}
	off, m, oform, ok := parseOffset(b[n:])
	if !ok || n+m != len(b) {
		return 0, 0, 0, false, false
	}
	return nanos, off, form | oform, true, true
}

// parseDateTime parses a date, 'T' (or 't' or a space), a time and an
// optional offset.
func parseDateTime(b []byte) (days int64, nanos uint64, off int32, form TextForm, hasOffset, ok bool) {
	days, n, ok := parseDate(b)
	if !ok || n >= len(b) {
		return 0, 0, 0, 0, false, false
	}
	var sep TextForm
	switch b[n] {
	case 'T':
	case 't':
		sep = sepLowerT
	case ' ':
		sep = sepSpace
	default:
		return 0, 0, 0, 0, false, false
	}
	nanos, off, form, hasOffset, ok = parseTimeOfDay(b[n+1:])
	return days, nanos, off, form | sep, hasOffset, ok
}

// appendDate writes a date as java.time's LocalDate.toString does:
// YYYY-MM-DD, with a sign and more digits outside years 0000-9999.
func appendDate(dst []byte, days int64) ([]byte, error) {
	if days > maxEpochDay || days < -maxEpochDay {
		return dst, errTemporalRange
	}
	y, m, d := civilFromDays(days)
	switch {
	case y > 9999:
		dst = append(dst, '+')
		dst = strconv.AppendInt(dst, y, 10)
	case y < 0:
		dst = append(dst, '-')
		dst = appendPadded(dst, uint64(-y), 4)
	default:
		dst = appendPadded(dst, uint64(y), 4)
	}
	dst = append(dst, '-')
	dst = appendPadded(dst, uint64(m), 2)
	dst = append(dst, '-')
	return appendPadded(dst, uint64(d), 2), nil
}

// appendPadded writes v in decimal with at least width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	// Fast paths for the fields of dates and times.
	switch {
	case width == 2 && v < 100:
		return append(dst, byte('0'+v/10), byte('0'+v%10))
	case width == 4 && v < 10000:
		hi, lo := v/100, v%100
		return append(dst, byte('0'+hi/10), byte('0'+hi%10), byte('0'+lo/10), byte('0'+lo%10))
	}
	var buf [20]byte
	i := len(buf)
	for v > 0 || len(buf)-i < width {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[i:]...)
}

// appendClock writes HH:MM:SS and a fraction as the form says; in the
// canonical form, the fraction only when not zero and without trailing
// zeros. A form the value does not allow (no seconds for a time that has
// them, fewer fraction digits than it needs) is ignored.
func appendClock(dst []byte, nanos uint64, form TextForm) ([]byte, error) {
	if nanos >= nanosPerDay {
		return dst, errTemporalRange
	}
	secs := nanos / nanosPerSecond
	frac := nanos % nanosPerSecond
	dst = appendPadded(dst, secs/3600, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, secs/60%60, 2)
	if form&formNoSeconds != 0 && secs%60 == 0 && frac == 0 {
		return dst, nil
	}
	dst = append(dst, ':')
	dst = appendPadded(dst, secs%60, 2)
	width := fracDigits(frac)
	if w := int(form&formFrac>>formFracShift) - 1; w > width && w <= 9 {
		width = w
	}
	if width > 0 {
		for k := width; k < 9; k++ {
			frac /= 10
		}
		dst = append(dst, '.')
		dst = appendPadded(dst, frac, width)
	}
	return dst, nil
}

// fracDigits is the number of digits the fraction of a second needs:
// nine less its trailing zeros, and none for zero.
func fracDigits(frac uint64) int {
	if frac == 0 {
		return 0
	}
	n := 9
	for frac%10 == 0 {
		frac /= 10
		n--
	}
	return n
}

// appendOffset writes an offset in the form's style; canonically Z for
// UTC, else ±HH:MM (±HH:MM:SS when the offset has seconds). A style the
// offset does not allow (z or none for an offset that is not UTC, ±HH for
// one with minutes) gives the canonical form.
func appendOffset(dst []byte, off int32, form TextForm) ([]byte, error) {
	if off > maxOffsetSeconds || off < -maxOffsetSeconds {
		return dst, errTemporalRange
	}
	style := form & formOffset
	if off == 0 {
		switch style {
		case offsetLowerZ:
			return append(dst, 'z'), nil
		case offsetNone:
			return dst, nil
		case offsetColon, offsetCompact, offsetHours:
		default:
			return append(dst, 'Z'), nil
		}
	}
	sign := byte('+')
	if off < 0 || (off == 0 && form&formNegZero != 0) {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = appendPadded(dst, uint64(off/3600), 2)
	switch {
	case off%60 != 0:
		dst = append(dst, ':')
		dst = appendPadded(dst, uint64(off/60%60), 2)
		dst = append(dst, ':')
		return appendPadded(dst, uint64(off%60), 2), nil
	case style == offsetHours && off%3600 == 0:
		return dst, nil
	case style == offsetCompact:
		return appendPadded(dst, uint64(off/60%60), 2), nil
	}
	dst = append(dst, ':')
	return appendPadded(dst, uint64(off/60%60), 2), nil
}

// epochSecond converts a local date-time at an offset to seconds since the
// epoch, and back.
func epochSecond(days int64, nanos uint64, off int32) int64 {
	return days*secondsPerDay + int64(nanos/nanosPerSecond) - int64(off)
}

// appendLocalDateTime writes a date, the form's separator and a time.
func appendLocalDateTime(dst []byte, days int64, nanos uint64, form TextForm) ([]byte, error) {
	dst, err := appendDate(dst, days)
	if err != nil {
		return dst, err
	}
	switch form & formSep {
	case sepLowerT:
		dst = append(dst, 't')
	case sepSpace:
		dst = append(dst, ' ')
	default:
		dst = append(dst, 'T')
	}
	return appendClock(dst, nanos, form)
}

// appendOffsetDateTime writes an instant in the given offset, by default
// as YYYY-MM-DDTHH:MM:SS[.f]Z or ...±HH:MM.
func appendOffsetDateTime(dst []byte, epochSec int64, nano uint32, off int32, form TextForm) ([]byte, error) {
	if nano >= nanosPerSecond || off > maxOffsetSeconds || off < -maxOffsetSeconds ||
		epochSec > maxEpochDay*secondsPerDay || epochSec < -maxEpochDay*secondsPerDay {
		return dst, errTemporalRange
	}
	local := epochSec + int64(off)
	days := floorDiv(local, secondsPerDay)
	secs := local - days*secondsPerDay
	dst, err := appendLocalDateTime(dst, days, uint64(secs)*nanosPerSecond+uint64(nano), form)
	if err != nil {
		return dst, err
	}
	return appendOffset(dst, off, form)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

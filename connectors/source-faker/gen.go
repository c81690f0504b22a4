package main

import (
	"strconv"
	"sync"
)

// rng is a small deterministic generator: splitmix64 to seed from a
// record's identity, then xorshift64*. Records are generated from their
// id alone, so a resumed read produces exactly the records a full one
// would, without replaying the ones before.
type rng struct{ s uint64 }

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRNG returns the generator of record id in a stream.
func newRNG(seed int64, stream uint64, id int64) rng {
	s := splitmix(uint64(seed) ^ splitmix(stream^uint64(id)*0x2545f4914f6cdd1d))
	if s == 0 {
		s = 1
	}
	return rng{s}
}

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 0x2545f4914f6cdd1d
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// pick returns one of words.
func (r *rng) pick(words []string) string { return words[r.intn(len(words))] }

// chance reports true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

// appendTime appends t (Unix seconds) as RFC 3339 in UTC with a +00:00
// offset, the way Airbyte's faker writes timestamps. It is most of the
// cost of generating a JSON record, so the date comes from a table for
// days between dateFirst and dateFirst+dateCount (years 2000 to 2099),
// and the record is written with one append.
func appendTime(b []byte, t int64) []byte {
	days := t / 86400
	secs := t % 86400
	if secs < 0 {
		secs += 86400
		days--
	}
	d := days - dateFirst
	if d < 0 || d >= dateCount {
		return appendTimeCivil(b, days, secs)
	}
	var out [25]byte
	copy(out[:10], dateTable()[d*10:d*10+10])
	h, m, s := secs/3600, secs/60%60, secs%60
	out[10] = 'T'
	out[11], out[12] = byte('0'+h/10), byte('0'+h%10)
	out[13] = ':'
	out[14], out[15] = byte('0'+m/10), byte('0'+m%10)
	out[16] = ':'
	out[17], out[18] = byte('0'+s/10), byte('0'+s%10)
	copy(out[19:], "+00:00")
	return append(b, out[:]...)
}

// The date table of appendTime: "YYYY-MM-DD" of each day from 2000-01-01.
const (
	dateFirst = 10957 // 2000-01-01, in days since the epoch
	dateCount = 36525 // to 2099-12-31
)

var dateTable = sync.OnceValue(func() []byte {
	t := make([]byte, 0, dateCount*10)
	for d := int64(0); d < dateCount; d++ {
		y, m, day := civil(dateFirst + d)
		t = append4(t, y)
		t = append(t, '-')
		t = append2(t, m)
		t = append(t, '-')
		t = append2(t, day)
	}
	return t
})

// appendTimeCivil is appendTime for any day.
func appendTimeCivil(b []byte, days, secs int64) []byte {
	y, m, d := civil(days)
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(secs/3600))
	b = append(b, ':')
	b = append2(b, int(secs/60%60))
	b = append(b, ':')
	b = append2(b, int(secs%60))
	return append(b, "+00:00"...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(z int64) (year, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendInt appends a decimal integer.
func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendCents appends cents as a decimal number with two places.
func appendCents(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.')
	return append2(b, int(cents%100))
}

// appendStr appends a JSON string of a value known to need no escaping
// (the word lists hold plain ASCII).
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// padding is the filler of record_bytes.
const padding = "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed-do-eiusmod-tempor-incididunt-ut-labore-et-dolore-magna-aliqua-"

// closeRecord ends a record object, first padding it with a "padding"
// string so the object is about size bytes (0: no padding).
func closeRecord(b []byte, start, size int) []byte {
	const overhead = len(`,"padding":""}`)
	if n := size - (len(b) - start) - overhead; size > 0 && n > 0 {
		b = append(b, `,"padding":"`...)
		for n > 0 {
			k := min(n, len(padding))
			b = append(b, padding[:k]...)
			n -= k
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

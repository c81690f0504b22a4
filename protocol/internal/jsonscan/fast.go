package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// The fast path. Every byte of a record's data passes through the skipper,
// so it is written for what connectors print: compact JSON, strings
// without escapes, short numbers. It reads string bodies eight bytes at a
// time (SWAR: one 64-bit load and a few ALU operations find the first
// quote, backslash or control byte), keeps the kinds of open containers
// in one register, and makes no calls. It accepts only input that is
// valid JSON, and where it meets anything it was not written for (an
// escape, nesting past 64 levels, a malformed value) it gives up rather
// than decide: the caller then runs the full scanner from the same
// offset, which gives the verdict and the error. So the two can never
// disagree on what is valid (FuzzSkipFast checks that on every input).

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stopMask has the high bit set in each byte of x that may end a plain
// run in a string: a byte below '#' (a control byte, a quote, or a space
// or '!', which the callers step over) or a backslash. Only the lowest
// set bit is exact (a borrow can mark bytes above a real match), which is
// all the callers use. Folding the quote into one comparison with the
// control bytes saves a third of the work per word.
func stopMask(x uint64) uint64 {
	e := x ^ (lows * '\\')
	return (((x - lows*'#') &^ x) | ((e - lows) &^ e)) & highs
}

// PlainString returns the offset just past the closing quote of a string
// whose body starts at i (just after its opening quote), or ok false when
// the body holds an escape or a control byte, or does not end. Each word
// is sliced once (b[i:i+8]), so its bytes are read without further bounds
// checks; the last few bytes of a buffer go to plainTail.
func PlainString(b []byte, i int) (end int, ok bool) {
	for i+8 <= len(b) {
		w := b[i : i+8]
		if m := stopMask(binary.LittleEndian.Uint64(w)); m != 0 {
			k := bits.TrailingZeros64(m) >> 3 & 7
			i += k + 1
			if w[k]-' ' < 2 { // a space or '!'
				continue
			}
			return i, w[k] == '"'
		}
		i += 8
		// A long run: two words a step until one of them has a stop,
		// which the loop above then finds.
		for i+16 <= len(b) {
			w := b[i : i+16]
			if stopMask(binary.LittleEndian.Uint64(w))|stopMask(binary.LittleEndian.Uint64(w[8:])) != 0 {
				break
			}
			i += 16
		}
	}
	return plainTail(b, i)
}

func plainTail(b []byte, i int) (int, bool) {
	for ; i < len(b); i++ {
		if stringStop[b[i]] {
			return i + 1, b[i] == '"'
		}
	}
	return i, false
}

// skipSpaceAt skips a run of JSON whitespace at b[i:].
func skipSpaceAt(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// numberEnd returns the end of a JSON number starting at i, or ok false.
func numberEnd(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else if '1' <= b[i] && b[i] <= '9' {
		i++
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
	} else {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == start {
			return i, false
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i]-'0' < 10 {
			i++
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}

// fastLevels is how deep the fast skipper nests; deeper values go to
// the full scanner.
const fastLevels = 64

// SkipFast skips the JSON value at b[i:] (leading whitespace allowed) and
// returns the offset just past it, or ok false when it cannot vouch for
// the value, valid or not. String scans are written out inline: a call
// per key and per value would cost as much as the scan of a short one.
// The members of an object go to members first, which takes the compact
// `"key":scalar,` runs that make up most records without this loop's
// state; what it leaves (whitespace, a container) comes back here.
func SkipFast(b []byte, i int) (end int, ok bool) {
	var stack uint64 // bit k set: level k+1 is an object
	level := 0
	key := false // an object key comes before the next value
	for {
		ended := false // a value ended at i
		if key {
			key = false
			var st int
			switch i, st = members(b, i); st {
			case membersFail:
				return i, false
			case membersEnded:
				ended = true
			case membersAtKey:
				if i, ok = keyEnd(b, i); !ok {
					return i, false
				}
			}
		}
		if !ended {
			// A value is expected.
			if i < len(b) && b[i] <= ' ' {
				i = skipSpaceAt(b, i)
			}
			if i >= len(b) {
				return i, false
			}
			switch c := b[i]; {
			case c == '"':
				if i, ok = PlainString(b, i+1); !ok {
					return i, false
				}
			case c-'1' < 9: // a plain integer, the common number
				i = digitsEnd(b, i+1)
				if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
					if i, ok = numberEnd(b, i-1); !ok { // from its last digit, a valid number start
						return i, false
					}
				}
			case c == '{' || c == '[':
				if level == fastLevels {
					return i, false
				}
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipSpaceAt(b, i)
				}
				if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
					i++
					break
				}
				level++
				if c == '{' {
					stack |= 1 << (level - 1)
					key = true
				} else {
					stack &^= 1 << (level - 1)
				}
				continue
			default:
				if i, ok = literalOrNumber(b, i); !ok {
					return i, false
				}
			}
		}
		// A value ended: close containers until one continues.
		for {
			if level == 0 {
				return i, true
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipSpaceAt(b, i)
			}
			if i >= len(b) {
				return i, false
			}
			obj := stack>>(level-1)&1 == 1
			c := b[i]
			if c == ',' {
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipSpaceAt(b, i)
				}
				key = obj
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				i++
				level--
				continue
			}
			return i, false
		}
	}
}

// What members stopped at.
const (
	membersFail    = iota // something the fast path does not vouch for
	membersEnded          // a member's value ended at i, no ',' follows
	membersAtKey          // a key is expected at i, which is not its quote
	membersAtValue        // a value is expected at i: a container or whitespace
)

// members skips the members of an object from a key at b[i:] as long as
// each is compact: a plain key, ':', and a string, number or literal,
// then ',' and the next key's quote. That is nearly every member of a
// record, and one tight loop over them costs about half of SkipFast's
// general one, which tracks nesting for every value.
func members(b []byte, i int) (int, int) {
	var ok bool
	for {
		if i >= len(b) || b[i] != '"' {
			return i, membersAtKey
		}
		j := i + 1
		for {
			if j+8 > len(b) {
				j, ok = plainTail(b, j)
				break
			}
			w := b[j : j+8] // one bounds check; w's own indexes need none
			if m := stopMask(binary.LittleEndian.Uint64(w)); m != 0 {
				k := bits.TrailingZeros64(m) >> 3 & 7
				j += k + 1
				if w[k]-' ' < 2 { // a space or '!'
					continue
				}
				ok = w[k] == '"'
				break
			}
			j += 8
		}
		if !ok {
			return j, membersFail
		}
		if j < len(b) && b[j] == ':' {
			i = j + 1
		} else if i, ok = colon(b, j); !ok {
			return i, membersFail
		}
		if i >= len(b) {
			return i, membersFail
		}
		switch c := b[i]; {
		case c == '"':
			j = i + 1
			for {
				if j+8 > len(b) {
					j, ok = plainTail(b, j)
					break
				}
				w := b[j : j+8]
				if m := stopMask(binary.LittleEndian.Uint64(w)); m != 0 {
					k := bits.TrailingZeros64(m) >> 3 & 7
					j += k + 1
					if w[k]-' ' < 2 { // a space or '!'
						continue
					}
					ok = w[k] == '"'
					break
				}
				j += 8
			}
			if !ok {
				return j, membersFail
			}
			i = j
		case c-'1' < 9:
			i = digitsEnd(b, i+1)
			if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
				if i, ok = numberEnd(b, i-1); !ok {
					return i, membersFail
				}
			}
		case c == '{' || c == '[' || c <= ' ':
			return i, membersAtValue
		default:
			if i, ok = literalOrNumber(b, i); !ok {
				return i, membersFail
			}
		}
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		return i, membersEnded
	}
}

// literalOrNumber skips true, false, null or a number at b[i:].
func literalOrNumber(b []byte, i int) (int, bool) {
	switch b[i] {
	case 't':
		if len(b)-i < 4 || string(b[i:i+4]) != "true" {
			return i, false
		}
		return i + 4, true
	case 'f':
		if len(b)-i < 5 || string(b[i:i+5]) != "false" {
			return i, false
		}
		return i + 5, true
	case 'n':
		if len(b)-i < 4 || string(b[i:i+4]) != "null" {
			return i, false
		}
		return i + 4, true
	}
	return numberEnd(b, i)
}

// digitsEnd returns the end of the run of decimal digits at b[i:], eight
// bytes at a time: XOR with '0' maps digits to 0-9, and adding 0x76 sets
// the high bit of any byte that was above 9; a byte with its high bit
// already set is no digit either. As in stopMask, a carry can only mark
// bytes above the first non-digit, so the lowest mark is exact.
func digitsEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		y := binary.LittleEndian.Uint64(b[i:i+8]) ^ (lows * '0')
		if m := ((y + lows*0x76) | y) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

// colon skips whitespace and the ':' after a key at b[i:].
func colon(b []byte, i int) (int, bool) {
	i = skipSpaceAt(b, i)
	if i < len(b) && b[i] == ':' {
		return i + 1, true
	}
	return i, false
}

// keyEnd skips an object key and its ':' at b[i:] (whitespace allowed),
// returning the offset after the ':'.
func keyEnd(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] <= ' ' {
		i = skipSpaceAt(b, i)
	}
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := PlainString(b, i+1)
	if !ok {
		return i, false
	}
	if i < len(b) && b[i] == ':' {
		return i + 1, true
	}
	i = skipSpaceAt(b, i)
	if i < len(b) && b[i] == ':' {
		return i + 1, true
	}
	return i, false
}

// Skip is SkipValue by the fast path where it can vouch for the value and
// by the full scanner where it cannot, with the full scanner's errors.
func (s *Scanner) Skip(depth int) error {
	if depth <= MaxDepth-fastLevels-1 {
		if end, ok := SkipFast(s.Buf, s.Pos); ok {
			s.Pos = end
			return nil
		}
	}
	return s.SkipValue(depth)
}

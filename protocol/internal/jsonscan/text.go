package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The string helpers work on bytes the scanner has already validated, and
// never allocate beyond the buffers they are given.

// needsEscape marks the bytes a JSON string must escape.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendString appends s as a quoted JSON string. It escapes only what
// JSON requires (quote, backslash, control characters); s must be valid
// UTF-8, which protobuf strings and schema keys are.
func AppendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !needsEscape[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// IsCanonical reports whether q, a quoted JSON string, is exactly what
// AppendString writes for text, the string's value: whether q uses only
// the escapes JSON requires, each in AppendString's spelling. It does not
// allocate.
func IsCanonical(q, text []byte) bool {
	if len(q) < 2 {
		return false
	}
	q = q[1 : len(q)-1]
	var esc [6]byte
	for _, c := range text {
		if !needsEscape[c] {
			if len(q) == 0 || q[0] != c {
				return false
			}
			q = q[1:]
			continue
		}
		e := append(esc[:0], '\\')
		switch c {
		case '"', '\\':
			e = append(e, c)
		case '\n':
			e = append(e, 'n')
		case '\r':
			e = append(e, 'r')
		case '\t':
			e = append(e, 't')
		default:
			e = append(e, 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		if len(q) < len(e) || string(q[:len(e)]) != string(e) {
			return false
		}
		q = q[len(e):]
	}
	return len(q) == 0
}

// Unquote appends the value of the quoted JSON string q (quotes
// included, syntax already checked) to dst. ok is false when the value is
// not valid UTF-8 text: raw invalid bytes, or a \u escape of a lone
// surrogate. Such a string cannot travel in a protobuf string field, which
// must hold valid UTF-8, and Go's decoder would silently replace it.
func Unquote(dst, q []byte) (out []byte, ok bool) {
	q = q[1 : len(q)-1]
	i := 0
	for i < len(q) {
		c := q[i]
		if c != '\\' {
			// Copy a run of plain bytes at once.
			j := i + 1
			for j < len(q) && q[j] != '\\' {
				j++
			}
			if !utf8.Valid(q[i:j]) {
				return dst, false
			}
			dst = append(dst, q[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(q) {
			return dst, false
		}
		if b, ok := escapedByte(q[i+1]); ok {
			dst = append(dst, b)
			i += 2
			continue
		}
		if q[i+1] != 'u' {
			return dst, false
		}
		r, n := decodeU(q[i:])
		if n == 0 {
			return dst, false
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst, true
}

// decodeU decodes a \uXXXX escape, or a surrogate pair of two, at the start
// of b. It returns the rune and the bytes used, or n=0 for a lone surrogate
// or a malformed escape.
func decodeU(b []byte) (r rune, n int) {
	r1, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}
	if r1 >= 0xDC00 || len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 0, 0
	}
	r2, ok := hex4(b[6:])
	if !ok {
		return 0, 0
	}
	r = utf16.DecodeRune(r1, r2)
	if r == utf8.RuneError {
		return 0, 0
	}
	return r, 12
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Span is the [Start, End) range of a JSON value in its buffer. The zero
// Span means none was found: a value never ends at offset 0.
type Span struct{ Start, End int }

// TrimSpace returns b without leading and trailing JSON whitespace.
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

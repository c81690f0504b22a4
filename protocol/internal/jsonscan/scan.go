// Package jsonscan is the validating JSON scanner and the JSON string
// helpers that the protocol package's JSONL codec and the protobuf codec
// share. It works on bytes in place and allocates only to unescape.
package jsonscan

import (
	"fmt"
	"unicode/utf8"
)

// MaxDepth bounds nesting so hostile input cannot exhaust memory or time.
const MaxDepth = 10000

// Scanner is a small validating JSON skipper. It checks syntax (strings,
// escapes, numbers, literals, nesting) but builds nothing. It is the hot
// path of every line Ferry forwards, so it avoids recursion, closures and
// allocation, and scans string bodies four bytes at a time. Callers read
// and move Pos directly, to slice out the values they want.
type Scanner struct {
	Buf []byte // the input
	Pos int    // the offset of the next byte to read
}

// SkipSpace moves past JSON whitespace.
func (s *Scanner) SkipSpace() {
	for s.Pos < len(s.Buf) && s.Buf[s.Pos] <= ' ' && isSpace(s.Buf[s.Pos]) {
		s.Pos++
	}
}

// Eat moves past c and reports whether it was the next byte.
func (s *Scanner) Eat(c byte) bool {
	if s.Pos < len(s.Buf) && s.Buf[s.Pos] == c {
		s.Pos++
		return true
	}
	return false
}

// Errorf returns a syntax error that names the current offset.
func (s *Scanner) Errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{s.Pos}, args...)...)
}

// Members iterates an object's members after its '{', calling fn with the
// raw key with the scanner positioned just after the ':'. fn must consume
// the value.
func (s *Scanner) Members(fn func(key []byte) error) error {
	s.SkipSpace()
	if s.Eat('}') {
		return nil
	}
	for {
		key, err := s.Key()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		s.SkipSpace()
		if s.Eat(',') {
			continue
		}
		if s.Eat('}') {
			return nil
		}
		return s.Errorf("want ',' or '}'")
	}
}

// Key reads an object key and its ':'. An escaped key is unescaped (which
// allocates); a plain one aliases the input.
func (s *Scanner) Key() ([]byte, error) {
	// Fast path: a plain key right here, as in compact JSON.
	if b, i := s.Buf, s.Pos; i < len(b) && b[i] == '"' {
		j := i + 1
		for j < len(b) && !stringStop[b[j]] {
			j++
		}
		if j+1 < len(b) && b[j] == '"' && b[j+1] == ':' {
			s.Pos = j + 2
			return b[i+1 : j], nil
		}
	}
	s.SkipSpace()
	if s.Pos >= len(s.Buf) || s.Buf[s.Pos] != '"' {
		return nil, s.Errorf("want an object key")
	}
	start := s.Pos + 1
	esc, err := s.SkipString()
	if err != nil {
		return nil, err
	}
	key := s.Buf[start : s.Pos-1]
	if esc {
		key = unquoteKey(s.Buf[start-1 : s.Pos])
	}
	if s.Pos < len(s.Buf) && s.Buf[s.Pos] == ':' { // the common, compact case
		s.Pos++
		return key, nil
	}
	s.SkipSpace()
	if !s.Eat(':') {
		return nil, s.Errorf("want ':'")
	}
	return key, nil
}

// RawString reads a string value, quotes included, if one is next.
func (s *Scanner) RawString() (raw []byte, escaped, ok bool, err error) {
	s.SkipSpace()
	if s.Pos >= len(s.Buf) || s.Buf[s.Pos] != '"' {
		return nil, false, false, nil
	}
	start := s.Pos
	esc, err := s.SkipString()
	if err != nil {
		return nil, false, false, err
	}
	return s.Buf[start:s.Pos], esc, true, nil
}

// stringStop marks the bytes that end a plain run inside a string.
var stringStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// SkipString skips a string starting at its opening quote and reports
// whether it held escapes.
func (s *Scanner) SkipString() (escaped bool, err error) {
	b := s.Buf
	i := s.Pos + 1
	for {
		for i+4 <= len(b) && !stringStop[b[i]] && !stringStop[b[i+1]] && !stringStop[b[i+2]] && !stringStop[b[i+3]] {
			i += 4
		}
		for i < len(b) && !stringStop[b[i]] {
			i++
		}
		if i >= len(b) {
			s.Pos = len(b)
			return escaped, s.Errorf("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.Pos = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				s.Pos = i
				return escaped, s.Errorf("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					s.Pos = i
					return escaped, s.Errorf("bad \\u escape")
				}
				i += 6
			default:
				s.Pos = i
				return escaped, s.Errorf("bad escape")
			}
		case c < 0x20:
			s.Pos = i
			return escaped, s.Errorf("control character in string")
		default:
			i++ // the word tail: plain bytes checked one at a time
		}
	}
}

// unquoteKey unescapes a valid quoted key. Unlike encoding/json it keeps
// bytes that are not UTF-8 as they are, so an escaped key and the same key
// written plainly are the same bytes, and undeclared members keep their
// names byte for byte through a decode and encode. A lone surrogate escape
// becomes U+FFFD, as in encoding/json.
func unquoteKey(q []byte) []byte {
	body := q[1 : len(q)-1]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if b, ok := escapedByte(body[i+1]); ok {
			out = append(out, b)
			i += 2
			continue
		}
		// The Scanner let only valid escapes through, so this is \u.
		r, n := decodeU(body[i:])
		if n == 0 {
			r, n = utf8.RuneError, 6 // a lone surrogate
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// escapedByte returns the byte a one-letter JSON escape (\" \\ \/ \b \f
// \n \r \t) stands for; ok is false for \u and invalid escapes.
func escapedByte(e byte) (b byte, ok bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// SkipValue skips one JSON value. depth is the nesting level the value
// starts at, counted against MaxDepth. It works iteratively, keeping the
// kinds of open containers in a bit stack, so deep input costs no Go stack.
func (s *Scanner) SkipValue(depth int) error {
	var stack uint64 // bit k set: level k+1 is an object (levels <= 64)
	var deep []bool  // kinds of levels from 65 on, rarely needed
	level := 0
	for {
		// A value is expected.
		s.SkipSpace()
		if s.Pos >= len(s.Buf) {
			return s.Errorf("unexpected end of input")
		}
		switch c := s.Buf[s.Pos]; {
		case c == '"':
			// Fast path for a plain string; SkipString handles the rest.
			j := s.Pos + 1
			for j < len(s.Buf) && !stringStop[s.Buf[j]] {
				j++
			}
			if j < len(s.Buf) && s.Buf[j] == '"' {
				s.Pos = j + 1
			} else if _, err := s.SkipString(); err != nil {
				return err
			}
		case c == '{':
			if depth+level >= MaxDepth {
				return s.Errorf("nesting deeper than %d", MaxDepth)
			}
			s.Pos++
			s.SkipSpace()
			if s.Eat('}') {
				break
			}
			level++
			if level <= 64 {
				stack = stack&^(1<<(level-1)) | 1<<(level-1)
			} else {
				deep = append(deep[:level-65], true)
			}
			if _, err := s.Key(); err != nil {
				return err
			}
			continue
		case c == '[':
			if depth+level >= MaxDepth {
				return s.Errorf("nesting deeper than %d", MaxDepth)
			}
			s.Pos++
			s.SkipSpace()
			if s.Eat(']') {
				break
			}
			level++
			if level <= 64 {
				stack = stack&^(1<<(level-1)) | 0<<(level-1)
			} else {
				deep = append(deep[:level-65], false)
			}
			continue
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		case c == '-' || ('0' <= c && c <= '9'):
			if err := s.Number(); err != nil {
				return err
			}
		default:
			return s.Errorf("unexpected character %q", c)
		}
		// A value ended: close containers until one continues.
		for {
			if level == 0 {
				return nil
			}
			s.SkipSpace()
			if s.Pos >= len(s.Buf) {
				return s.Errorf("unexpected end of input")
			}
			c := s.Buf[s.Pos]
			var obj bool
			if level <= 64 {
				obj = stack>>(level-1)&1 == 1
			} else {
				obj = deep[level-65]
			}
			if c == ',' {
				s.Pos++
				if obj {
					if _, err := s.Key(); err != nil {
						return err
					}
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				s.Pos++
				level--
				continue
			}
			if obj {
				return s.Errorf("want ',' or '}'")
			}
			return s.Errorf("want ',' or ']'")
		}
	}
}

func (s *Scanner) literal(lit string) error {
	if len(s.Buf)-s.Pos < len(lit) || string(s.Buf[s.Pos:s.Pos+len(lit)]) != lit {
		return s.Errorf("bad literal")
	}
	s.Pos += len(lit)
	return nil
}

// Number skips a number following the JSON grammar.
func (s *Scanner) Number() error {
	s.Eat('-')
	if s.Eat('0') {
	} else if s.digits() == 0 {
		return s.Errorf("bad number")
	}
	if s.Eat('.') && s.digits() == 0 {
		return s.Errorf("bad number fraction")
	}
	if s.Pos < len(s.Buf) && (s.Buf[s.Pos] == 'e' || s.Buf[s.Pos] == 'E') {
		s.Pos++
		if !s.Eat('+') {
			s.Eat('-')
		}
		if s.digits() == 0 {
			return s.Errorf("bad number exponent")
		}
	}
	return nil
}

func (s *Scanner) digits() int {
	start := s.Pos
	for s.Pos < len(s.Buf) && '0' <= s.Buf[s.Pos] && s.Buf[s.Pos] <= '9' {
		s.Pos++
	}
	return s.Pos - start
}

package protocol

import (
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds nesting so hostile input cannot exhaust memory or time.
const maxDepth = 10000

// scanner is a small validating JSON skipper. It checks syntax (strings,
// escapes, numbers, literals, nesting) but builds nothing. It is the hot
// path of every line Ferry forwards, so it avoids recursion, closures and
// allocation, and scans string bodies eight bytes at a time.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) && s.b[s.i] <= ' ' && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{s.i}, args...)...)
}

// members iterates an object's members after its '{', calling fn with the
// raw key with the scanner positioned just after the ':'. fn must consume
// the value.
func (s *scanner) members(fn func(key []byte) error) error {
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return nil
		}
		return s.errf("want ',' or '}'")
	}
}

// key reads an object key and its ':'. An escaped key is unescaped (which
// allocates); a plain one aliases the input.
func (s *scanner) key() ([]byte, error) {
	// Fast path: a plain key right here, as in compact JSON.
	if b, i := s.b, s.i; i < len(b) && b[i] == '"' {
		j := i + 1
		for j < len(b) && !stringStop[b[j]] {
			j++
		}
		if j+1 < len(b) && b[j] == '"' && b[j+1] == ':' {
			s.i = j + 2
			return b[i+1 : j], nil
		}
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.errf("want an object key")
	}
	start := s.i + 1
	esc, err := s.skipString()
	if err != nil {
		return nil, err
	}
	key := s.b[start : s.i-1]
	if esc {
		key = unquoteKey(s.b[start-1 : s.i])
	}
	if s.i < len(s.b) && s.b[s.i] == ':' { // the common, compact case
		s.i++
		return key, nil
	}
	s.ws()
	if !s.eat(':') {
		return nil, s.errf("want ':'")
	}
	return key, nil
}

// rawString reads a string value, quotes included, if one is next.
func (s *scanner) rawString() (raw []byte, escaped, ok bool, err error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false, nil
	}
	start := s.i
	esc, err := s.skipString()
	if err != nil {
		return nil, false, false, err
	}
	return s.b[start:s.i], esc, true, nil
}

// stringStop marks the bytes that end a plain run inside a string.
var stringStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// skipString skips a string starting at its opening quote and reports
// whether it held escapes.
func (s *scanner) skipString() (escaped bool, err error) {
	b := s.b
	i := s.i + 1
	for {
		for i+4 <= len(b) && !stringStop[b[i]] && !stringStop[b[i+1]] && !stringStop[b[i+2]] && !stringStop[b[i+3]] {
			i += 4
		}
		for i < len(b) && !stringStop[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = len(b)
			return escaped, s.errf("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				s.i = i
				return escaped, s.errf("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					s.i = i
					return escaped, s.errf("bad \\u escape")
				}
				i += 6
			default:
				s.i = i
				return escaped, s.errf("bad escape")
			}
		case c < 0x20:
			s.i = i
			return escaped, s.errf("control character in string")
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
		// The scanner let only valid escapes through, so this is \u.
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

// skipValue skips one JSON value. depth is the nesting level the value
// starts at, counted against maxDepth. It works iteratively, keeping the
// kinds of open containers in a bit stack, so deep input costs no Go stack.
func (s *scanner) skipValue(depth int) error {
	var stack uint64 // bit k set: level k+1 is an object (levels <= 64)
	var deep []bool  // kinds of levels from 65 on, rarely needed
	level := 0
	for {
		// A value is expected.
		s.ws()
		if s.i >= len(s.b) {
			return s.errf("unexpected end of input")
		}
		switch c := s.b[s.i]; {
		case c == '"':
			// Fast path for a plain string; skipString handles the rest.
			j := s.i + 1
			for j < len(s.b) && !stringStop[s.b[j]] {
				j++
			}
			if j < len(s.b) && s.b[j] == '"' {
				s.i = j + 1
			} else if _, err := s.skipString(); err != nil {
				return err
			}
		case c == '{':
			if depth+level >= maxDepth {
				return s.errf("nesting deeper than %d", maxDepth)
			}
			s.i++
			s.ws()
			if s.eat('}') {
				break
			}
			level++
			if level <= 64 {
				stack = stack&^(1<<(level-1)) | 1<<(level-1)
			} else {
				deep = append(deep[:level-65], true)
			}
			if _, err := s.key(); err != nil {
				return err
			}
			continue
		case c == '[':
			if depth+level >= maxDepth {
				return s.errf("nesting deeper than %d", maxDepth)
			}
			s.i++
			s.ws()
			if s.eat(']') {
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
			if err := s.number(); err != nil {
				return err
			}
		default:
			return s.errf("unexpected character %q", c)
		}
		// A value ended: close containers until one continues.
		for {
			if level == 0 {
				return nil
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.errf("unexpected end of input")
			}
			c := s.b[s.i]
			var obj bool
			if level <= 64 {
				obj = stack>>(level-1)&1 == 1
			} else {
				obj = deep[level-65]
			}
			if c == ',' {
				s.i++
				if obj {
					if _, err := s.key(); err != nil {
						return err
					}
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				s.i++
				level--
				continue
			}
			if obj {
				return s.errf("want ',' or '}'")
			}
			return s.errf("want ',' or ']'")
		}
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errf("bad literal")
	}
	s.i += len(lit)
	return nil
}

// number skips a number following the JSON grammar.
func (s *scanner) number() error {
	s.eat('-')
	if s.eat('0') {
	} else if s.digits() == 0 {
		return s.errf("bad number")
	}
	if s.eat('.') && s.digits() == 0 {
		return s.errf("bad number fraction")
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return s.errf("bad number exponent")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

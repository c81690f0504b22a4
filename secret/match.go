package secret

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// A connector that echoes its config rarely prints a secret as it is: a
// config quoted in a JSON log message escapes `"` and `\`, a Python
// connector escapes every non-ASCII character as \uXXXX, a message quoted
// in a trace quoted in a log doubles every backslash again, a URL in an
// error percent-encodes, an Authorization header is base64. Listing every
// form would never end (JSON escaping nests to any depth), so the matcher
// reads each character of a value in any of the ways it can be written at
// that point of the text:
//
//   - as itself (its UTF-8 bytes);
//   - escaped: one or more backslashes (one per level of quoting), then
//     the character itself for `"`, `\` and `/`, its letter for a control
//     character (\n, \t, ...), or uNNNN (a UTF-16 surrogate pair for
//     characters beyond the BMP), UNNNNNNNN, or xNN for ASCII;
//   - percent-encoded, one %NN per UTF-8 byte, also double-encoded (%25NN),
//     and `+` for a space;
//   - as an HTML character reference (&#34;, &#x22;, &quot;, ...), which
//     html/template writes.
//
// Forms may mix within one occurrence: the matcher only ever masks more.
// Base64 cannot be read character by character; for it, the redactor
// masks the part of the encoding that depends only on the value, at each
// of the three alignments it can have inside a longer encoded text.

// minBase64Len is the shortest value whose base64 forms are masked: the
// encoded core of a shorter one is a few characters that random base64
// text contains by chance.
const minBase64Len = 6

// matchBudget bounds the steps one attempt to match at one position may
// take: a value with many backslashes against a long run of them could
// otherwise try exponentially many ways to share the run.
const matchBudget = 4096

// maxEscapeRun is the longest run of backslashes read as one escape: 64
// is six levels of quoting.
const maxEscapeRun = 64

// secretPattern is one secret value, read rune by rune.
type secretPattern struct{ runes []rune }

// matcher masks a set of values in every form.
type matcher struct {
	pats  []secretPattern   // longest first
	first [256]bool         // bytes an occurrence can start with
	b64   *strings.Replacer // base64 cores, nil when none
}

func newMatcher(values []string) *matcher {
	m := &matcher{}
	seen := map[string]bool{}
	var b64 []string
	for _, v := range values {
		if utf8.RuneCountInString(v) < minLen || seen[v] {
			continue
		}
		seen[v] = true
		rs := []rune(v)
		m.pats = append(m.pats, secretPattern{runes: rs})
		m.markFirst(rs[0])
		b64 = append(b64, base64Forms(v)...)
		// A base64 of a quoted config holds the value JSON-escaped.
		if q := jsonEscape(v); q != v {
			b64 = append(b64, base64Forms(q)...)
		}
	}
	if len(m.pats) == 0 {
		return nil
	}
	slices.SortFunc(m.pats, func(a, b secretPattern) int { return len(b.runes) - len(a.runes) })
	if len(b64) > 0 {
		slices.SortFunc(b64, longestFirst)
		b64 = slices.Compact(b64)
		pairs := make([]string, 0, 2*len(b64))
		for _, f := range b64 {
			pairs = append(pairs, f, Mask)
		}
		m.b64 = strings.NewReplacer(pairs...)
	}
	return m
}

func (m *matcher) markFirst(r rune) {
	var buf [utf8.UTFMax]byte
	utf8.EncodeRune(buf[:], r)
	m.first[buf[0]] = true
	m.first['\\'] = true
	m.first['%'] = true
	m.first['&'] = true
	if r == ' ' {
		m.first['+'] = true
	}
}

// redact masks every occurrence in s, URL-encoded ones included.
func (m *matcher) redact(s string) string {
	return m.redactPercent(m.redactText(s))
}

// redactText masks every occurrence in s read character by character.
func (m *matcher) redactText(s string) string {
	if m.b64 != nil {
		s = m.b64.Replace(s)
	}
	var out strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		end := -1
		for k := range m.pats {
			budget := matchBudget
			if end = m.pats[k].match(s, i, 0, &budget); end > i {
				break
			}
		}
		if end <= i {
			i++
			continue
		}
		if out.Len() == 0 {
			out.Grow(len(s))
		}
		out.WriteString(s[last:i])
		out.WriteString(Mask)
		i, last = end, end
	}
	if last == 0 {
		return s
	}
	out.WriteString(s[last:])
	return out.String()
}

// match returns where an occurrence of p.runes[k:] starting at s[i] ends,
// or -1.
func (p *secretPattern) match(s string, i, k int, budget *int) int {
	if k == len(p.runes) {
		return i
	}
	if *budget--; i >= len(s) || *budget < 0 {
		return -1
	}
	r := p.runes[k]
	// Itself.
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	if strings.HasPrefix(s[i:], string(buf[:n])) {
		if e := p.match(s, i+n, k+1, budget); e >= 0 {
			return e
		}
	}
	switch s[i] {
	case '\\':
		return p.matchEscaped(s, i, k, budget)
	case '%':
		ends := percentEnds(s, i, buf[:n])
		if r == ' ' {
			// A space became "+", and "+" became %2B (%252B, ...).
			ends = append(ends, percentEnds(s, i, []byte{'+'})...)
		}
		for _, j := range slices.Backward(ends) {
			if e := p.match(s, j, k+1, budget); e >= 0 {
				return e
			}
		}
	case '&':
		if c, j := htmlRef(s, i); j > 0 && c == r {
			return p.match(s, j, k+1, budget)
		}
	case '+':
		if r == ' ' {
			return p.match(s, i+1, k+1, budget)
		}
	}
	return -1
}

// matchEscaped reads rune k as a backslash escape at s[i].
func (p *secretPattern) matchEscaped(s string, i, k int, budget *int) int {
	r := p.runes[k]
	run := 0
	for i+run < len(s) && s[i+run] == '\\' {
		if run++; run > maxEscapeRun {
			return -1 // deeper than any quoting that happens
		}
	}
	if r == '\\' {
		// The value's backslash is itself a run of backslashes, as many
		// as the quoting levels made of it; the next rune may need some
		// of the run for its own escape, so try the longest share first.
		for b := run; b >= 1; b-- {
			if e := p.match(s, i+b, k+1, budget); e >= 0 {
				return e
			}
		}
	}
	j := i + run
	if j >= len(s) {
		return -1
	}
	if c, e := escapeBody(s, j); e > 0 && c == r {
		return p.match(s, e, k+1, budget)
	}
	if r > 0xFFFF && s[j] == 'u' {
		// A surrogate pair: \uD83D\uDE00, each half behind its own run.
		hi, ok := hexRune(s, j+1, 4)
		if !ok {
			return -1
		}
		l := j + 5
		for l < len(s) && s[l] == '\\' {
			l++
		}
		if l == j+5 || l >= len(s) || s[l] != 'u' {
			return -1
		}
		lo, ok := hexRune(s, l+1, 4)
		if ok && utf16Pair(hi, lo) == r {
			return p.match(s, l+5, k+1, budget)
		}
	}
	return -1
}

// escapeBody decodes the escape whose backslashes end before s[j]: it
// returns the rune and where the escape ends, or 0 when there is none.
func escapeBody(s string, j int) (rune, int) {
	switch c := s[j]; c {
	case '"', '/', '\'':
		return rune(c), j + 1
	case 'n':
		return '\n', j + 1
	case 't':
		return '\t', j + 1
	case 'r':
		return '\r', j + 1
	case 'b':
		return '\b', j + 1
	case 'f':
		return '\f', j + 1
	case 'u':
		if r, ok := hexRune(s, j+1, 4); ok {
			return r, j + 5
		}
	case 'U':
		if r, ok := hexRune(s, j+1, 8); ok {
			return r, j + 9
		}
	case 'x':
		if r, ok := hexRune(s, j+1, 2); ok {
			return r, j + 3
		}
	case '&':
		// html/template escaping a JSON-escaped quote: \&#34;
		return htmlRef(s, j)
	}
	return 0, 0
}

// percentEnds reads the UTF-8 bytes b as %NN escapes, each % followed by
// any number of "25" (double encoding), and returns every place such a
// reading can end: "%2525" is '%' twice encoded, or '%' then "25".
func percentEnds(s string, i int, b []byte) []int {
	if len(b) == 0 {
		return []int{i}
	}
	if i >= len(s) || s[i] != '%' {
		return nil
	}
	var out []int
	for j := i + 1; j+2 <= len(s) && j < i+1+2*maxEscapeRun; j += 2 {
		if v, ok := hexRune(s, j, 2); ok && byte(v) == b[0] {
			out = append(out, percentEnds(s, j+2, b[1:])...)
		}
		if s[j] != '2' || s[j+1] != '5' {
			break
		}
	}
	return out
}

var htmlNamed = map[string]rune{"quot": '"', "amp": '&', "lt": '<', "gt": '>', "apos": '\'', "bsol": '\\', "sol": '/'}

// htmlRef decodes an HTML character reference at s[i] ('&').
func htmlRef(s string, i int) (rune, int) {
	end := strings.IndexByte(s[i:min(len(s), i+12)], ';')
	if end < 2 {
		return 0, 0
	}
	body := s[i+1 : i+end]
	if body[0] != '#' {
		r, ok := htmlNamed[strings.ToLower(body)]
		if !ok {
			return 0, 0
		}
		return r, i + end + 1
	}
	var v rune
	digits, base := body[1:], rune(10)
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, 0
	}
	for _, c := range digits {
		d := hexDigit(byte(c))
		if d < 0 || rune(d) >= base {
			return 0, 0
		}
		v = v*base + rune(d)
		if v > utf8.MaxRune {
			return 0, 0
		}
	}
	return v, i + end + 1
}

// hexRune reads n hex digits (any case) at s[i].
func hexRune(s string, i, n int) (rune, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v rune
	for k := range n {
		d := hexDigit(s[i+k])
		if d < 0 {
			return 0, false
		}
		v = v<<4 | rune(d)
	}
	return v, true
}

func hexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func utf16Pair(hi, lo rune) rune {
	if hi < 0xD800 || hi > 0xDBFF || lo < 0xDC00 || lo > 0xDFFF {
		return utf8.RuneError
	}
	return (hi-0xD800)<<10 | (lo - 0xDC00) + 0x10000
}

// jsonEscape is v as it appears inside a JSON string.
func jsonEscape(v string) string {
	b, _ := json.Marshal(v) // a string always marshals
	return string(b[1 : len(b)-1])
}

// base64Forms returns, for both alphabets, the whole encoding of v and the
// characters of its encoding that depend on v alone at each alignment
// inside a longer encoded text.
func base64Forms(v string) []string {
	if len(v) < minBase64Len {
		return nil
	}
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)))
		for a := range 3 {
			e := enc.EncodeToString(append(make([]byte, a), v...))
			// Character c holds bits [6c, 6c+6); v holds [8a, 8a+8len).
			lo := (8*a + 5) / 6
			hi := 8*(a+len(v))/6 - 1
			if hi >= lo {
				out = append(out, e[lo:hi+1])
			}
		}
	}
	return out
}

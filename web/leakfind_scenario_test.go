package web

import (
	"encoding/base64"
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf16"
)

// leakFinder looks for planted secrets in a text in any encoding, by
// decoding rather than by listing encodings: the text, HTML-unescaped and
// percent-decoded (twice, '+' as a space or not), is JSON-unescaped level
// by level (\", \\, \uXXXX with surrogate pairs, ...) down to six levels,
// and every run of base64 characters in it is decoded at each of its four
// alignments and searched the same way. A secret found in any view is a
// leak; the view says which decoding revealed it.
type leakFinder struct {
	secrets []string
	texts   int // texts searched
	bytes   int
}

// find returns one line per secret found in text.
func (f *leakFinder) find(where, text string) []string {
	f.texts++
	f.bytes += len(text)
	var out []string
	seen := map[string]bool{}
	report := func(view, v string) {
		for _, s := range f.secrets {
			if !seen[s] && strings.Contains(v, s) {
				seen[s] = true
				out = append(out, fmt.Sprintf("%s holds the secret %q (%s)", where, s, view))
			}
		}
	}
	for view, v := range textViews(text) {
		report(view, v)
	}
	for i, run := range base64Runs(text) {
		for view, v := range base64Views(run) {
			for inner, w := range textViews(v) {
				report(fmt.Sprintf("base64 run %d %s, then %s", i, view, inner), w)
			}
		}
	}
	return out
}

// textViews decodes text every way but base64.
func textViews(text string) map[string]string {
	views := map[string]string{"raw": text}
	if h := html.UnescapeString(text); h != text {
		views["html"] = h
	}
	for name, v := range views {
		d := v
		for level := 1; level <= 2 && strings.Contains(d, "%"); level++ {
			d = percentDecodeLenient(d)
			views[fmt.Sprintf("%s, percent-decoded x%d", name, level)] = d
			views[fmt.Sprintf("%s, percent-decoded x%d, + as space", name, level)] = strings.ReplaceAll(d, "+", " ")
		}
	}
	for name, v := range views {
		u := v
		for level := 1; level <= 6 && strings.Contains(u, `\`); level++ {
			next := unescapeOnce(u)
			if next == u {
				break
			}
			u = next
			views[fmt.Sprintf("%s, unescaped x%d", name, level)] = u
		}
	}
	return views
}

// percentDecodeLenient decodes every %NN, leaving any other % alone.
func percentDecodeLenient(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapeOnce removes one level of backslash escaping, JSON's and
// Python's; an escape it does not know stays as it is.
func unescapeOnce(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i+1]
		switch c {
		case '"', '\\', '/', '\'':
			b.WriteByte(c)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, n := unicodeEscape(s[i:])
			if n == 0 {
				b.WriteByte('\\')
				continue
			}
			b.WriteRune(r)
			i += n - 1
			continue
		default:
			b.WriteByte('\\')
			continue
		}
		i++
	}
	return b.String()
}

// unicodeEscape reads \uXXXX (and a following low surrogate) at s[0].
func unicodeEscape(s string) (rune, int) {
	if len(s) < 6 {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[2:6], 16, 32)
	if err != nil {
		return 0, 0
	}
	r := rune(v)
	if utf16.IsSurrogate(r) && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if lo, err := strconv.ParseUint(s[8:12], 16, 32); err == nil {
			if p := utf16.DecodeRune(r, rune(lo)); p != '\uFFFD' {
				return p, 12
			}
		}
	}
	return r, 6
}

// base64Runs returns the runs of 8 or more base64 characters (both
// alphabets) in text.
func base64Runs(text string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(text); i++ {
		if i < len(text) && isBase64Byte(text[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 8 {
			runs = append(runs, text[start:i])
		}
		start = -1
	}
	return runs
}

func isBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// base64Views decodes run from each of its first four characters, in both
// alphabets.
func base64Views(run string) map[string]string {
	out := map[string]string{}
	for off := 0; off < 4 && off < len(run); off++ {
		r := run[off:]
		if len(r)%4 == 1 { // a lone last character encodes no whole byte
			r = r[:len(r)-1]
		}
		for name, enc := range map[string]*base64.Encoding{"std": base64.RawStdEncoding, "url": base64.RawURLEncoding} {
			if d, err := enc.DecodeString(r); err == nil {
				out[fmt.Sprintf("%s at +%d", name, off)] = string(d)
			}
		}
	}
	return out
}

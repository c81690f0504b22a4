package secret

import "strings"

// A connector that puts its config in a URL (a DSN in an error, a query
// string in a log) percent-encodes the config's text, escapes included: a
// secret `a"b` in a JSON config becomes a%5C%22b, its escaping backslash
// encoded too. The character-by-character matcher reads each character
// either escaped or percent-encoded, not an escape whose parts are
// percent-encoded, so URL-encoded text is also decoded and matched as a
// whole: a run of characters that a URL-encoded text can hold (no space,
// quote, backslash or angle bracket), with at least one %NN in it, is
// decoded (repeatedly, for double encoding) and masked entirely when the
// decoded text holds a secret. Masking the whole run masks more than the
// value, which is the safe side.

// maxPercentLevels is how many times a run is decoded: double encoding
// happens (a URL inside a URL), deeper nesting does not.
const maxPercentLevels = 3

// redactPercent masks every URL-encoded run of s whose decoding holds a
// secret; m.redact must not call it back for the decoded text.
func (m *matcher) redactPercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var out strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !urlTextByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && urlTextByte(s[j]) {
			j++
		}
		if run := s[i:j]; strings.Contains(run, "%") && m.holdsDecoded(run) {
			out.WriteString(s[last:i])
			out.WriteString(Mask)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	out.WriteString(s[last:])
	return out.String()
}

// holdsDecoded reports whether run, percent-decoded once or more (with
// and without '+' read as a space), holds a secret in any other form.
func (m *matcher) holdsDecoded(run string) bool {
	for range maxPercentLevels {
		dec, ok := percentDecode(run)
		if !ok {
			return false
		}
		for _, d := range []string{dec, strings.ReplaceAll(dec, "+", " ")} {
			if m.redactText(d) != d {
				return true
			}
		}
		run = dec
	}
	return false
}

// urlTextByte reports whether c can be part of URL-encoded text, as
// written by any encoder (reserved characters included: not every encoder
// escapes them).
func urlTextByte(c byte) bool {
	switch {
	case c <= ' ' || c >= 0x7f:
		return false
	case c == '"' || c == '\\' || c == '<' || c == '>' || c == '\'' || c == '`':
		return false
	}
	return true
}

// percentDecode decodes every %NN of s, leaving a % that starts no escape
// as it is; ok is false when s has no escape.
func percentDecode(s string) (string, bool) {
	var b strings.Builder
	ok := false
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if v, hex := hexRune(s, i+1, 2); hex {
				b.WriteByte(byte(v))
				i += 2
				ok = true
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), ok
}

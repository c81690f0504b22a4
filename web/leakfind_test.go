package web

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestLeakFinderFindsEveryEncoding: the finder the secrets scenario relies
// on finds each sentinel in a config echoed as a careless connector would
// (raw, quoted once and twice, \u-escaped, URL-encoded after quoting,
// base64 at any alignment, HTML-escaped), and nothing in the masked text.
func TestLeakFinderFindsEveryEncoding(t *testing.T) {
	secrets := []string{sntlTop, sntlOneOf, sntlRow, sntlRef, sntlDest}
	for _, s := range secrets {
		cfg, _ := json.Marshal(map[string]any{"password": s})
		once, _ := json.Marshal(string(cfg))
		twice, _ := json.Marshal(string(once))
		var ascii strings.Builder
		for _, r := range string(once) {
			if r < 0x80 {
				ascii.WriteRune(r)
			} else {
				ascii.WriteString(jsonASCII(r))
			}
		}
		for name, text := range map[string]string{
			"raw": "x " + s + " y", "once": string(once), "twice": string(twice), "ascii": ascii.String(),
			"url": url.QueryEscape(string(cfg)), "url twice": url.QueryEscape(url.QueryEscape(string(once))),
			"base64": base64.StdEncoding.EncodeToString(cfg), "base64 shifted": "k " + base64.StdEncoding.EncodeToString(append([]byte("ab"), cfg...)),
			"base64url": base64.RawURLEncoding.EncodeToString([]byte("user:" + s)), "html": strings.ReplaceAll(string(cfg), `"`, "&#34;"),
		} {
			f := &leakFinder{secrets: secrets}
			if got := f.find(name, text); len(got) != 1 {
				t.Errorf("%q in %s form: found %v in %s", s, name, got, text)
			}
		}
	}
	f := &leakFinder{secrets: secrets}
	if got := f.find("masked", `{"password":"**********","echo":"config {\"password\":\"**********\"}"}`); len(got) != 0 {
		t.Errorf("masked text: %v", got)
	}
}

// jsonASCII is r as a \u escape (a surrogate pair beyond the BMP).
func jsonASCII(r rune) string {
	var b strings.Builder
	if r > 0xFFFF {
		r -= 0x10000
		b.WriteString(`\u` + hex4(0xD800+(r>>10)) + `\u` + hex4(0xDC00+(r&0x3FF)))
		return b.String()
	}
	return `\u` + hex4(r)
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&0xF], digits[r>>8&0xF], digits[r>>4&0xF], digits[r&0xF]})
}

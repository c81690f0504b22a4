package secret

import (
	"net/url"
	"strings"
	"testing"
)

// TestRedactURLEncodedEscapes: a config quoted in JSON and then put in a
// URL has its escaping backslashes percent-encoded as well (a%5C%22b);
// the secret is masked in that form, once and twice encoded, in a query
// and in a path, and text around it that holds no secret is left alone.
func TestRedactURLEncodedEscapes(t *testing.T) {
	r := NewRedactor(sentinels)
	for _, s := range sentinels {
		cfg := `{"password":"` + jsonQuote(s) + `"}`
		twice := `{"msg":"` + jsonQuote(cfg) + `"}`
		for name, text := range map[string]string{
			"query":         "GET /login?config=" + url.QueryEscape(cfg) + " failed",
			"path":          "open /x/" + url.PathEscape(cfg) + ": refused",
			"double":        "redirect=" + url.QueryEscape("https://h/?c="+url.QueryEscape(cfg)),
			"quoted twice":  "q=" + url.QueryEscape(twice),
			"escaped plain": "dsn " + url.QueryEscape(s) + " end",
		} {
			got := r.Redact(text)
			if !strings.Contains(got, Mask) {
				t.Errorf("%q, %s: nothing masked in %s", s, name, got)
			}
			for _, dec := range []string{got, unescapeAll(got)} {
				if strings.Contains(dec, s) {
					t.Errorf("%q, %s: the secret survives in %s", s, name, got)
				}
			}
			if !strings.HasSuffix(text, " failed") || strings.HasSuffix(got, " failed") {
				continue
			}
			t.Errorf("%s: the text after the URL was masked too: %s", name, got)
		}
	}
	if got := r.Redact("progress 50% of /a%20b"); got != "progress 50% of /a%20b" {
		t.Errorf("a text without a secret changed: %s", got)
	}
}

// unescapeAll percent-decodes s as far as it decodes.
func unescapeAll(s string) string {
	for range 3 {
		d, err := url.QueryUnescape(s)
		if err != nil {
			return s
		}
		s = d
	}
	return s
}

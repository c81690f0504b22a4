package secret

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// sentinels are values with the characters that escaping changes: quotes,
// backslashes, non-ASCII inside and beyond the BMP, spaces, control
// characters and URL metacharacters.
var sentinels = []string{
	`S3NT-quote"back\slash`,
	`S3NT-ünï-çødé-€`,
	"S3NT-emoji-😀-tab\there",
	`S3NT-url a&b=c/d?e%f+g`,
	`S3NT-<html>'x'`,
}

// jsonQuote is one more level of JSON quoting, without the quotes.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// asciiQuote is JSON quoting as Python's json.dumps does by default:
// every non-ASCII character as \uXXXX (surrogate pairs beyond the BMP),
// in the given hex case.
func asciiQuote(s string, upper bool) string {
	var b strings.Builder
	for _, r := range jsonQuote(s) {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			f := "\\u%04x"
			if upper {
				f = "\\u%04X"
			}
			fmt.Fprintf(&b, f, u)
		}
	}
	return b.String()
}

// allEscaped writes every character as \uXXXX.
func allEscaped(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "\\u%04x", u)
	}
	return b.String()
}

// forms returns v in every encoding a connector's output may hold it in.
func forms(v string) map[string]string {
	f := map[string]string{"raw": v}
	q := v
	for d := 1; d <= 6; d++ {
		q = jsonQuote(q)
		f[fmt.Sprintf("json depth %d", d)] = q
	}
	a, A := v, v
	for d := 1; d <= 4; d++ {
		a, A = asciiQuote(a, false), asciiQuote(A, true)
		f[fmt.Sprintf("ascii json depth %d", d)] = a
		f[fmt.Sprintf("ASCII json depth %d", d)] = A
	}
	f["all \\u"] = allEscaped(v)
	f["all \\u, quoted"] = jsonQuote(allEscaped(v))
	f["go quote"] = strconv.Quote(v)
	f["go quote ascii"] = strconv.QuoteToASCII(v)
	f["query escape"] = url.QueryEscape(v)
	f["path escape"] = url.PathEscape(v)
	f["double query escape"] = url.QueryEscape(url.QueryEscape(v))
	f["lower percent"] = regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.PathEscape(v), strings.ToLower)
	f["html"] = html.EscapeString(v)
	f["html/template"] = template.HTMLEscapeString(v)
	f["html/template js"] = template.JSEscapeString(v)
	f["html of json"] = template.HTMLEscapeString(jsonQuote(v))
	f["base64"] = base64.StdEncoding.EncodeToString([]byte(v))
	f["base64 raw url"] = base64.RawURLEncoding.EncodeToString([]byte(v))
	for a := range 3 {
		// Inside a longer encoded text, at each alignment.
		pre := strings.Repeat("x", 4+a)
		f[fmt.Sprintf("base64 inside, offset %d", a)] = base64.StdEncoding.EncodeToString([]byte(pre + v + "tail"))
		f[fmt.Sprintf("base64 url of json, offset %d", a)] = base64.URLEncoding.EncodeToString([]byte(pre + `{"k":"` + jsonQuote(v) + `"}`))
	}
	return f
}

// leaked reports which forms of v text still holds.
func leaked(text, v string) []string {
	var out []string
	for name, f := range forms(v) {
		if strings.Contains(text, f) {
			out = append(out, name)
		}
	}
	// The base64 cores: what a longer encoding holds of v at any offset.
	for _, core := range base64Forms(v) {
		if strings.Contains(text, core) {
			out = append(out, "base64 core "+core)
		}
	}
	return out
}

// TestRedactEveryForm masks each sentinel in every encoding, inside
// surrounding text, and keeps that text.
func TestRedactEveryForm(t *testing.T) {
	r := NewRedactor(sentinels)
	for _, v := range sentinels {
		for name, f := range forms(v) {
			text := "before <" + f + "> after"
			got := r.Redact(text)
			if l := leaked(got, v); len(l) > 0 {
				t.Errorf("%q as %s: %q still holds %v", v, name, got, l)
			}
			if !strings.HasPrefix(got, "before <") || !strings.HasSuffix(got, "> after") || !strings.Contains(got, Mask) {
				t.Errorf("%q as %s: got %q, want the surrounding text kept and a mask", v, name, got)
			}
		}
	}
}

// TestRedactLeavesOtherText keeps text that only resembles a value.
func TestRedactLeavesOtherText(t *testing.T) {
	r := NewRedactor([]string{`pa"ss\word`})
	for _, s := range []string{`pa"ss word`, `pa\"ss\\wor`, `C:\\temp\\pa`, "%70%61 plain", "&amp; &#x41;", strings.Repeat(`\`, 10000)} {
		if got := r.Redact(s); got != s {
			t.Errorf("Redact(%q): got %q, want it unchanged", s, got)
		}
	}
}

// TestRedactBackslashFlood bounds the work on a long run of backslashes
// against a value full of them.
func TestRedactBackslashFlood(t *testing.T) {
	r := NewRedactor([]string{strings.Repeat(`\`, 12) + "x"})
	text := strings.Repeat(`\`, 20000) + "y"
	if got := r.Redact(text); got != text {
		t.Errorf("got a mask in %d bytes of backslashes", len(text))
	}
}

// TestRedactJSON masks values in strings and keys, in nested JSON inside
// strings, keeps the document valid, and returns an untouched document as
// it was, byte for byte.
func TestRedactJSON(t *testing.T) {
	r := NewRedactor(sentinels)
	inner, _ := json.Marshal(map[string]any{"config": map[string]any{"password": sentinels[0], "key": sentinels[1]}})
	doc, _ := json.Marshal(map[string]any{
		"cursor": 17, "big": json.Number("12345678901234567890"),
		sentinels[2]: "as a key", "echo": string(inner), "list": []any{sentinels[3], "plain"},
	})
	out, changed := r.RedactJSON(doc)
	if !changed {
		t.Fatal("RedactJSON reported no change")
	}
	for _, v := range sentinels[:4] {
		if l := leaked(string(out), v); len(l) > 0 {
			t.Errorf("%s still holds %q as %v", out, v, l)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("redacted document is not JSON: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"big":12345678901234567890`) || back["cursor"] != float64(17) {
		t.Errorf("numbers changed: %s", out)
	}
	plain := []byte(`{"b": 1,  "a": "x"}`)
	if got, changed := r.RedactJSON(plain); changed || string(got) != string(plain) {
		t.Errorf("RedactJSON(%s): got %s, %v; want it back unchanged", plain, got, changed)
	}
}

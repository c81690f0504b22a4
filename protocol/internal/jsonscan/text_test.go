package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestStringRoundTrip checks that AppendString writes JSON that
// encoding/json reads back, and that Unquote reads it back too.
func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "nl\ncr\rtab\t", "\x00\x1f", "é中😀", "</script>"} {
		q := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(q, &got); err != nil || got != s {
			t.Errorf("AppendString(%q) = %s, which decodes to %q (%v)", s, q, got, err)
		}
		if u, ok := Unquote(nil, q); !ok || string(u) != s {
			t.Errorf("Unquote(%s) = %q, %t; want %q", q, u, ok, s)
		}
	}
}

// TestUnquote covers the escapes Unquote decodes and the strings it refuses
// because a protobuf string cannot hold them.
func TestUnquote(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`"a\/b\b\f"`, "a/b\b\f", true},
		{`"\u00e9\ud83d\ude00"`, "é😀", true},
		{`"\ud83d"`, "", false},  // a lone high surrogate
		{`"\ude00x"`, "", false}, // a lone low surrogate
		{"\"\xff\"", "", false},  // not UTF-8
		{`"\u0041\u0042"`, "AB", true},
	}
	for _, tc := range tests {
		got, ok := Unquote(nil, []byte(tc.in))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("Unquote(%s) = %q, %t; want %q, %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScannerKeys checks that an escaped key is unescaped and a plain one
// is returned as written.
func TestScannerKeys(t *testing.T) {
	s := Scanner{Buf: []byte(` { "a\u0062" : 1 , "c":[2] } `)}
	s.SkipSpace()
	if !s.Eat('{') {
		t.Fatal("no object")
	}
	var keys []string
	err := s.Members(func(key []byte) error {
		keys = append(keys, string(key))
		return s.SkipValue(1)
	})
	if err != nil || len(keys) != 2 || keys[0] != "ab" || keys[1] != "c" {
		t.Fatalf("keys %q, %v; want [ab c]", keys, err)
	}
	if s.SkipSpace(); s.Pos != len(s.Buf) {
		t.Errorf("scanner stopped at %d of %d", s.Pos, len(s.Buf))
	}
}

// TestIsCanonical checks that IsCanonical accepts exactly what
// AppendString writes, and refuses any other spelling of the same value.
func TestIsCanonical(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "nl\ncr\rtab\t", "\x00\x1f\b", "é中😀", "</script>"} {
		if q := AppendString(nil, s); !IsCanonical(q, []byte(s)) {
			t.Errorf("IsCanonical(%s, %q) = false, want true", q, s)
		}
	}
	for _, tc := range []struct{ q, text string }{
		{`"\u00e9"`, "é"},
		{`"a\/b"`, "a/b"},
		{`"\b"`, "\b"},
		{`"\u000a"`, "\n"},
		{`"\u003c"`, "<"},
		{`"\u0041"`, "A"},
		{`"\u001F"`, "\x1f"}, // upper-case hex
		{`"ab"`, "abc"},
		{`"abc"`, "ab"},
		{`"`, ""},
	} {
		if IsCanonical([]byte(tc.q), []byte(tc.text)) {
			t.Errorf("IsCanonical(%s, %q) = true, want false", tc.q, tc.text)
		}
	}
}

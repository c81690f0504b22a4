package jsonscan

import (
	"strings"
	"testing"
)

// fastSeeds are values on the edges of what the fast path takes: escapes,
// whitespace, numbers at their grammar's limits, deep and truncated
// nesting, and strings ending right at or near a word boundary.
var fastSeeds = []string{
	`{}`, `[]`, `""`, `"a"`, `"abcdefg"`, `"abcdefgh"`, `"abcdefghi"`, `"a\"b"`, `"a\u00e9"`, `"\x01"`,
	`{"a":1}`, `{ "a" : [ 1 , 2 ] , "b" : { } }`, "{\n\t\"a\":\r\n1}", `{"a":1,}`, `{"a" 1}`, `{"a":1`,
	`[1,2,]`, `[,1]`, `{"a":tru}`, `{"a":nul}`, `{"a":fals}`, `0`, `-0`, `01`, `-`, `1.`, `1.5e`, `1e+`,
	`1E-7`, `-0.0e0`, `12345678901234567890`, `{"a":-}`, `{"a":.5}`, `{"a":+1}`, `{"k\"":1}`, `{"é":"ü"}`,
	"\"\xff\xfe\"", `{"a":{"b":{"c":[[[{}]]]}}}`, `{"a":"b"}x`, `"unterminated`, `{"a":"2020-12-01T11:22:33+00:00"}`,
	`"a b!c"`, `"!!!!!!!!!!!!"`, `"        \""`, "\"  ! \t\"", `{"k k":"v !"}`,
	strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat("[", 65) + strings.Repeat("]", 65),
	strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70), string(purchaseData),
	`{"a":1,"b":"x","c":null,"d":true,"e":false,"f":-1.5,"g":0,"h":[1],"i":{"j":2}}`, `{"a":1, "b":2}`,
	`{"a":1 ,"b":2}`, `{"a":123456789012,"b":1234567,"c":12345678}`, `{"a":1x}`, `{"a":9:}`, `{"a":"b",`,
	`{"a":"b","c"}`, `{"a":7e}`, `{"a":07}`, `{"a":tr}`, `{"a":nulx}`, "{\"a\":\"\x1f\"}",
}

// FuzzSkipFast holds the fast skipper to the full scanner on every input:
// where it vouches for a value, the full scanner accepts it and ends at
// the same offset; Skip, which tries it first, has the outcome, offset
// and error of SkipValue.
func FuzzSkipFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		full := Scanner{Buf: b}
		fullErr := full.SkipValue(0)
		if end, ok := SkipFast(b, 0); ok && (fullErr != nil || end != full.Pos) {
			t.Fatalf("SkipFast(%q) = %d, true; SkipValue: offset %d, %v", b, end, full.Pos, fullErr)
		}
		both := Scanner{Buf: b}
		err := both.Skip(0)
		if (err == nil) != (fullErr == nil) || err != nil && err.Error() != fullErr.Error() || err == nil && both.Pos != full.Pos {
			t.Fatalf("Skip(%q): offset %d, %v; SkipValue: offset %d, %v", b, both.Pos, err, full.Pos, fullErr)
		}
	})
}

// TestSkipFastTakesTheCommonCases checks that the fast path, not the
// fallback, handles what connectors print: otherwise the fuzz test would
// pass with a fast path that always gives up.
func TestSkipFastTakesTheCommonCases(t *testing.T) {
	for _, s := range []string{string(purchaseData), `{ "a" : [ 1 , 2.5e-3 ] , "b" : { } , "c" : null }`, `"abcdefghijklmnop"`, `-0.5`} {
		if end, ok := SkipFast([]byte(s), 0); !ok || end != len(s) {
			t.Errorf("SkipFast(%s) = %d, %v; want %d, true", s, end, ok, len(s))
		}
	}
	for _, s := range []string{`"a\"b"`, `{"a":1,}`, strings.Repeat("[", 65) + strings.Repeat("]", 65)} {
		if _, ok := SkipFast([]byte(s), 0); ok {
			t.Errorf("SkipFast(%s) vouched for it; want the full scanner to decide", s)
		}
	}
}

package protobuf

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// TestRecordSchemaOrder checks that properties are ordered by their UTF-16
// code units, as Airbyte orders them.
func TestRecordSchemaOrder(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"type":"object","properties":{
		"b":{},"a":{},"B":{},"_x":{},"a1":{},"é":{},"\uffff":{},"😀":{},"\ue000":{},"":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range s.Len() {
		got = append(got, s.Name(i))
	}
	// Java's String order: by UTF-16 code unit, so U+1F600 (D83D DE00)
	// sorts before U+E000 and U+FFFF, unlike Go's byte order.
	want := []string{"", "B", "_x", "a", "a1", "b", "é", "😀", "\ue000", "\uffff"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("property order (-want +got):\n%s", diff)
	}
	if i, ok := s.Index("😀"); !ok || i != 7 {
		t.Errorf("Index(😀) = %d, %t; want 7, true", i, ok)
	}
}

// TestCompareUTF16 checks CompareUTF16 against comparing UTF-16 encodings.
func TestCompareUTF16(t *testing.T) {
	words := []string{"", "a", "ab", "b", "z", "é", "ÿ", "ā", "中", "\ud7ff", "\ue000", "\uefff", "\uffff", "\ufffd",
		"😀", "😁", "𝄞", "a😀", "a\ue000", "a\uffff", "😀a", "😀😀", "\U0010ffff", "Z", "0", "~", "\x7f", "\u0080"}
	utf16Cmp := func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	}
	for _, a := range words {
		for _, b := range words {
			if got, want := CompareUTF16(a, b), utf16Cmp(a, b); got != want {
				t.Errorf("CompareUTF16(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	// The case Go's order gets wrong.
	if !(CompareUTF16("😀", "\uffff") < 0 && "😀" > "\uffff") {
		t.Errorf("U+1F600 must sort before U+FFFF in UTF-16 order and after it in byte order")
	}
	sorted := slices.Clone(words)
	sort.Slice(sorted, func(i, j int) bool { return CompareUTF16(sorted[i], sorted[j]) < 0 })
	if !slices.IsSortedFunc(sorted, utf16Cmp) {
		t.Errorf("sort by CompareUTF16 disagrees with UTF-16 order: %q", sorted)
	}
}

// TestPropertyKinds checks which value kind each property schema maps to.
func TestPropertyKinds(t *testing.T) {
	tests := []struct {
		schema string
		want   ValueKind
	}{
		{`{"type":"boolean"}`, KindBoolean},
		{`{"type":["null","boolean"]}`, KindBoolean},
		{`{"type":"string"}`, KindString},
		{`{"type":"string","format":"email"}`, KindString},
		{`{"type":"string","format":"big_integer"}`, KindString},
		{`{"type":"integer"}`, KindInteger},
		{`{"type":"number","airbyte_type":"integer"}`, KindInteger},
		{`{"type":"number"}`, KindNumber},
		{`{"type":"string","format":"date"}`, KindDate},
		{`{"type":"string","format":"time"}`, KindTimeWithTimezone},
		{`{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, KindTimeWithoutTimezone},
		{`{"type":"string","format":"date-time"}`, KindTimestampWithTimezone},
		{`{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"}`, KindTimestampWithoutTimezone},
		{`{"$ref":"WellKnownTypes.json#/definitions/TimeWithoutTimezone"}`, KindTimeWithoutTimezone},
		{`{"$ref":"WellKnownTypes.json#/definitions/Number"}`, KindNumber},
		{`{"$ref":"Other.json#/definitions/Number"}`, KindJSON},
		{`{"type":"object"}`, KindJSON},
		{`{"type":"array"}`, KindJSON},
		{`{"type":["string","number"]}`, KindJSON},
		{`{"type":"null"}`, KindJSON},
		{`{"anyOf":[{"type":"string"}]}`, KindJSON},
		{`{"allOf":[{"type":"string"}]}`, KindJSON},
		{`{"type":5}`, KindJSON},
		{`{}`, KindJSON},
		{`false`, KindJSON},
	}
	for _, tt := range tests {
		if got := propertyKind(json.RawMessage(tt.schema)); got != tt.want {
			t.Errorf("propertyKind(%s) = %v, want %v", tt.schema, got, tt.want)
		}
	}
}

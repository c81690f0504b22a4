package protobuf

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// ValueKind is the protobuf value type a schema property maps to
// (docs/protocol.md 5.5). It decides how a JSON value is encoded; decoding never
// needs it, because every protobuf value says which member it uses.
type ValueKind uint8

// Value kinds, from a property's JSON schema.
const (
	// KindJSON covers objects, arrays, unions and anything unknown: the
	// value travels as its JSON text in the `json` member.
	KindJSON ValueKind = iota
	KindBoolean
	KindString
	// KindInteger uses `integer`, or `big_integer` beyond 63 bits.
	KindInteger
	// KindNumber uses `number`, or `big_decimal` when a double would not
	// hold the value exactly.
	KindNumber
	KindDate
	KindTimeWithTimezone
	KindTimeWithoutTimezone
	KindTimestampWithTimezone
	KindTimestampWithoutTimezone
)

var kindNames = [...]string{
	KindJSON:                     "json",
	KindBoolean:                  "boolean",
	KindString:                   "string",
	KindInteger:                  "integer",
	KindNumber:                   "number",
	KindDate:                     "date",
	KindTimeWithTimezone:         "time_with_timezone",
	KindTimeWithoutTimezone:      "time_without_timezone",
	KindTimestampWithTimezone:    "timestamp_with_timezone",
	KindTimestampWithoutTimezone: "timestamp_without_timezone",
}

func (k ValueKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ValueKind(%d)", uint8(k))
}

// RecordSchema is what the protobuf codec needs to know about one stream:
// its top-level properties in wire order and the value kind of each. Build
// it once per stream with NewRecordSchema; it is immutable and safe for
// concurrent use, so the per-record path never sorts or parses a schema.
type RecordSchema struct {
	names []string
	kinds []ValueKind
	// keys holds each name as ',', the quoted JSON string and ':', ready
	// to append when a record is decoded back to JSON (without the comma
	// for the first member).
	keys  [][]byte
	index map[string]int
	// decl lists the wire positions in the order json_schema declares the
	// properties, and rank is each position's place in decl: a record's
	// members come out in that order unless it says otherwise (the order
	// extension, extension.go).
	decl, rank []int32
	// order is the property index of each data member of the last record
	// converted whose members came in an order different from the one
	// before (-1: not a property). Records of one source almost always
	// list their members in the same order, so the encoder checks the
	// key against this guess before it looks the name up.
	order atomic.Pointer[[]int32]
}

// NewRecordSchema builds the schema of a stream from its json_schema. The
// property order is the order of json_schema.properties keys sorted by
// UTF-16 code units, as Airbyte's Kotlin code sorts them. A schema without
// properties gives an empty RecordSchema: every record then has no values.
func NewRecordSchema(jsonSchema []byte) (*RecordSchema, error) {
	var root struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if len(jsonscan.TrimSpace(jsonSchema)) > 0 {
		if err := json.Unmarshal(jsonSchema, &root); err != nil {
			return nil, fmt.Errorf("json_schema: %w", err)
		}
	}
	names := make([]string, 0, len(root.Properties))
	for name := range root.Properties {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return CompareUTF16(names[i], names[j]) < 0 })
	s := &RecordSchema{
		names: names,
		kinds: make([]ValueKind, len(names)),
		keys:  make([][]byte, len(names)),
		index: make(map[string]int, len(names)),
	}
	for i, name := range names {
		s.kinds[i] = propertyKind(root.Properties[name])
		s.keys[i] = append(jsonscan.AppendString([]byte{','}, name), ':')
		s.index[name] = i
	}
	s.decl, s.rank = declaredOrder(jsonSchema, s.index)
	return s, nil
}

// declaredOrder returns the wire positions of the properties in the order
// the schema's text lists them, and the inverse. Both sides of a socket
// read the same catalog, so they agree on it; were they not to, only the
// members' order would differ, never a value.
func declaredOrder(jsonSchema []byte, index map[string]int) (decl, rank []int32) {
	rank = make([]int32, len(index))
	for i := range rank {
		rank[i] = -1
	}
	// The last "properties" member counts, as in json.Unmarshal; the
	// schema parsed there, so these scans cannot fail.
	var props []byte
	_, _ = objectEach(jsonSchema, func(key, val []byte) {
		if string(key) == "properties" {
			props = val
		}
	})
	_, _ = objectEach(props, func(key, _ []byte) {
		if i, ok := index[string(key)]; ok && rank[i] < 0 { // a duplicate keeps its first place
			rank[i] = int32(len(decl))
			decl = append(decl, int32(i))
		}
	})
	for i := range rank {
		if rank[i] < 0 { // not found in the text: cannot happen, but stay whole
			rank[i] = int32(len(decl))
			decl = append(decl, int32(i))
		}
	}
	return decl, rank
}

// objectEach calls fn with the unescaped key and the raw value of each
// member of the JSON object obj. It reports false when obj is not one.
func objectEach(obj []byte, fn func(key, val []byte)) (bool, error) {
	s := jsonscan.Scanner{Buf: obj}
	s.SkipSpace()
	if !s.Eat('{') {
		return false, nil
	}
	err := s.Members(func(key []byte) error {
		s.SkipSpace()
		start := s.Pos
		if err := s.Skip(1); err != nil {
			return err
		}
		fn(key, s.Buf[start:s.Pos])
		return nil
	})
	return err == nil, err
}

// Len returns the number of properties, which is the number of values in
// every protobuf record of the stream.
func (s *RecordSchema) Len() int { return len(s.names) }

// Name returns the name of property i in wire order.
func (s *RecordSchema) Name(i int) string { return s.names[i] }

// Kind returns the value kind of property i.
func (s *RecordSchema) Kind(i int) ValueKind { return s.kinds[i] }

// Index returns the wire position of the named property.
func (s *RecordSchema) Index(name string) (int, bool) {
	i, ok := s.index[name]
	return i, ok
}

// propertySchema holds the members of a property schema that decide its
// kind. Type is a string or an array of strings.
type propertySchema struct {
	Type        json.RawMessage `json:"type"`
	Format      string          `json:"format"`
	AirbyteType string          `json:"airbyte_type"`
	Ref         string          `json:"$ref"`
	OneOf       json.RawMessage `json:"oneOf"`
	AnyOf       json.RawMessage `json:"anyOf"`
	AllOf       json.RawMessage `json:"allOf"`
}

// wellKnownTypes maps Airbyte's WellKnownTypes references to kinds.
var wellKnownTypes = map[string]ValueKind{
	"Boolean":                  KindBoolean,
	"Integer":                  KindInteger,
	"Number":                   KindNumber,
	"String":                   KindString,
	"BinaryData":               KindString, // base64 text
	"Date":                     KindDate,
	"TimestampWithTimezone":    KindTimestampWithTimezone,
	"TimestampWithoutTimezone": KindTimestampWithoutTimezone,
	"TimeWithTimezone":         KindTimeWithTimezone,
	"TimeWithoutTimezone":      KindTimeWithoutTimezone,
}

// propertyKind maps a property's JSON schema to a value kind, following the
// load CDK's JSON-schema-to-Airbyte-type rules. Where Airbyte would throw on
// something it does not know, Ferry picks KindJSON, which carries any value.
func propertyKind(raw json.RawMessage) ValueKind {
	var p propertySchema
	if json.Unmarshal(raw, &p) != nil {
		return KindJSON // e.g. a boolean schema
	}
	if p.OneOf != nil || p.AnyOf != nil || p.AllOf != nil {
		return KindJSON
	}
	if p.Ref != "" {
		const prefix = "WellKnownTypes.json#/definitions/"
		if k, ok := wellKnownTypes[strings.TrimPrefix(p.Ref, prefix)]; ok && strings.HasPrefix(p.Ref, prefix) {
			return k
		}
		return KindJSON
	}
	var types []string
	var one string
	switch {
	case json.Unmarshal(p.Type, &one) == nil:
		types = []string{one}
	case json.Unmarshal(p.Type, &types) == nil:
	default:
		return KindJSON
	}
	typ := ""
	for _, t := range types {
		if t == "null" {
			continue
		}
		if typ != "" {
			return KindJSON // a union of types
		}
		typ = t
	}
	switch typ {
	case "boolean":
		return KindBoolean
	case "integer":
		return KindInteger
	case "number":
		if p.AirbyteType == "integer" {
			return KindInteger
		}
		return KindNumber
	case "string":
		switch p.AirbyteType {
		case "timestamp_with_timezone":
			return KindTimestampWithTimezone
		case "timestamp_without_timezone":
			return KindTimestampWithoutTimezone
		case "time_with_timezone":
			return KindTimeWithTimezone
		case "time_without_timezone":
			return KindTimeWithoutTimezone
		}
		switch p.Format {
		case "date":
			return KindDate
		case "time":
			return KindTimeWithTimezone
		case "date-time":
			return KindTimestampWithTimezone
		}
		return KindString
	}
	return KindJSON
}

// CompareUTF16 compares two strings by their UTF-16 code units, the order
// of Java's String.compareTo, which Airbyte uses to sort property names.
// Go's byte order differs from it only between characters above U+FFFF
// (surrogate pairs, D800-DBFF first) and those in U+E000-U+FFFF.
func CompareUTF16(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmpInt(len(a), len(b))
	}
	// Back up to the start of the rune holding the first difference.
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	return cmpInt(utf16Key(ra), utf16Key(rb))
}

// utf16Key maps a rune to a key that orders runes as their UTF-16 encodings
// order: a BMP rune is its one code unit, a supplementary rune is its lead
// (high) surrogate followed by the bits of its trail surrogate. Both are
// shifted so the lead unit decides first.
func utf16Key(r rune) int {
	if r < 0x10000 {
		return int(r) << 10
	}
	r -= 0x10000
	return (0xD800+int(r>>10))<<10 | int(r&0x3FF)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// errSchemaMismatch is wrapped when a protobuf record has more values than
// the stream's schema has properties.
var errSchemaMismatch = errors.New("record values do not match the stream's schema")

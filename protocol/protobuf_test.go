package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ferrysync/ferry/protocol/pb"
)

// Helpers building expected protobuf values.
func pbNull() *pb.AirbyteValueProtobuf { return &pb.AirbyteValueProtobuf{IsNull: true} }
func pbBool(b bool) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Boolean{Boolean: b}}
}
func pbString(s string) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_String_{String_: s}}
}
func pbInt(i int64) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Integer{Integer: i}}
}
func pbBigInt(s string) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_BigInteger{BigInteger: s}}
}
func pbNumber(f float64) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Number{Number: f}}
}
func pbBigDec(s string) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_BigDecimal{BigDecimal: s}}
}
func pbDate(d int64) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Date{Date: d}}
}
func pbTimeTZ(nanos uint64, off int32) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_TimeWithTimezone{
		TimeWithTimezone: &pb.OffsetTime{NanosOfDay: nanos, OffsetSeconds: off}}}
}
func pbTime(nanos uint64) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_TimeWithoutTimezone{TimeWithoutTimezone: nanos}}
}
func pbTimestampTZ(sec int64, nano uint32, off int32) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_TimestampWithTimezone{
		TimestampWithTimezone: &pb.OffsetDateTime{EpochSecond: sec, Nano: nano, OffsetSeconds: off}}}
}
func pbTimestamp(days int64, nanos uint64) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_TimestampWithoutTimezone{
		TimestampWithoutTimezone: &pb.LocalDateTime{DateDaysSinceEpoch: days, NanosOfDay: nanos}}}
}
func pbJSON(s string) *pb.AirbyteValueProtobuf {
	return &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Json{Json: []byte(s)}}
}

const (
	hour = 3600 * nanosPerSecond
	min_ = 60 * nanosPerSecond
	sec  = nanosPerSecond
)

// TestValueConversion covers every value type: how a JSON value of a
// property of each kind is encoded, and what comes back.
func TestValueConversion(t *testing.T) {
	tests := []struct {
		name    string
		schema  string // the property's schema
		in      string // JSON value
		want    *pb.AirbyteValueProtobuf
		back    string // JSON value decoded back; "" means the input itself, "-" means absent (null)
		coerced bool
	}{
		{"null", `{"type":"string"}`, `null`, pbNull(), "-", false},
		{"boolean true", `{"type":"boolean"}`, `true`, pbBool(true), "", false},
		{"boolean false", `{"type":["null","boolean"]}`, `false`, pbBool(false), "", false},
		{"boolean given a string", `{"type":"boolean"}`, `"yes"`, pbString("yes"), "", true},
		{"boolean given a number", `{"type":"boolean"}`, `1`, pbJSON(`1`), "", true},

		{"string", `{"type":"string"}`, `"hello"`, pbString("hello"), "", false},
		{"string empty", `{"type":"string"}`, `""`, pbString(""), "", false},
		{"string escapes", `{"type":"string"}`, `"a\"b\\c\nd\te\u0001\u00e9\ud83d\ude00/"`, pbString("a\"b\\c\nd\te\x01é😀/"), `"a\"b\\c\nd\te\u0001é😀/"`, false},
		{"string escaped slash", `{"type":"string"}`, `"a\/b"`, pbString("a/b"), `"a/b"`, false},
		{"string with lone surrogate", `{"type":"string"}`, `"\ud800x"`, pbJSON(`"\ud800x"`), "", true},
		{"string given a number", `{"type":"string"}`, `12`, pbJSON(`12`), "", true},
		{"string given an object", `{"type":"string"}`, `{"a":1}`, pbJSON(`{"a":1}`), "", true},
		{"binary data", `{"$ref":"WellKnownTypes.json#/definitions/BinaryData"}`, `"aGVsbG8="`, pbString("aGVsbG8="), "", false},

		{"integer", `{"type":"integer"}`, `42`, pbInt(42), "", false},
		{"integer zero", `{"type":"integer"}`, `0`, pbInt(0), "", false},
		{"integer negative", `{"type":"integer"}`, `-7`, pbInt(-7), "", false},
		{"integer max int64", `{"type":"integer"}`, `9223372036854775807`, pbInt(math.MaxInt64), "", false},
		{"integer min int64", `{"type":"integer"}`, `-9223372036854775808`, pbInt(math.MinInt64), "", false},
		{"integer past int64", `{"type":"integer"}`, `9223372036854775808`, pbBigInt("9223372036854775808"), "", false},
		{"integer below int64", `{"type":"integer"}`, `-9223372036854775809`, pbBigInt("-9223372036854775809"), "", false},
		{"integer huge", `{"type":"integer"}`, `123456789012345678901234567890`, pbBigInt("123456789012345678901234567890"), "", false},
		{"integer minus zero", `{"type":"integer"}`, `-0`, pbBigInt("-0"), "", false},
		{"integer via airbyte_type", `{"type":"number","airbyte_type":"integer"}`, `5`, pbInt(5), "", false},
		{"integer via well-known type", `{"$ref":"WellKnownTypes.json#/definitions/Integer"}`, `5`, pbInt(5), "", false},
		{"integer given a fraction", `{"type":"integer"}`, `1.5`, pbNumber(1.5), "", true},
		{"integer given a string", `{"type":"integer"}`, `"12"`, pbString("12"), "", true},

		{"number", `{"type":"number"}`, `1.5`, pbNumber(1.5), "", false},
		{"number integral", `{"type":"number"}`, `42`, pbNumber(42), "", false},
		{"number 0.1", `{"type":"number"}`, `0.1`, pbNumber(0.1), "", false},
		{"number negative zero", `{"type":"number"}`, `-0`, pbNumber(math.Copysign(0, -1)), "", false},
		{"number trailing zero", `{"type":"number"}`, `1.0`, pbNumber(1), `1`, false},
		{"number exponent", `{"type":"number"}`, `1E3`, pbNumber(1000), `1000`, false},
		{"number small", `{"type":"number"}`, `1e-7`, pbNumber(1e-7), "", false},
		{"number large", `{"type":"number"}`, `1e+21`, pbNumber(1e21), "", false},
		{"number max double", `{"type":"number"}`, `1.7976931348623157e+308`, pbNumber(math.MaxFloat64), "", false},
		{"number too precise", `{"type":"number"}`, `0.10000000000000000001`, pbBigDec("0.10000000000000000001"), "", false},
		{"number big integer", `{"type":"number"}`, `12345678901234567891`, pbBigDec("12345678901234567891"), "", false},
		{"number exact big integer", `{"type":"number"}`, `9007199254740993`, pbBigDec("9007199254740993"), "", false},
		{"number out of range", `{"type":"number"}`, `1e400`, pbBigDec("1e400"), "", false},
		{"number underflow", `{"type":"number"}`, `1e-400`, pbBigDec("1e-400"), "", false},
		{"number zero with exponent", `{"type":"number"}`, `0e99999999999999999999`, pbNumber(0), `0`, false},
		{"number given a string", `{"type":"number"}`, `"1.5"`, pbString("1.5"), "", true},
		{"number given a bool", `{"type":"number"}`, `true`, pbJSON(`true`), "", true},

		{"date", `{"type":"string","format":"date"}`, `"2021-03-04"`, pbDate(18690), "", false},
		{"date epoch", `{"type":"string","format":"date"}`, `"1970-01-01"`, pbDate(0), "", false},
		{"date before epoch", `{"type":"string","format":"date"}`, `"1969-12-31"`, pbDate(-1), "", false},
		{"date year 1", `{"type":"string","format":"date"}`, `"0001-01-01"`, pbDate(-719162), "", false},
		{"date leap day", `{"type":"string","format":"date"}`, `"2024-02-29"`, pbDate(19782), "", false},
		{"date bad day", `{"type":"string","format":"date"}`, `"2023-02-29"`, pbString("2023-02-29"), "", true},
		{"date with time", `{"type":"string","format":"date"}`, `"2021-03-04T00:00:00Z"`, pbString("2021-03-04T00:00:00Z"), "", true},
		{"date BC", `{"type":"string","format":"date"}`, `"2021-03-04 BC"`, pbString("2021-03-04 BC"), "", true},
		{"date via well-known type", `{"$ref":"WellKnownTypes.json#/definitions/Date"}`, `"2000-01-01"`, pbDate(10957), "", false},

		{"time without timezone", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15"`, pbTime(13*hour + 14*min_ + 15*sec), "", false},
		{"time without timezone fraction", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15.123456789"`, pbTime(13*hour + 14*min_ + 15*sec + 123456789), "", false},
		{"time without timezone no seconds", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14"`, pbTime(13*hour + 14*min_), `"13:14:00"`, false},
		{"time without timezone trailing zeros", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"00:00:00.500"`, pbTime(sec / 2), `"00:00:00.5"`, false},
		{"time without timezone given an offset", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15Z"`, pbString("13:14:15Z"), "", true},
		{"time too fine", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15.1234567891"`, pbString("13:14:15.1234567891"), "", true},
		{"time bad hour", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"24:00:00"`, pbString("24:00:00"), "", true},
		{"time with timezone", `{"type":"string","format":"time"}`, `"13:14:15+02:00"`, pbTimeTZ(13*hour+14*min_+15*sec, 7200), "", false},
		{"time with timezone Z", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15Z"`, pbTimeTZ(13*hour+14*min_+15*sec, 0), "", false},
		{"time with timezone +00:00", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15+00:00"`, pbTimeTZ(13*hour+14*min_+15*sec, 0), `"13:14:15Z"`, false},
		{"time with timezone -0530", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"01:02:03.4-0530"`, pbTimeTZ(hour+2*min_+3*sec+400000000, -19800), `"01:02:03.4-05:30"`, false},
		{"time with timezone taken as UTC", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15"`, pbTimeTZ(13*hour+14*min_+15*sec, 0), `"13:14:15Z"`, false},
		{"time offset too large", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15+19:00"`, pbString("13:14:15+19:00"), "", true},

		{"timestamp with timezone", `{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"}`, `"2022-02-01T17:02:19Z"`, pbTimestampTZ(1643734939, 0, 0), "", false},
		{"timestamp with timezone by format only", `{"type":"string","format":"date-time"}`, `"2022-02-01T17:02:19.5+01:00"`, pbTimestampTZ(1643731339, 500000000, 3600), "", false},
		{"timestamp with timezone +00:00", `{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"}`, `"2022-02-01T17:02:19+00:00"`, pbTimestampTZ(1643734939, 0, 0), `"2022-02-01T17:02:19Z"`, false},
		{"timestamp with timezone space", `{"type":"string","format":"date-time"}`, `"2022-02-01 17:02:19.123456-08:00"`, pbTimestampTZ(1643763739, 123456000, -28800), `"2022-02-01T17:02:19.123456-08:00"`, false},
		{"timestamp with timezone no offset", `{"type":"string","format":"date-time"}`, `"2022-02-01T17:02:19"`, pbTimestampTZ(1643734939, 0, 0), `"2022-02-01T17:02:19Z"`, false},
		{"timestamp with timezone before epoch", `{"type":"string","format":"date-time"}`, `"1969-12-31T23:59:59.999999999Z"`, pbTimestampTZ(-1, 999999999, 0), "", false},
		{"timestamp with timezone crossing midnight", `{"type":"string","format":"date-time"}`, `"2022-01-01T01:00:00+05:00"`, pbTimestampTZ(1640980800, 0, 18000), "", false},
		{"timestamp with timezone garbage", `{"type":"string","format":"date-time"}`, `"yesterday"`, pbString("yesterday"), "", true},
		{"timestamp with timezone given a number", `{"type":"string","format":"date-time"}`, `1643734939`, pbJSON(`1643734939`), "", true},
		{"timestamp without timezone", `{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"}`, `"2022-02-01T17:02:19"`, pbTimestamp(19024, 17*hour+2*min_+19*sec), "", false},
		{"timestamp without timezone fraction", `{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"}`, `"1960-02-01T17:02:19.000001"`, pbTimestamp(-3622, 17*hour+2*min_+19*sec+1000), "", false},
		{"timestamp without timezone given an offset", `{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"}`, `"2022-02-01T17:02:19Z"`, pbString("2022-02-01T17:02:19Z"), "", true},
		{"timestamp via legacy airbyte_type", `{"type":"string","airbyte_type":"timestamp_with_timezone"}`, `"2022-02-01T17:02:19Z"`, pbTimestampTZ(1643734939, 0, 0), "", false},

		{"object", `{"type":"object","properties":{"a":{"type":"integer"}}}`, `{"a":1,"b":[true]}`, pbJSON(`{"a":1,"b":[true]}`), "", false},
		{"object kept as written", `{"type":"object"}`, `{ "b" : 1 , "a" : 2 }`, pbJSON(`{ "b" : 1 , "a" : 2 }`), "", false},
		{"array", `{"type":"array","items":{"type":"string"}}`, `["a","b"]`, pbJSON(`["a","b"]`), "", false},
		{"union of types", `{"type":["string","integer"]}`, `"x"`, pbJSON(`"x"`), "", false},
		{"oneOf", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `3`, pbJSON(`3`), "", false},
		{"no type", `{}`, `"x"`, pbJSON(`"x"`), "", false},
		{"unknown type", `{"type":"whatever"}`, `1.25`, pbJSON(`1.25`), "", false},
		{"unknown ref", `{"$ref":"#/definitions/Thing"}`, `{"x":1}`, pbJSON(`{"x":1}`), "", false},
		{"boolean schema", `true`, `[1]`, pbJSON(`[1]`), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewRecordSchema([]byte(`{"properties":{"v":` + tt.schema + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			record := []byte(`{"stream":"s","data":{"v":` + tt.in + `},"emitted_at":1}`)
			wire, stats, err := s.AppendRecordProto(nil, record)
			if err != nil {
				t.Fatalf("AppendRecordProto: %v", err)
			}
			if got := stats.Coerced > 0; got != tt.coerced {
				t.Errorf("coerced = %t, want %t", got, tt.coerced)
			}
			var rec pb.AirbyteRecordMessageProtobuf
			if err := proto.Unmarshal(wire, &rec); err != nil {
				t.Fatalf("proto.Unmarshal: %v", err)
			}
			if len(rec.Data) != 1 {
				t.Fatalf("got %d values, want 1", len(rec.Data))
			}
			if diff := cmp.Diff(tt.want, rec.Data[0], protocmp.Transform()); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			// The hand-written encoder writes exactly what proto.Marshal does.
			canon, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&rec)
			if !bytes.Equal(canon, wire) {
				t.Errorf("wire bytes differ from proto.Marshal:\n got %x\nwant %x", wire, canon)
			}

			back, err := s.AppendRecordJSON(nil, wire)
			if err != nil {
				t.Fatalf("AppendRecordJSON: %v", err)
			}
			var got struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatalf("decoded record %s: %v", back, err)
			}
			want := tt.back
			if want == "" {
				want = tt.in
			}
			v, ok := got.Data["v"]
			switch {
			case want == "-" && ok:
				t.Errorf("decoded value %s, want none", v)
			case want != "-" && string(v) != want:
				t.Errorf("decoded value %s, want %s", v, want)
			}
		})
	}
}

// TestValueDecoding covers values only a foreign encoder sends.
func TestValueDecoding(t *testing.T) {
	tests := []struct {
		name    string
		value   *pb.AirbyteValueProtobuf
		want    string // decoded JSON, "-" for absent
		wantErr bool
	}{
		{"is_null wins over a value", &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Integer{Integer: 1}, IsNull: true}, "-", false},
		{"no member set", &pb.AirbyteValueProtobuf{}, "-", false},
		{"NaN", pbNumber(math.NaN()), `"NaN"`, false},
		{"infinity", pbNumber(math.Inf(1)), `"Infinity"`, false},
		{"minus infinity", pbNumber(math.Inf(-1)), `"-Infinity"`, false},
		{"big_integer not a number", pbBigInt("12abc"), `"12abc"`, false},
		{"big_decimal plain", pbBigDec("1234.5678901234567890123"), `1234.5678901234567890123`, false},
		{"big_decimal java exponent", pbBigDec("1.5E+10"), `1.5E+10`, false},
		{"big_decimal not JSON", pbBigDec(".5"), `".5"`, false},
		{"json pretty-printed", pbJSON("{\n  \"a\": [1,\n 2]\n}"), `{"a":[1,2]}`, false},
		{"json with surrounding space", pbJSON(" [1] "), `[1]`, false},
		{"json invalid", pbJSON(`{"a":`), "", true},
		{"json two values", pbJSON(`1 2`), "", true},
		{"json empty", pbJSON(``), "", true},
		{"date far future", pbDate(3000000), `"+10183-09-21"`, false},
		{"date far past", pbDate(-1000000), `"-0768-02-04"`, false},
		{"date out of range", pbDate(math.MaxInt64), "", true},
		{"time out of range", pbTime(24 * hour), "", true},
		{"offset with seconds", pbTimeTZ(0, 3661), `"00:00:00+01:01:01"`, false},
		{"offset out of range", pbTimeTZ(0, 18*3600+1), "", true},
		{"timestamp nano out of range", pbTimestampTZ(0, 1e9, 0), "", true},
		{"timestamp epoch second out of range", pbTimestampTZ(math.MaxInt64, 0, 0), "", true},
		{"local timestamp nanos out of range", pbTimestamp(0, 24*hour), "", true},
		{"timestamp in its offset", pbTimestampTZ(0, 1, -3600), `"1969-12-31T23:00:00.000000001-01:00"`, false},
	}
	s, err := NewRecordSchema([]byte(`{"properties":{"v":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := proto.Marshal(&pb.AirbyteRecordMessageProtobuf{StreamName: "s", Data: []*pb.AirbyteValueProtobuf{tt.value}})
			if err != nil {
				t.Fatal(err)
			}
			back, err := s.AppendRecordJSON(nil, wire)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %s, want an error", back)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppendRecordJSON: %v", err)
			}
			var got struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatalf("decoded record %s is not JSON: %v", back, err)
			}
			v, ok := got.Data["v"]
			switch {
			case tt.want == "-" && ok:
				t.Errorf("decoded value %s, want none", v)
			case tt.want != "-" && string(v) != tt.want:
				t.Errorf("decoded value %s, want %s", v, tt.want)
			}
		})
	}
}

// TestTemporalRoundTrip checks date and timestamp arithmetic against
// encoding every day over a wide range, and formatting back.
func TestTemporalRoundTrip(t *testing.T) {
	for days := int64(-800000); days <= 800000; days += 37 {
		b, err := appendDate(nil, days)
		if err != nil {
			t.Fatal(err)
		}
		if days >= daysFromCivil(0, 1, 1) && days <= daysFromCivil(9999, 12, 31) {
			got, n, ok := parseDate(b)
			if !ok || n != len(b) || got != days {
				t.Fatalf("parseDate(%s) = %d, %t; want %d", b, got, ok, days)
			}
		}
		y, m, d := civilFromDays(days)
		if back := daysFromCivil(y, m, d); back != days {
			t.Fatalf("civil round trip of %d gave %d", days, back)
		}
	}
}

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

// TestRecordConversion covers a whole record: header fields, positional
// values, missing and extra properties, meta, and dropped members.
func TestRecordConversion(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"properties":{"id":{"type":"integer"},"name":{"type":"string"},"tags":{"type":"array"},"zeta":{"type":"number"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	record := `{"namespace":"public","stream":"users","emitted_at":1700000000123,"partition_id":"aB3x",` +
		`"data":{"name":"Ann","id":7,"extra":true,"other":1},` +
		`"meta":{"changes":[{"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]},` +
		`"file_reference":{"staging_file_url":"/x"},"undeclared":1}`
	wire, stats, err := s.AppendRecordProto(nil, []byte(record))
	if err != nil {
		t.Fatal(err)
	}
	wantStats := ConvertStats{DroppedFields: 2, FirstDropped: "extra", DroppedMembers: 2}
	if stats != wantStats {
		t.Errorf("stats = %+v, want %+v", stats, wantStats)
	}
	var got pb.AirbyteRecordMessageProtobuf
	if err := proto.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	want := &pb.AirbyteRecordMessageProtobuf{
		StreamNamespace: proto.String("public"),
		StreamName:      "users",
		EmittedAtMs:     1700000000123,
		PartitionId:     "aB3x",
		Data:            []*pb.AirbyteValueProtobuf{pbInt(7), pbString("Ann"), pbNull(), pbNull()},
		Meta: &pb.AirbyteRecordMessageMeta{Changes: []*pb.AirbyteRecordMessageMetaChange{{
			Field: "name", Change: pb.AirbyteRecordChangeType_TRUNCATED, Reason: pb.AirbyteRecordChangeReasonType_SOURCE_FIELD_SIZE_LIMITATION,
		}}},
	}
	if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	back, err := s.AppendRecordJSON(nil, wire)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"namespace":"public","stream":"users","data":{"id":7,"name":"Ann"},"emitted_at":1700000000123,` +
		`"meta":{"changes":[{"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]},"partition_id":"aB3x"}`
	if string(back) != wantJSON {
		t.Errorf("decoded\n got %s\nwant %s", back, wantJSON)
	}

	// The same through the Record and generated-type paths.
	var r Record
	if err := json.Unmarshal([]byte(record), &r); err != nil {
		t.Fatal(err)
	}
	p, stats2, err := s.RecordToProto(&r)
	if err != nil {
		t.Fatal(err)
	}
	if stats2 != wantStats {
		t.Errorf("RecordToProto stats = %+v, want %+v", stats2, wantStats)
	}
	if diff := cmp.Diff(want, p, protocmp.Transform()); diff != "" {
		t.Errorf("RecordToProto (-want +got):\n%s", diff)
	}
	r2, err := s.RecordFromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Stream != "users" || r2.Namespace != "public" || r2.EmittedAt != 1700000000123 || r2.PartitionID != "aB3x" ||
		string(r2.Data) != `{"id":7,"name":"Ann"}` || len(r2.Meta.Changes) != 1 {
		t.Errorf("RecordFromProto = %+v", r2)
	}
}

func TestRecordConversionEdges(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"properties":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		record  string
		want    string // decoded record JSON
		wantErr string
	}{
		{name: "empty data", record: `{"stream":"s","data":{},"emitted_at":5}`, want: `{"stream":"s","data":{},"emitted_at":5}`},
		{name: "null namespace", record: `{"namespace":null,"stream":"s","data":{"a":"x"},"emitted_at":0}`, want: `{"stream":"s","data":{"a":"x"},"emitted_at":0}`},
		{name: "empty namespace", record: `{"namespace":"","stream":"s","data":{},"emitted_at":1}`, want: `{"stream":"s","data":{},"emitted_at":1}`},
		{name: "escaped stream", record: `{"stream":"s\u00e9\"","data":{},"emitted_at":1}`, want: `{"stream":"sé\"","data":{},"emitted_at":1}`},
		{name: "float emitted_at", record: `{"stream":"s","data":{},"emitted_at":1.9e3}`, want: `{"stream":"s","data":{},"emitted_at":1900}`},
		{name: "duplicate key: last wins", record: `{"stream":"s","data":{"a":"1","a":"2"},"emitted_at":1}`, want: `{"stream":"s","data":{"a":"2"},"emitted_at":1}`},
		{name: "empty meta", record: `{"stream":"s","data":{},"emitted_at":1,"meta":{}}`, want: `{"stream":"s","data":{},"emitted_at":1,"meta":{}}`},
		{name: "null meta", record: `{"stream":"s","data":{},"emitted_at":1,"meta":null}`, want: `{"stream":"s","data":{},"emitted_at":1}`},
		{name: "no data", record: `{"stream":"s","emitted_at":1}`, wantErr: "without data"},
		{name: "data not an object", record: `{"stream":"s","data":[1],"emitted_at":1}`, wantErr: "not a JSON object"},
		{name: "data null", record: `{"stream":"s","data":null,"emitted_at":1}`, wantErr: "not a JSON object"},
		{name: "negative emitted_at", record: `{"stream":"s","data":{},"emitted_at":-1}`, wantErr: "negative"},
		{name: "stream not a string", record: `{"stream":1,"data":{}}`, wantErr: "not a string"},
		{name: "invalid UTF-8 stream", record: "{\"stream\":\"\xff\",\"data\":{}}", wantErr: "UTF-8"},
		{name: "unknown change reason", record: `{"stream":"s","data":{},"meta":{"changes":[{"field":"a","change":"NULLED","reason":"MOON_PHASE"}]}}`, wantErr: "MOON_PHASE"},
		{name: "unknown change type", record: `{"stream":"s","data":{},"meta":{"changes":[{"field":"a","change":"EATEN","reason":"SOURCE_RETRIEVAL_ERROR"}]}}`, wantErr: "EATEN"},
		{name: "not an object", record: `[]`, wantErr: "not a JSON object"},
		{name: "malformed", record: `{"stream":"s","data":{"a":}}`, wantErr: "record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, _, err := s.AppendRecordProto(nil, []byte(tt.record))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := s.AppendRecordJSON(nil, wire)
			if err != nil {
				t.Fatal(err)
			}
			if string(back) != tt.want {
				t.Errorf("got %s, want %s", back, tt.want)
			}
		})
	}
}

func TestRecordDecodingErrors(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"properties":{"a":{},"b":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Fewer values than properties: the rest are null, as in Airbyte.
	back, err := s.AppendRecordJSON(nil, marshal(&pb.AirbyteRecordMessageProtobuf{StreamName: "s", Data: []*pb.AirbyteValueProtobuf{pbInt(1)}}))
	if err != nil || string(back) != `{"stream":"s","data":{"a":1},"emitted_at":0}` {
		t.Errorf("one value for two properties: %s, %v", back, err)
	}
	// More values than properties cannot be named.
	_, err = s.AppendRecordJSON(nil, marshal(&pb.AirbyteRecordMessageProtobuf{StreamName: "s", Data: []*pb.AirbyteValueProtobuf{pbInt(1), pbInt(2), pbInt(3)}}))
	if !errors.Is(err, errSchemaMismatch) {
		t.Errorf("three values for two properties: error %v, want errSchemaMismatch", err)
	}
	// Unknown enum values in meta.
	_, err = s.AppendRecordJSON(nil, marshal(&pb.AirbyteRecordMessageProtobuf{StreamName: "s", Meta: &pb.AirbyteRecordMessageMeta{
		Changes: []*pb.AirbyteRecordMessageMetaChange{{Reason: 11}}}}))
	if err == nil {
		t.Errorf("unknown change reason decoded without error")
	}
	// Invalid UTF-8 in a string field, as proto.Unmarshal rejects it.
	bad := protowire.AppendTag(nil, recStream, protowire.BytesType)
	bad = protowire.AppendBytes(bad, []byte{0xff})
	if _, err := s.AppendRecordJSON(nil, bad); !errors.Is(err, errInvalidUTF8) {
		t.Errorf("invalid UTF-8 stream: error %v, want errInvalidUTF8", err)
	}
	// Truncated input.
	good := marshal(&pb.AirbyteRecordMessageProtobuf{StreamName: "stream", Data: []*pb.AirbyteValueProtobuf{pbString("value")}})
	for i := 1; i < len(good); i++ {
		if _, err := s.AppendRecordJSON(nil, good[:i]); err == nil {
			if perr := proto.Unmarshal(good[:i], new(pb.AirbyteRecordMessageProtobuf)); perr != nil {
				t.Errorf("prefix %d decoded, but proto.Unmarshal rejects it: %v", i, perr)
			}
		}
	}
}

func testCatalog(t testing.TB) *ProtoCatalog {
	t.Helper()
	c, err := NewProtoCatalog([]Stream{
		{Name: "users", JSONSchema: []byte(`{"properties":{"id":{"type":"integer"},"name":{"type":"string"}}}`)},
		{Name: "users", Namespace: "other", JSONSchema: []byte(`{"properties":{"x":{"type":"boolean"}}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProtoCatalogMessages(t *testing.T) {
	c := testCatalog(t)
	tests := []struct {
		name    string
		line    string
		want    string // the line decoded back
		member  string // "record" or "json"
		wantErr error
	}{
		{name: "record", line: `{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"a"},"emitted_at":2}}`, member: "record",
			want: `{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"a"},"emitted_at":2}}`},
		{name: "record in a namespace", line: `{"type":"RECORD","record":{"namespace":"other","stream":"users","data":{"x":true},"emitted_at":2}}`, member: "record",
			want: `{"type":"RECORD","record":{"namespace":"other","stream":"users","data":{"x":true},"emitted_at":2}}`},
		{name: "record, unknown envelope member dropped", line: `{"type":"RECORD","extra":1,"record":{"stream":"users","data":{},"emitted_at":2}}`, member: "record",
			want: `{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":2}}`},
		{name: "state", line: `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"c":1}},"id":3,"partition_id":"p"}}`, member: "json"},
		{name: "trace", line: `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1.5,"stream_status":{"stream_descriptor":{"name":"users"},"status":"COMPLETE"}}}`, member: "json"},
		{name: "unknown type", line: `{"type":"HEARTBEAT","x":[1,2]}`, member: "json"},
		{name: "json keeps its bytes", line: `{"type":"LOG",  "log":{"level":"INFO","message":"a \u00e9"}}`, member: "json"},
		{name: "unknown stream", line: `{"type":"RECORD","record":{"stream":"nope","data":{}}}`, wantErr: ErrUnknownStream},
		{name: "record without payload", line: `{"type":"RECORD"}`, wantErr: errors.New("RECORD message without its payload")},
		{name: "not a message", line: `hello`, wantErr: ErrNotMessage},
		{name: "no type", line: `{"record":{}}`, wantErr: ErrNotMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, _, err := c.AppendMessageProto(nil, []byte(tt.line))
			if tt.wantErr != nil {
				if err == nil || (!errors.Is(err, tt.wantErr) && err.Error() != tt.wantErr.Error()) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var m pb.AirbyteMessageProtobuf
			if err := proto.Unmarshal(wire, &m); err != nil {
				t.Fatal(err)
			}
			switch tt.member {
			case "record":
				if m.GetRecord() == nil {
					t.Errorf("message %v is not a record", &m)
				}
			case "json":
				if m.GetAirbyteProtocolMessage() != tt.line {
					t.Errorf("airbyte_protocol_message = %q, want the line", m.GetAirbyteProtocolMessage())
				}
			}
			back, err := c.AppendMessageJSON(nil, wire)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.line
			}
			if string(back) != want {
				t.Errorf("decoded\n got %s\nwant %s", back, want)
			}
			// The generated-type path agrees.
			pm, _, err := c.MessageToProto([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			line2, err := c.MessageFromProto(pm)
			if err != nil || string(line2) != want {
				t.Errorf("MessageFromProto = %s, %v; want %s", line2, err, want)
			}
		})
	}
}

func TestProtoCatalogDecodeEnvelope(t *testing.T) {
	c := testCatalog(t)
	marshal := func(m *pb.AirbyteMessageProtobuf) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := c.AppendMessageJSON(nil, ProbeFrame[1:]); !errors.Is(err, ErrProbe) {
		t.Errorf("probe: error %v, want ErrProbe", err)
	}
	probe := marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_Probe{Probe: &pb.AirbyteProbeMessageProtobuf{}}})
	if !bytes.Equal(probe, ProbeFrame[1:]) {
		t.Errorf("proto.Marshal(probe) = %x, want %x", probe, ProbeFrame[1:])
	}
	if _, err := c.AppendMessageJSON(nil, nil); err == nil {
		t.Errorf("empty message decoded without error")
	}
	if _, err := c.AppendMessageJSON(nil, marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_AirbyteProtocolMessage{AirbyteProtocolMessage: "{not json"}})); err == nil {
		t.Errorf("bad airbyte_protocol_message decoded without error")
	}
	got, err := c.AppendMessageJSON(nil, marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_AirbyteProtocolMessage{
		AirbyteProtocolMessage: "{\n  \"type\": \"LOG\"\n}"}}))
	if err != nil || string(got) != `{"type":"LOG"}` {
		t.Errorf("multi-line protocol message decoded to %q, %v; want one line", got, err)
	}
	// A record split over two occurrences merges, as proto does; a later
	// oneof member replaces it.
	r1 := marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_Record{Record: &pb.AirbyteRecordMessageProtobuf{StreamName: "users", Data: []*pb.AirbyteValueProtobuf{pbInt(1)}}}})
	r2 := marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_Record{Record: &pb.AirbyteRecordMessageProtobuf{Data: []*pb.AirbyteValueProtobuf{pbString("x")}, EmittedAtMs: 9}}})
	got, err = c.AppendMessageJSON(nil, append(slices.Clone(r1), r2...))
	if want := `{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"x"},"emitted_at":9}}`; err != nil || string(got) != want {
		t.Errorf("merged record = %s, %v; want %s", got, err, want)
	}
	got, err = c.AppendMessageJSON(nil, append(slices.Clone(r1), ProbeFrame[1:]...))
	if !errors.Is(err, ErrProbe) {
		t.Errorf("record then probe = %s, %v; want ErrProbe", got, err)
	}
	// Unknown fields are skipped.
	unknown := protowire.AppendTag(nil, 99, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 5)
	got, err = c.AppendMessageJSON(nil, append(unknown, marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_AirbyteProtocolMessage{AirbyteProtocolMessage: `{"type":"LOG"}`}})...))
	if err != nil || string(got) != `{"type":"LOG"}` {
		t.Errorf("with an unknown field: %s, %v", got, err)
	}
	// A record of a stream the catalog lacks.
	_, err = c.AppendMessageJSON(nil, marshal(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_Record{Record: &pb.AirbyteRecordMessageProtobuf{StreamName: "nope"}}}))
	if !errors.Is(err, ErrUnknownStream) {
		t.Errorf("unknown stream: error %v, want ErrUnknownStream", err)
	}
}

func TestProtoReaderWriter(t *testing.T) {
	c := testCatalog(t)
	var buf bytes.Buffer
	w := NewProtoWriter(&buf)
	if err := w.WriteProbe(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteMessage(c, []byte(`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":2}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteRecord(c.Schema(StreamDescriptor{Name: "users"}), &Record{Stream: "users", Data: json.RawMessage(`{"name":"b"}`), EmittedAt: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteRecordJSON(c.Schema(StreamDescriptor{Name: "users", Namespace: "other"}), []byte(`{"namespace":"other","stream":"users","data":{"x":false},"emitted_at":4}`)); err != nil {
		t.Fatal(err)
	}
	state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"}},"id":1}}`
	if err := w.WriteProtocolMessage([]byte(state)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 200<<10) // larger than the reader's buffer
	if _, err := w.WriteMessage(c, []byte(`{"type":"RECORD","record":{"stream":"users","data":{"name":"`+big+`"},"emitted_at":5}}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_AirbyteProtocolMessage{AirbyteProtocolMessage: `{"type":"LOG","log":{"level":"INFO","message":"m"}}`}}); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() == 0 {
		t.Errorf("nothing buffered before Flush")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), ProbeFrame) {
		t.Errorf("stream starts %x, want the probe frame %x", buf.Bytes()[:3], ProbeFrame)
	}

	want := []string{
		"probe",
		`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":2}}`,
		`{"type":"RECORD","record":{"stream":"users","data":{"name":"b"},"emitted_at":3}}`,
		`{"type":"RECORD","record":{"namespace":"other","stream":"users","data":{"x":false},"emitted_at":4}}`,
		state,
		`{"type":"RECORD","record":{"stream":"users","data":{"name":"` + big + `"},"emitted_at":5}}`,
		`{"type":"LOG","log":{"level":"INFO","message":"m"}}`,
	}
	for _, name := range []string{"whole", "one byte at a time"} {
		var in io.Reader = bytes.NewReader(buf.Bytes())
		if name != "whole" {
			in = iotest.OneByteReader(in)
		}
		r := NewProtoReader(in, 0)
		var got []string
		for {
			frame, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: ReadFrame: %v", name, err)
			}
			line, err := c.AppendMessageJSON(nil, frame)
			if errors.Is(err, ErrProbe) {
				got = append(got, "probe")
				continue
			}
			if err != nil {
				t.Fatalf("%s: AppendMessageJSON: %v", name, err)
			}
			got = append(got, string(line))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: messages (-want +got):\n%.2000s", name, diff)
		}
		if r.MessageNumber() != int64(len(want)) {
			t.Errorf("%s: MessageNumber = %d, want %d", name, r.MessageNumber(), len(want))
		}
	}

	// Read gives the generated type.
	r := NewProtoReader(bytes.NewReader(buf.Bytes()), 0)
	m, err := r.Read()
	if err != nil || m.GetProbe() == nil {
		t.Errorf("Read = %v, %v; want a probe", m, err)
	}
	if m, err = r.Read(); err != nil || m.GetRecord().GetStreamName() != "users" {
		t.Errorf("Read = %v, %v; want a users record", m, err)
	}
}

func TestProtoReaderLimits(t *testing.T) {
	frame := func(n int) []byte {
		msg := protowire.AppendTag(nil, 2, protowire.BytesType)
		msg = protowire.AppendBytes(msg, bytes.Repeat([]byte("a"), n))
		return protowire.AppendBytes(nil, msg)
	}
	t.Run("over the limit is skipped", func(t *testing.T) {
		input := slices.Concat(frame(10), frame(5000), frame(20))
		r := NewProtoReader(bytes.NewReader(input), 1000)
		if b, err := r.ReadFrame(); err != nil || len(b) != 12 {
			t.Fatalf("first frame: %d bytes, %v", len(b), err)
		}
		_, err := r.ReadFrame()
		var tl *MessageTooLargeError
		if !errors.As(err, &tl) {
			t.Fatalf("error = %v, want *MessageTooLargeError", err)
		}
		if tl.Limit != 1000 || tl.Size != 5003 || tl.Message != 2 {
			t.Errorf("got %+v, want limit 1000 size 5003 message 2", tl)
		}
		if !strings.Contains(err.Error(), "1000-byte limit") {
			t.Errorf("error %q does not name the limit", err)
		}
		if b, err := r.ReadFrame(); err != nil || len(b) != 22 {
			t.Errorf("frame after the skipped one: %d bytes, %v", len(b), err)
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Errorf("at the end: %v, want io.EOF", err)
		}
	})
	t.Run("huge declared length allocates nothing", func(t *testing.T) {
		input := protowire.AppendVarint(nil, 1<<62)
		allocs := testing.AllocsPerRun(20, func() {
			r := NewProtoReader(bytes.NewReader(input), 0)
			var tl *MessageTooLargeError
			if _, err := r.ReadFrame(); !errors.As(err, &tl) {
				t.Fatalf("error = %v, want *MessageTooLargeError", err)
			}
		})
		if allocs > 5 { // the reader, its buffer and the error
			t.Errorf("%v allocations for a 2^62-byte claim", allocs)
		}
	})
	t.Run("lying length under the limit", func(t *testing.T) {
		// 200 MiB claimed, 1 MiB sent: memory follows what arrives.
		input := append(protowire.AppendVarint(nil, 200<<20), make([]byte, 1<<20)...)
		r := NewProtoReader(bytes.NewReader(input), 0)
		if _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
			t.Errorf("error = %v, want io.ErrUnexpectedEOF", err)
		}
		if cap(r.buf) > 4<<20 {
			t.Errorf("reader grew a %d-byte buffer for 1 MiB of input", cap(r.buf))
		}
	})
	t.Run("truncations", func(t *testing.T) {
		tests := []struct {
			name  string
			input []byte
			want  error
		}{
			{"empty", nil, io.EOF},
			{"length only", []byte{0x05}, io.ErrUnexpectedEOF},
			{"short body", []byte{0x05, 1, 2}, io.ErrUnexpectedEOF},
			{"unfinished varint", []byte{0x80}, io.ErrUnexpectedEOF},
			{"varint overflow", bytes.Repeat([]byte{0xff}, 11), errBadWire},
			{"skipped message cut short", append(protowire.AppendVarint(nil, 5000), 1, 2, 3), io.ErrUnexpectedEOF},
		}
		for _, tt := range tests {
			r := NewProtoReader(bytes.NewReader(tt.input), 1000)
			var err error
			for range 3 {
				if _, err = r.ReadFrame(); err != nil {
					var tl *MessageTooLargeError
					if errors.As(err, &tl) {
						continue
					}
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
			}
		}
	})
	t.Run("zero-length message", func(t *testing.T) {
		r := NewProtoReader(bytes.NewReader([]byte{0}), 0)
		b, err := r.ReadFrame()
		if err != nil || len(b) != 0 {
			t.Fatalf("ReadFrame = %x, %v", b, err)
		}
		if _, err := testCatalog(t).AppendMessageJSON(nil, b); err == nil {
			t.Errorf("an empty message converted without error")
		}
	})
}

func TestEncodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	c, err := NewProtoCatalog([]Stream{{Name: "products", JSONSchema: []byte(benchSchema)}})
	if err != nil {
		t.Fatal(err)
	}
	line := benchLines(1)[0]
	out := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		out, _, err = c.AppendMessageProto(out[:0], line)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("AppendMessageProto allocates %v times per record, want 0", allocs)
	}
	msg := slices.Clone(out)
	allocs = testing.AllocsPerRun(100, func() {
		var err error
		out, err = c.AppendMessageJSON(out[:0], msg)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("AppendMessageJSON allocates %v times per record, want 0", allocs)
	}
}

// TestDiscardedRecordValidated: a record replaced by a later oneof member is
// still checked, because proto.Unmarshal rejects the whole message when it
// is malformed.
func TestDiscardedRecordValidated(t *testing.T) {
	v := protowire.AppendTag(nil, fieldString, protowire.BytesType)
	v = protowire.AppendBytes(v, []byte{0xff})
	rec := protowire.AppendTag(nil, recData, protowire.BytesType)
	rec = protowire.AppendBytes(rec, v)
	msg := protowire.AppendTag(nil, 1, protowire.BytesType)
	msg = protowire.AppendBytes(msg, rec)
	msg = protowire.AppendTag(msg, 2, protowire.BytesType)
	msg = protowire.AppendString(msg, `{"type":"LOG"}`)
	if proto.Unmarshal(msg, new(pb.AirbyteMessageProtobuf)) == nil {
		t.Fatal("proto.Unmarshal accepts the message; the test is wrong")
	}
	if line, err := testCatalog(t).AppendMessageJSON(nil, msg); !errors.Is(err, errInvalidUTF8) {
		t.Errorf("AppendMessageJSON = %s, %v; want errInvalidUTF8", line, err)
	}
}

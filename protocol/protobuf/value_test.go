package protobuf

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

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

// withExt adds an unknown varint field to v, as Ferry's extensions are to
// the generated type.
func withExt(v *pb.AirbyteValueProtobuf, num protowire.Number, x uint64) *pb.AirbyteValueProtobuf {
	b := protowire.AppendTag(v.ProtoReflect().GetUnknown(), num, protowire.VarintType)
	v.ProtoReflect().SetUnknown(protowire.AppendVarint(b, x))
	return v
}

// withForm adds the text form extension.
func withForm(v *pb.AirbyteValueProtobuf, form TextForm) *pb.AirbyteValueProtobuf {
	return withExt(v, extForm, uint64(form))
}

// withText adds the string text extension.
func withText(v *pb.AirbyteValueProtobuf, text string) *pb.AirbyteValueProtobuf {
	b := protowire.AppendTag(v.ProtoReflect().GetUnknown(), extText, protowire.BytesType)
	v.ProtoReflect().SetUnknown(protowire.AppendString(b, text))
	return v
}

// pbAbsent is a property the record does not have.
func pbAbsent() *pb.AirbyteValueProtobuf { return withExt(pbNull(), extAbsent, 1) }

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
		back    string // JSON value decoded back; "" means the input itself, "-" means absent
		coerced bool
	}{
		{"null", `{"type":"string"}`, `null`, pbNull(), "", false},
		{"boolean true", `{"type":"boolean"}`, `true`, pbBool(true), "", false},
		{"boolean false", `{"type":["null","boolean"]}`, `false`, pbBool(false), "", false},
		{"boolean given a string", `{"type":"boolean"}`, `"yes"`, pbString("yes"), "", true},
		{"boolean given a number", `{"type":"boolean"}`, `1`, pbJSON(`1`), "", true},

		{"string", `{"type":"string"}`, `"hello"`, pbString("hello"), "", false},
		{"string empty", `{"type":"string"}`, `""`, pbString(""), "", false},
		{"string escapes", `{"type":"string"}`, `"a\"b\\c\nd\te\u0001\u00e9\ud83d\ude00/"`, withText(pbString("a\"b\\c\nd\te\x01é😀/"), `"a\"b\\c\nd\te\u0001\u00e9\ud83d\ude00/"`), "", false},
		{"string escaped slash", `{"type":"string"}`, `"a\/b"`, withText(pbString("a/b"), `"a\/b"`), "", false},
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
		{"number trailing zero", `{"type":"number"}`, `1.0`, pbBigDec("1.0"), "", false},
		{"number exponent", `{"type":"number"}`, `1E3`, pbBigDec("1E3"), "", false},
		{"number small", `{"type":"number"}`, `1e-7`, pbNumber(1e-7), "", false},
		{"number large", `{"type":"number"}`, `1e+21`, pbNumber(1e21), "", false},
		{"number max double", `{"type":"number"}`, `1.7976931348623157e+308`, pbNumber(math.MaxFloat64), "", false},
		{"number too precise", `{"type":"number"}`, `0.10000000000000000001`, pbBigDec("0.10000000000000000001"), "", false},
		{"number big integer", `{"type":"number"}`, `12345678901234567891`, pbBigDec("12345678901234567891"), "", false},
		{"number exact big integer", `{"type":"number"}`, `9007199254740993`, pbBigDec("9007199254740993"), "", false},
		{"number out of range", `{"type":"number"}`, `1e400`, pbBigDec("1e400"), "", false},
		{"number underflow", `{"type":"number"}`, `1e-400`, pbBigDec("1e-400"), "", false},
		{"number zero with exponent", `{"type":"number"}`, `0e99999999999999999999`, pbBigDec("0e99999999999999999999"), "", false},
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
		{"time without timezone no seconds", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14"`, withForm(pbTime(13*hour+14*min_), formNoSeconds), "", false},
		{"time without timezone trailing zeros", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"00:00:00.500"`, withForm(pbTime(sec/2), 4<<formFracShift), "", false},
		{"time without timezone given an offset", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15Z"`, pbString("13:14:15Z"), "", true},
		{"time too fine", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"13:14:15.1234567891"`, pbString("13:14:15.1234567891"), "", true},
		{"time bad hour", `{"type":"string","format":"time","airbyte_type":"time_without_timezone"}`, `"24:00:00"`, pbString("24:00:00"), "", true},
		{"time with timezone", `{"type":"string","format":"time"}`, `"13:14:15+02:00"`, pbTimeTZ(13*hour+14*min_+15*sec, 7200), "", false},
		{"time with timezone Z", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15Z"`, pbTimeTZ(13*hour+14*min_+15*sec, 0), "", false},
		{"time with timezone +00:00", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15+00:00"`, withForm(pbTimeTZ(13*hour+14*min_+15*sec, 0), offsetColon), "", false},
		{"time with timezone -0530", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"01:02:03.4-0530"`, withForm(pbTimeTZ(hour+2*min_+3*sec+400000000, -19800), offsetCompact), "", false},
		{"time with timezone taken as UTC", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15"`, withForm(pbTimeTZ(13*hour+14*min_+15*sec, 0), offsetNone), "", false},
		{"time offset too large", `{"type":"string","format":"time","airbyte_type":"time_with_timezone"}`, `"13:14:15+19:00"`, pbString("13:14:15+19:00"), "", true},

		{"timestamp with timezone", `{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"}`, `"2022-02-01T17:02:19Z"`, pbTimestampTZ(1643734939, 0, 0), "", false},
		{"timestamp with timezone by format only", `{"type":"string","format":"date-time"}`, `"2022-02-01T17:02:19.5+01:00"`, pbTimestampTZ(1643731339, 500000000, 3600), "", false},
		{"timestamp with timezone +00:00", `{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"}`, `"2022-02-01T17:02:19+00:00"`, withForm(pbTimestampTZ(1643734939, 0, 0), offsetColon), "", false},
		{"timestamp with timezone space", `{"type":"string","format":"date-time"}`, `"2022-02-01 17:02:19.123456-08:00"`, withForm(pbTimestampTZ(1643763739, 123456000, -28800), sepSpace), "", false},
		{"timestamp with timezone no offset", `{"type":"string","format":"date-time"}`, `"2022-02-01T17:02:19"`, withForm(pbTimestampTZ(1643734939, 0, 0), offsetNone), "", false},
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
		{"is_null wins over a value", &pb.AirbyteValueProtobuf{Value: &pb.AirbyteValueProtobuf_Integer{Integer: 1}, IsNull: true}, "null", false},
		{"no member set", &pb.AirbyteValueProtobuf{}, "null", false},
		{"absent", pbAbsent(), "-", false},
		{"absent marker alone", withExt(&pb.AirbyteValueProtobuf{}, extAbsent, 1), "-", false},
		{"absent marker on a value", withExt(pbInt(3), extAbsent, 1), "3", false},
		{"form of a timestamp", withForm(pbTimestampTZ(0, 0, 0), offsetColon|formNegZero|sepLowerT|formNoSeconds), `"1970-01-01t00:00-00:00"`, false},
		{"form a value does not allow", withForm(pbTimestampTZ(1, 5e8, 3600), offsetLowerZ|formNoSeconds|2<<formFracShift), `"1970-01-01T01:00:01.5+01:00"`, false},
		{"form out of range", withExt(pbTime(0), extForm, 1<<40), `"00:00:00"`, false},
		{"text of another string", withText(pbString("a"), `"b"`), `"a"`, false},
		{"text that is not a string", withText(pbString("1"), `1`), `"1"`, false},
		{"text with trailing data", withText(pbString("a"), `"a"x`), `"a"`, false},
		{"text of a string", withText(pbString("é"), `"\u00e9"`), `"\u00e9"`, false},
		{"text on a number", withText(pbInt(1), `"x"`), `1`, false},
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

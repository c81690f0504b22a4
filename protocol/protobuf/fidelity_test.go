package protobuf

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol/pb"
)

// fidelitySchema declares its properties neither sorted nor in the order
// of every record below, with a property of every kind.
const fidelitySchema = `{"type":"object","properties":{
	"id":{"type":"integer"},
	"name":{"type":["null","string"]},
	"price":{"type":"number"},
	"active":{"type":"boolean"},
	"born":{"type":"string","format":"date"},
	"at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},
	"local":{"type":"string","format":"date-time","airbyte_type":"timestamp_without_timezone"},
	"opens":{"type":"string","format":"time","airbyte_type":"time_with_timezone"},
	"wall":{"type":"string","format":"time","airbyte_type":"time_without_timezone"},
	"tags":{"type":"array"},
	"attrs":{"type":"object"}}}`

// TestFidelity sends data objects through protobuf and back and wants
// every byte back: each case is one difference the codec used to make
// between stdio and socket mode, or one Airbyte's schema cannot say.
func TestFidelity(t *testing.T) {
	s, err := NewRecordSchema([]byte(fidelitySchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data string
		order      bool // the record needs the order extension
	}{
		{name: "declared order", data: `{"id":1,"name":"a","price":1.5,"active":true}`},
		{name: "another order", data: `{"active":false,"price":2,"id":1}`, order: true},
		{name: "null stays null, absent stays absent", data: `{"id":1,"name":null,"tags":null}`},
		{name: "every property null", data: `{"id":null,"name":null,"price":null,"active":null,"born":null,"at":null,"local":null,"opens":null,"wall":null,"tags":null,"attrs":null}`},
		{name: "empty data", data: `{}`},
		{name: "fields outside the schema last", data: `{"id":1,"extra":{"x":[1,null]},"more":null}`},
		{name: "fields outside the schema first", data: `{"extra":"x","id":1}`, order: true},
		{name: "only fields outside the schema", data: `{"zz":1,"aa":2}`},
		{name: "escaped key outside the schema", data: `{"id":1,"\u00e9t\u00e9":1}`},
		{name: "offset +00:00", data: `{"at":"2021-01-01T10:00:00+00:00"}`},
		{name: "offset Z", data: `{"at":"2021-01-01T10:00:00Z"}`},
		{name: "offset z and separator t", data: `{"at":"2021-01-01t10:00:00z"}`},
		{name: "offset -00:00", data: `{"at":"2021-01-01T10:00:00-00:00"}`},
		{name: "offset +0000", data: `{"at":"2021-01-01T10:00:00+0000"}`},
		{name: "offset +00", data: `{"at":"2021-01-01T10:00:00+00"}`},
		{name: "offset -05", data: `{"at":"2021-01-01T10:00:00-05"}`},
		{name: "offset +0530", data: `{"at":"2021-01-01T10:00:00+0530"}`},
		{name: "offset -08:00", data: `{"at":"2021-01-01T10:00:00-08:00"}`},
		{name: "no offset", data: `{"at":"2021-01-01T10:00:00"}`},
		{name: "space separator, no seconds", data: `{"at":"2021-01-01 10:00+02:00"}`},
		{name: "trailing zeros", data: `{"at":"2021-01-01T10:00:00.120000Z","local":"2021-01-01T10:00:00.0","wall":"10:00:00.000"}`},
		{name: "nanoseconds", data: `{"at":"1969-12-31T23:59:59.999999999-18:00","local":"0001-01-01T00:00:00.000000001"}`},
		{name: "times", data: `{"opens":"08:30+0100","wall":"23:59"}`},
		{name: "time taken as UTC", data: `{"opens":"08:30:00"}`},
		{name: "date", data: `{"born":"1969-07-20"}`},
		{name: "numbers in their shortest form", data: `{"price":0.1,"id":-9223372036854775808}`, order: true},
		{name: "numbers in other forms", data: `{"price":1.0}`},
		{name: "exponent", data: `{"price":1E3}`},
		{name: "negative zero", data: `{"price":-0.0,"id":-0}`, order: true},
		{name: "decimal beyond a double", data: `{"price":123456789012345678901234567890.123456789}`},
		{name: "integer beyond 64 bits", data: `{"id":123456789012345678901234567890}`},
		{name: "out of range", data: `{"price":1e400}`},
		{name: "strings", data: `{"name":""}`},
		{name: "unicode", data: `{"name":"é中😀 \u0001 \" \\ \n"}`},
		{name: "escapes the decoder would not write", data: `{"name":"\u00e9\/\u003c\b"}`},
		{name: "lone surrogate", data: `{"name":"\ud800"}`},
		{name: "nested", data: `{"tags":["a",{"b":[]},null,1.0],"attrs":{ "k" : "v" ,"n":{"m":null}}}`},
		{name: "values not of their type", data: `{"id":"1","price":"x","active":1,"born":"yesterday","tags":"a"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := []byte(`{"stream":"s","data":` + tt.data + `,"emitted_at":1}`)
			wire, _, err := s.AppendRecordProto(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			var p pb.AirbyteRecordMessageProtobuf
			if err := proto.Unmarshal(wire, &p); err != nil {
				t.Fatalf("Airbyte's schema rejects the record: %v", err)
			}
			if len(p.Data) != s.Len() {
				t.Fatalf("%d values, want one per property (%d)", len(p.Data), s.Len())
			}
			if got := bytes.Contains(p.ProtoReflect().GetUnknown(), orderTag()); got != tt.order {
				t.Errorf("order extension sent: %t, want %t", got, tt.order)
			}
			back, err := s.AppendRecordJSON(nil, wire)
			if err != nil {
				t.Fatal(err)
			}
			if string(back) != string(rec) {
				t.Errorf("back\n got %s\nwant %s", back, rec)
			}
		})
	}
}

// orderTag is the tag of the order extension.
func orderTag() []byte { return protowire.AppendTag(nil, extOrder, protowire.BytesType) }

// TestFidelityAirbyteView checks what an Airbyte destination, which does
// not know Ferry's extensions, reads: absent and null are both is_null,
// a timestamp keeps its instant and offset, a number its value.
func TestFidelityAirbyteView(t *testing.T) {
	s, err := NewRecordSchema([]byte(fidelitySchema))
	if err != nil {
		t.Fatal(err)
	}
	wire, _, err := s.AppendRecordProto(nil, []byte(`{"stream":"s","data":{"name":null,"at":"2021-01-01T10:00:00+00:00","price":1.0},"emitted_at":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var p pb.AirbyteRecordMessageProtobuf
	if err := proto.Unmarshal(wire, &p); err != nil {
		t.Fatal(err)
	}
	for i, v := range p.Data {
		switch s.Name(i) {
		case "name", "id", "tags":
			if !v.GetIsNull() {
				t.Errorf("%s: is_null not set", s.Name(i))
			}
		case "at":
			if ts := v.GetTimestampWithTimezone(); ts.GetEpochSecond() != 1609495200 || ts.GetOffsetSeconds() != 0 {
				t.Errorf("at = %v", ts)
			}
		case "price":
			if v.GetBigDecimal() != "1.0" {
				t.Errorf("price = %v, want big_decimal 1.0", v)
			}
		}
	}
}

// TestRecordValuesAbsentAndNull: a source that emits values directly
// tells absent from null, and writes a timestamp's form.
func TestRecordValuesAbsentAndNull(t *testing.T) {
	s, err := NewRecordSchema([]byte(fidelitySchema))
	if err != nil {
		t.Fatal(err)
	}
	i := func(name string) int { k, _ := s.Index(name); return k }
	form, ok := TemporalForm(KindTimestampWithTimezone, "2000-01-01T00:00:00+00:00")
	if !ok || form == 0 {
		t.Fatalf("TemporalForm = %d, %t", form, ok)
	}
	v := s.NewRecordValues()
	v.SetInt(i("id"), 1)
	v.SetNull(i("name"))
	v.SetTimestampTZ(i("at"), 1609495200, 0, 0, form)
	v.SetString(i("tags"), "x")
	v.SetAbsent(i("tags"))
	h := &RecordHeader{Stream: []byte("s"), EmittedAt: 1}
	frame, err := s.AppendValuesFrame(nil, h, v)
	if err != nil {
		t.Fatal(err)
	}
	c := &Catalog{byNamespace: map[string]map[string]*RecordSchema{"": {"s": s}}}
	size, n := protowire.ConsumeVarint(frame)
	if n <= 0 || int(size) != len(frame)-n {
		t.Fatalf("bad frame %x", frame)
	}
	line, err := c.AppendMessageJSON(nil, frame[n:])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"RECORD","record":{"stream":"s","data":{"id":1,"name":null,"at":"2021-01-01T10:00:00+00:00"},"emitted_at":1}}`
	if string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	if _, ok := TemporalForm(KindTimestampWithTimezone, "not a time"); ok {
		t.Error("TemporalForm accepts a string that is not a timestamp")
	}
	if _, ok := TemporalForm(KindString, "10:00"); ok {
		t.Error("TemporalForm accepts a kind that is not a date or time")
	}
}

// TestDeclaredOrder: the default order is the schema text's, whatever the
// wire order (UTF-16 sorted) is.
func TestDeclaredOrder(t *testing.T) {
	s, err := NewRecordSchema([]byte(`{"properties":{"b":{},"c":{},"a":{},"b":{}},"properties2":{"z":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range s.decl {
		names = append(names, s.Name(int(i)))
	}
	if strings.Join(names, " ") != "b c a" {
		t.Errorf("declared order %v, want [b c a]", names)
	}
	for r, i := range s.decl {
		if s.rank[i] != int32(r) {
			t.Errorf("rank of %s = %d, want %d", s.Name(int(i)), s.rank[i], r)
		}
	}
}

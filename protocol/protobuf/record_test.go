package protobuf

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
	"github.com/ferrysync/ferry/protocol/protocoltest"
)

// TestRecordConversion covers a whole record: header fields, positional
// values, missing and extra properties, meta, and members protobuf has no
// field for, which travel in Ferry's extensions.
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
	wantStats := ConvertStats{ExtraFields: 2, FirstExtra: "extra", ExtraMembers: 2}
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
		Data:            []*pb.AirbyteValueProtobuf{pbInt(7), pbString("Ann"), pbAbsent(), pbAbsent()},
		Meta: &pb.AirbyteRecordMessageMeta{Changes: []*pb.AirbyteRecordMessageMetaChange{{
			Field: "name", Change: pb.AirbyteRecordChangeType_TRUNCATED, Reason: pb.AirbyteRecordChangeReasonType_SOURCE_FIELD_SIZE_LIMITATION,
		}}},
	}
	// The members outside the schema, the order (name, id, then the two
	// extras: 4 properties + 0 and + 1), and the record's own extras.
	ext := protowire.AppendTag(nil, extExtraData, protowire.BytesType)
	ext = protowire.AppendString(ext, `{"extra":true,"other":1}`)
	ext = protowire.AppendTag(ext, extOrder, protowire.BytesType)
	ext = protowire.AppendBytes(ext, []byte{1, 0, 4, 5})
	ext = protowire.AppendTag(ext, extExtraMembers, protowire.BytesType)
	ext = protowire.AppendString(ext, `{"file_reference":{"staging_file_url":"/x"},"undeclared":1}`)
	want.ProtoReflect().SetUnknown(ext)
	if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	back, err := s.AppendRecordJSON(nil, wire)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"namespace":"public","stream":"users","data":{"name":"Ann","id":7,"extra":true,"other":1},"emitted_at":1700000000123,` +
		`"meta":{"changes":[{"field":"name","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]},"partition_id":"aB3x",` +
		`"file_reference":{"staging_file_url":"/x"},"undeclared":1}`
	if string(back) != wantJSON {
		t.Errorf("decoded\n got %s\nwant %s", back, wantJSON)
	}

	// The same through the Record and generated-type paths.
	var r protocol.Record
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
		string(r2.Data) != `{"name":"Ann","id":7,"extra":true,"other":1}` || len(r2.Meta.Changes) != 1 ||
		string(r2.FileReference) != `{"staging_file_url":"/x"}` || string(r2.Extra["undeclared"]) != `1` {
		t.Errorf("RecordFromProto = %+v", r2)
	}
}

// TestRecordConversionEdges covers odd record objects: escapes, nulls,
// duplicate keys, and members missing or of the wrong type.
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
		{name: "null meta", record: `{"stream":"s","data":{},"emitted_at":1,"meta":null}`, want: `{"stream":"s","data":{},"emitted_at":1,"meta":null}`},
		{name: "empty changes", record: `{"stream":"s","data":{},"emitted_at":1,"meta":{"changes":[]}}`, want: `{"stream":"s","data":{},"emitted_at":1,"meta":{"changes":[]}}`},
		{name: "meta with members of its own", record: `{"stream":"s","data":{},"emitted_at":1,"meta":{"x":1,"changes":[{"field":"a","change":"NULLED","reason":"SOURCE_RETRIEVAL_ERROR","why":"?"}]}}`,
			want: `{"stream":"s","data":{},"emitted_at":1,"meta":{"x":1,"changes":[{"field":"a","change":"NULLED","reason":"SOURCE_RETRIEVAL_ERROR","why":"?"}]}}`},
		{name: "null file_reference", record: `{"stream":"s","data":{},"emitted_at":1,"file_reference":null}`, want: `{"stream":"s","data":{},"emitted_at":1,"file_reference":null}`},
		{name: "null and absent", record: `{"stream":"s","data":{"a":null},"emitted_at":1}`, want: `{"stream":"s","data":{"a":null},"emitted_at":1}`},
		{name: "escaped extra key", record: `{"stream":"s","data":{"\u0062":1 , "a":"x"},"emitted_at":1}`, want: `{"stream":"s","data":{"\u0062":1,"a":"x"},"emitted_at":1}`},
		{name: "duplicate extra key", record: `{"stream":"s","data":{"b":1,"b":2},"emitted_at":1}`, want: `{"stream":"s","data":{"b":1,"b":2},"emitted_at":1}`},
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

// TestRecordDecodingErrors rejects malformed record messages.
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
	if err != nil || string(back) != `{"stream":"s","data":{"a":1,"b":null},"emitted_at":0}` {
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

// TestEncodeAllocations checks that the warm conversion path allocates
// nothing per record.
func TestEncodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	c, err := NewCatalog([]protocol.Stream{{Name: "products", JSONSchema: []byte(protocoltest.ProductsSchema)}})
	if err != nil {
		t.Fatal(err)
	}
	line := protocoltest.ProductLines(1)[0]
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

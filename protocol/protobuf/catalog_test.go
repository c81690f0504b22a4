package protobuf

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
)

// testCatalog has a stream named users in two namespaces.
func testCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := NewCatalog([]protocol.Stream{
		{Name: "users", JSONSchema: []byte(`{"properties":{"id":{"type":"integer"},"name":{"type":"string"}}}`)},
		{Name: "users", Namespace: "other", JSONSchema: []byte(`{"properties":{"x":{"type":"boolean"}}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCatalogMessages converts whole messages of every kind to protobuf and
// back: records positionally, anything else as airbyte_protocol_message.
func TestCatalogMessages(t *testing.T) {
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
		{name: "not a message", line: `hello`, wantErr: protocol.ErrNotMessage},
		{name: "no type", line: `{"record":{}}`, wantErr: protocol.ErrNotMessage},
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

// TestCatalogDecodeEnvelope decodes envelopes only a foreign encoder
// sends: probes, merged oneof members and unknown streams.
func TestCatalogDecodeEnvelope(t *testing.T) {
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

package protobuf

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
	"github.com/ferrysync/ferry/protocol/protocoltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// messagesFile holds a line of every message type, shared with the JSONL
// codec's tests.
var messagesFile = filepath.Join("..", "testdata", "messages.jsonl")

// protoGolden is what the protobuf codec makes of one JSONL message.
type protoGolden struct {
	File    string          `json:"file"`
	Line    int             `json:"line"`
	Proto   json.RawMessage `json:"proto,omitempty"` // protojson of the message
	Stats   *ConvertStats   `json:"stats,omitempty"`
	Back    json.RawMessage `json:"back,omitempty"` // the message decoded back to JSON
	Changed bool            `json:"changed"`        // Back differs from the line
	Error   string          `json:"error,omitempty"`
}

func loadCatalog(t *testing.T) *Catalog {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "proto_catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cat protocol.Catalog
	if err := json.Unmarshal(b, &cat); err != nil {
		t.Fatal(err)
	}
	c, err := NewCatalog(cat.Streams)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGoldenProtobuf sends every message of messages.jsonl through the
// protobuf envelope, and records of every value type from
// proto_records.jsonl, and compares the protobuf form and the JSON decoded
// back with testdata/proto.golden.json.
func TestGoldenProtobuf(t *testing.T) {
	c := loadCatalog(t)
	var out []protoGolden
	for _, file := range []string{messagesFile, filepath.Join("testdata", "proto_records.jsonl")} {
		for i, line := range protocoltest.ReadLines(t, file) {
			g := protoGolden{File: filepath.Base(file), Line: i + 1}
			out = append(out, g)
			gp := &out[len(out)-1]
			wire, stats, err := c.AppendMessageProto(nil, line)
			if err != nil {
				gp.Error = err.Error()
				continue
			}
			if stats != (ConvertStats{}) {
				gp.Stats = &stats
			}
			var m pb.AirbyteMessageProtobuf
			if err := proto.Unmarshal(wire, &m); err != nil {
				t.Fatalf("%s:%d: proto.Unmarshal of our bytes: %v", file, i+1, err)
			}
			canon, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
			if err != nil || !bytes.Equal(canon, wire) {
				t.Errorf("%s:%d: our bytes differ from proto.Marshal's", file, i+1)
			}
			pj, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, pj); err != nil {
				t.Fatal(err)
			}
			gp.Proto = compact.Bytes()

			back, err := c.AppendMessageJSON(nil, wire)
			if err != nil {
				t.Fatalf("%s:%d: decoding back: %v", file, i+1, err)
			}
			gp.Back = back
			gp.Changed = !bytes.Equal(back, bytes.TrimSpace(line))
			if m.GetAirbyteProtocolMessage() != "" && gp.Changed {
				t.Errorf("%s:%d: a non-record message changed on its way through protobuf", file, i+1)
			}
			// Decoding is a fixed point after one normalization.
			wire2, _, err := c.AppendMessageProto(nil, back)
			if err != nil {
				t.Fatalf("%s:%d: re-encoding %s: %v", file, i+1, back, err)
			}
			if back2, err := c.AppendMessageJSON(nil, wire2); err != nil || !bytes.Equal(back, back2) {
				t.Errorf("%s:%d: second round trip changed\n%s\nto\n%s (%v)", file, i+1, back, back2, err)
			}
		}
	}
	protocoltest.CheckGolden(t, filepath.Join("testdata", "proto.golden.json"), protocoltest.IndentJSON(t, out), *update)
}

// TestGoldenCoverage makes sure the golden input keeps covering every
// value member.
func TestGoldenCoverage(t *testing.T) {
	c := loadCatalog(t)
	cases := map[string]bool{}
	for _, line := range protocoltest.ReadLines(t, filepath.Join("testdata", "proto_records.jsonl")) {
		pm, _, err := c.MessageToProto(line)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range pm.GetRecord().GetData() {
			if v.GetIsNull() {
				cases["is_null"] = true
				continue
			}
			name := valueCaseName(v)
			cases[name] = true
		}
	}
	for _, want := range []string{"is_null", "boolean", "string", "integer", "big_integer", "number", "big_decimal", "date",
		"time_with_timezone", "time_without_timezone", "timestamp_with_timezone", "timestamp_without_timezone", "json"} {
		if !cases[want] {
			t.Errorf("proto_records.jsonl produces no %s value; have %v", want, cases)
		}
	}
}

// valueCaseName names the oneof member a value uses.
func valueCaseName(v *pb.AirbyteValueProtobuf) string {
	switch v.GetValue().(type) {
	case *pb.AirbyteValueProtobuf_Boolean:
		return "boolean"
	case *pb.AirbyteValueProtobuf_String_:
		return "string"
	case *pb.AirbyteValueProtobuf_Integer:
		return "integer"
	case *pb.AirbyteValueProtobuf_BigInteger:
		return "big_integer"
	case *pb.AirbyteValueProtobuf_Number:
		return "number"
	case *pb.AirbyteValueProtobuf_BigDecimal:
		return "big_decimal"
	case *pb.AirbyteValueProtobuf_Date:
		return "date"
	case *pb.AirbyteValueProtobuf_TimeWithTimezone:
		return "time_with_timezone"
	case *pb.AirbyteValueProtobuf_TimeWithoutTimezone:
		return "time_without_timezone"
	case *pb.AirbyteValueProtobuf_TimestampWithTimezone:
		return "timestamp_with_timezone"
	case *pb.AirbyteValueProtobuf_TimestampWithoutTimezone:
		return "timestamp_without_timezone"
	case *pb.AirbyteValueProtobuf_Json:
		return "json"
	}
	return "none"
}

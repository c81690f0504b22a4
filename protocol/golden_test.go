package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol/pb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readLines returns the non-empty lines of a testdata file.
func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run go test -update if the change is intended:\n%s", path, diff)
	}
}

// indentJSON marshals v with two-space indentation and a final newline.
func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// jsonlGolden is what the JSONL codec makes of one line.
type jsonlGolden struct {
	Line        int             `json:"line"`
	Type        Type            `json:"type,omitempty"`
	Known       bool            `json:"known"`
	Stream      string          `json:"stream,omitempty"`
	Namespace   string          `json:"namespace,omitempty"`
	ScanError   string          `json:"scanError,omitempty"`
	Decoded     json.RawMessage `json:"decoded,omitempty"`
	DecodeError string          `json:"decodeError,omitempty"`
}

// TestGoldenJSONL decodes a line of every message type, as real connectors
// write them, and compares the envelope and the re-encoded message with
// testdata/messages.golden.json.
func TestGoldenJSONL(t *testing.T) {
	var out []jsonlGolden
	for i, line := range readLines(t, "messages.jsonl") {
		g := jsonlGolden{Line: i + 1}
		env, err := ScanEnvelope(line)
		if err != nil {
			g.ScanError = err.Error()
		}
		g.Type, g.Known, g.Stream, g.Namespace = env.Type, env.Type.Known(), env.Stream, env.Namespace
		m, err := Decode(line)
		if err != nil {
			g.DecodeError = err.Error()
		} else if g.Decoded, err = json.Marshal(m); err != nil {
			t.Fatalf("line %d: re-encoding: %v", i+1, err)
		}
		out = append(out, g)
	}
	checkGolden(t, "messages.golden.json", indentJSON(t, out))
}

// TestRoundTripJSONL checks that decoding and re-encoding every golden
// line keeps every member, declared or not, at every level. The only
// differences allowed are the documented normalizations: a fractional
// emitted_at is truncated, "global_" becomes "global", null members are
// omitted, and numbers may change form but not value (12 and 12.0).
func TestRoundTripJSONL(t *testing.T) {
	for i, line := range readLines(t, "messages.jsonl") {
		m, err := Decode(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		want := normalizeJSON(t, decodeAny(t, line))
		got := normalizeJSON(t, decodeAny(t, enc))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("line %d: round trip lost or changed members (-original +re-encoded):\n%s", i+1, diff)
		}
		// A second round trip changes nothing.
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("line %d: decoding the re-encoded line: %v", i+1, err)
		}
		enc2, err := json.Marshal(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Errorf("line %d: encoding is not stable:\n%s\n%s", i+1, enc, enc2)
		}
	}
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// normalizeJSON applies the normalizations TestRoundTripJSONL allows.
// Numbers become exact rationals rendered as strings.
func normalizeJSON(t *testing.T, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x == nil {
				continue
			}
			if k == "global_" {
				k = "global"
			}
			if n, ok := x.(json.Number); ok && k == "emitted_at" {
				if f, _, err := big.ParseFloat(string(n), 10, 200, big.ToZero); err == nil && !f.IsInt() {
					i, _ := f.Int(nil)
					x = json.Number(i.String())
				}
			}
			out[k] = normalizeJSON(t, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalizeJSON(t, x)
		}
		return out
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			t.Fatalf("bad number %s", v)
		}
		return "number:" + r.RatString()
	}
	return v
}

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

func loadProtoCatalog(t *testing.T) *ProtoCatalog {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "proto_catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cat Catalog
	if err := json.Unmarshal(b, &cat); err != nil {
		t.Fatal(err)
	}
	c, err := NewProtoCatalog(cat.Streams)
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
	c := loadProtoCatalog(t)
	var out []protoGolden
	for _, file := range []string{"messages.jsonl", "proto_records.jsonl"} {
		for i, line := range readLines(t, file) {
			g := protoGolden{File: file, Line: i + 1}
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
	checkGolden(t, "proto.golden.json", indentJSON(t, out))
}

// TestGoldenCoverage makes sure the golden input keeps covering every
// message type and every value member.
func TestGoldenCoverage(t *testing.T) {
	seen := map[string]bool{}
	for _, line := range readLines(t, "messages.jsonl") {
		m, err := Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		key := string(m.Type)
		switch {
		case m.State != nil:
			key += " " + string(m.State.Kind())
		case m.Trace != nil:
			key += " " + m.Trace.Type
		}
		seen[key] = true
	}
	for _, want := range []string{"RECORD", "STATE STREAM", "STATE GLOBAL", "STATE LEGACY", "LOG", "SPEC",
		"CONNECTION_STATUS", "CATALOG", "TRACE ERROR", "TRACE ESTIMATE", "TRACE STREAM_STATUS", "TRACE ANALYTICS",
		"CONTROL", "DESTINATION_CATALOG", "HEARTBEAT"} {
		if !seen[want] {
			t.Errorf("messages.jsonl has no %s message", want)
		}
	}

	c := loadProtoCatalog(t)
	cases := map[string]bool{}
	for _, line := range readLines(t, "proto_records.jsonl") {
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

package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol/protocoltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readLines returns the non-empty lines of a testdata file.
func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	return protocoltest.ReadLines(t, filepath.Join("testdata", name))
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
	protocoltest.CheckGolden(t, filepath.Join("testdata", "messages.golden.json"), protocoltest.IndentJSON(t, out), *update)
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

// TestGoldenCoverage makes sure the golden input keeps covering every
// message type.
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
}

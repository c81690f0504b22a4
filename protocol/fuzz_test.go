package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// The fuzz target runs its seed corpus in every go test; run it for real
// with, for example (the protobuf codec's targets are in ./protocol/protobuf):
//
//	go test ./protocol -run '^$' -fuzz '^FuzzJSONL$' -fuzztime 60s -fuzzminimizetime 2s
//
// The default minimization budget of 60 s per new input makes a short run
// look stalled ("0/sec"): the worker is minimizing, not hung.

// fuzzMaxLine is the JSONL reader's limit in the fuzzer: small, so the
// over-long path is exercised.
const fuzzMaxLine = 4096

func addFileSeeds(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, line := range bytes.Split(b, []byte("\n")) {
		f.Add(line)
	}
}

// FuzzJSONL feeds arbitrary bytes to the JSONL Reader, ScanEnvelope and
// Decode. Properties: no panic; the reader's memory stays within its limit;
// the scanner accepts exactly the JSON encoding/json accepts; a line
// ScanEnvelope accepts is a JSON object with a string type; a decoded
// message re-encodes to a line that decodes to the same encoding.
func FuzzJSONL(f *testing.F) {
	addFileSeeds(f, "messages.jsonl")
	for _, s := range []string{
		"", "\n", "\r\n", "{}\n{\"type\":\"LOG\"}", `{"type":"RECORD","record":null}`,
		`{"type":"RECORD","record":{"stream":"a\u0000b","data":{"k":"\ud800"}}}`,
		`{"type":"STATE","state":{"global_":{"stream_states":[null]}}}`,
		`{"type":"STATE","state":{"type":"GLOBAL","global":null,"global_":{}}}`,
		`{"type":"TRACE","trace":{"emitted_at":1e400}}`,
		`{"TYPE":"LOG","type":"RECORD"}`, `[[[[[[[[[[]]]]]]]]]]`, "{\"type\":\"LOG\",\"x\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzMaxLine)
		for {
			line, err := r.ReadLine()
			if err == io.EOF {
				break
			}
			if cap(r.buf) > 2*fuzzMaxLine+readerBufferSize {
				t.Fatalf("reader holds %d bytes with a %d-byte limit", cap(r.buf), fuzzMaxLine)
			}
			var tl *LineTooLongError
			if errors.As(err, &tl) {
				if tl.Size <= fuzzMaxLine || len(tl.Prefix) > 1024 {
					t.Fatalf("bad LineTooLongError %+v", tl)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(line) > fuzzMaxLine {
				t.Fatalf("line of %d bytes over the %d limit", len(line), fuzzMaxLine)
			}
			checkLine(t, line)
		}
	})
}

func checkLine(t *testing.T, line []byte) {
	s := jsonscan.Scanner{Buf: line}
	s.SkipSpace()
	valid := s.SkipValue(0) == nil
	s.SkipSpace()
	valid = valid && s.Pos == len(line)
	if valid != json.Valid(line) {
		t.Fatalf("scanner says valid=%t, encoding/json says %t, for %q", valid, json.Valid(line), line)
	}

	env, err := ScanEnvelope(line)
	if err == nil {
		var probe map[string]json.RawMessage
		if json.Unmarshal(line, &probe) != nil {
			t.Fatalf("ScanEnvelope accepted %q, which is not a JSON object", line)
		}
		if env.Type == "" {
			t.Fatalf("ScanEnvelope accepted %q without a type", line)
		}
	}

	m, err := Decode(line)
	if err != nil {
		return
	}
	checkAgainstGeneric(t, line, m)
	enc, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("re-encoding %q: %v", line, err)
	}
	m2, err := Decode(enc)
	if err != nil {
		t.Fatalf("decoding the re-encoded %q: %v (from %q)", enc, err, line)
	}
	enc2, err := json.Marshal(m2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("unstable encoding:\n%s\n%s\nfrom %q", enc, enc2, line)
	}
	if env2, err := ScanEnvelope(enc); err != nil || env2.Type != m.Type {
		t.Fatalf("re-encoded line %q scans as %+v, %v", enc, env2, err)
	}
}

// checkAgainstGeneric compares the hand-written decoder with encoding/json
// decoding the same line into maps, which match keys exactly.
func checkAgainstGeneric(t *testing.T, line []byte, m *Message) {
	var g map[string]any
	if err := unmarshalNumbers(line, &g); err != nil {
		t.Fatalf("Decode accepted %q, encoding/json did not: %v", line, err)
	}
	if typ, ok := g["type"].(string); ok && Type(typ) != m.Type {
		t.Fatalf("type %q, encoding/json says %q, in %q", m.Type, typ, line)
	}
	rec, ok := g["record"].(map[string]any)
	if !ok || m.Record == nil {
		return
	}
	for key, got := range map[string]string{"stream": m.Record.Stream, "namespace": m.Record.Namespace, "partition_id": m.Record.PartitionID} {
		if want, ok := rec[key].(string); ok && want != got {
			t.Fatalf("record %s %q, encoding/json says %q, in %q", key, got, want, line)
		}
	}
	if want, ok := rec["data"]; ok {
		var got any
		if err := unmarshalNumbers(m.Record.Data, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("record data %s differs from encoding/json's %v in %q", m.Record.Data, want, line)
		}
	}
}

// unmarshalNumbers is json.Unmarshal keeping numbers as json.Number, so
// none overflows.
func unmarshalNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

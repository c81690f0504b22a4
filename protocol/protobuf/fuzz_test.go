package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
)

// The fuzz targets run their seed corpora in every go test; run them for
// real with, for example:
//
//	go test ./protocol/protobuf -run '^$' -fuzz '^FuzzProtoReader$' -fuzztime 60s -fuzzminimizetime 2s
//	go test ./protocol/protobuf -run '^$' -fuzz '^FuzzRecordConversion$' -fuzztime 60s -fuzzminimizetime 2s
//
// The default minimization budget of 60 s per new input makes a short run
// look stalled ("0/sec"): the worker is minimizing, not hung.

// fuzzCatalog is the catalog the protobuf fuzzers use.
func fuzzCatalog(t testing.TB) *Catalog {
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

// fuzzMaxMessage is the Reader's limit in the fuzzer.
const fuzzMaxMessage = 1 << 16

// FuzzProtoReader feeds arbitrary bytes to the Reader and converts
// each message to JSON. Properties: no panic; memory follows the input, not
// the declared lengths; the wire decoder accepts only what proto.Unmarshal
// accepts, and gives the same result on a message as on proto.Marshal's
// canonical form of it (so field order, merging, unknown fields and oneof
// rules match the generated code); every line it produces scans.
func FuzzProtoReader(f *testing.F) {
	c := fuzzCatalog(f)
	for _, file := range []string{messagesFile, filepath.Join("testdata", "proto_records.jsonl")} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var stream bytes.Buffer
		w := NewWriter(&stream)
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var one bytes.Buffer
			w1 := NewWriter(&one)
			if _, err := w1.WriteMessage(c, line); err != nil {
				f.Fatal(err)
			}
			_ = w1.Flush()
			f.Add(one.Bytes())
			_, _ = w.WriteMessage(c, line)
		}
		_ = w.WriteProbe()
		_ = w.Flush()
		f.Add(stream.Bytes())
	}
	f.Add(ProbeFrame)
	f.Add([]byte{})
	f.Add(protowire.AppendVarint(nil, 1<<62))
	f.Add(protowire.AppendVarint(nil, fuzzMaxMessage-1))
	f.Add(bytes.Repeat([]byte{0xff}, 12))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzMaxMessage)
		for {
			frame, err := r.ReadFrame()
			if cap(r.buf) > 2*len(data)+readerBufferSize {
				t.Fatalf("reader holds %d bytes for %d bytes of input", cap(r.buf), len(data))
			}
			if err != nil {
				var tl *MessageTooLargeError
				if errors.As(err, &tl) {
					continue
				}
				return // EOF, truncation or a bad length: the stream ends
			}
			checkFrame(t, c, frame)
		}
	})
}

func checkFrame(t *testing.T, c *Catalog, frame []byte) {
	line, err := c.AppendMessageJSON(nil, frame)
	var m pb.AirbyteMessageProtobuf
	perr := proto.Unmarshal(frame, &m)
	if perr != nil {
		if err == nil || errors.Is(err, ErrProbe) {
			t.Fatalf("wire decoder accepted %x, which proto.Unmarshal rejects: %v", frame, perr)
		}
		return
	}
	canon, merr := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if merr != nil {
		t.Fatal(merr)
	}
	cline, cerr := c.AppendMessageJSON(nil, canon)
	if (err == nil) != (cerr == nil) || !bytes.Equal(line, cline) || (err != nil && err.Error() != cerr.Error()) {
		t.Fatalf("message %x and its canonical form %x decode differently:\n%s (%v)\n%s (%v)", frame, canon, line, err, cline, cerr)
	}
	if err != nil {
		return
	}
	if !json.Valid(line) {
		t.Fatalf("decoded line %q is not JSON", line)
	}
	if m.GetRecord() != nil {
		if _, err := protocol.ScanEnvelope(line); err != nil {
			t.Fatalf("decoded record line %q does not scan: %v", line, err)
		}
		// A decoded record converts back to the same values, after one
		// normalization.
		wire, _, err := c.AppendMessageProto(nil, line)
		if err != nil {
			t.Fatalf("re-encoding %s: %v", line, err)
		}
		back, err := c.AppendMessageJSON(nil, wire)
		if err != nil {
			t.Fatalf("decoding the re-encoded %s: %v", line, err)
		}
		wire2, _, err := c.AppendMessageProto(nil, back)
		if err != nil || !bytes.Equal(wire, wire2) {
			t.Fatalf("not a fixed point:\n%s\n%s (%v)", line, back, err)
		}
	}
}

// FuzzRecordConversion converts arbitrary record data under a schema with a
// property of every kind. Properties: no panic; our bytes are exactly
// proto.Marshal's; the data decoded back is the data the source wrote
// (sameData); and it converts to the same protobuf values and is a fixed
// point.
func FuzzRecordConversion(f *testing.F) {
	c := fuzzCatalog(f)
	b, err := os.ReadFile(filepath.Join("testdata", "proto_records.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		start, end, ok := protocol.MemberSpan(line, "record")
		if !ok {
			f.Fatal("no record in seed")
		}
		ds, de, ok := protocol.MemberSpan(line[start:end], "data")
		if !ok {
			f.Fatal("no data in seed")
		}
		f.Add(line[start:end][ds:de])
	}
	for _, s := range []string{`{}`, `{"num":-0.0}`, `{"num":1E-7,"int":-0}`, `{"str":"\ud83d"}`, `{"ts":"2023-01-01t00:00:00"}`,
		`{"time_tz":"23:59:59.999999999-18:00"}`, `{"obj":{"a":"\n"},"arr":[` + "\n" + `1]}`, `{"date":"0000-02-29"}`} {
		f.Add([]byte(s))
	}
	s := c.Schema(protocol.StreamDescriptor{Name: "types", Namespace: "test"})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := append(append([]byte(`{"namespace":"test","stream":"types","emitted_at":7,"data":`), data...), '}')
		wire, _, err := s.AppendRecordProto(nil, rec)
		if err != nil {
			return
		}
		var p pb.AirbyteRecordMessageProtobuf
		if err := proto.Unmarshal(wire, &p); err != nil {
			t.Fatalf("our bytes do not unmarshal: %v", err)
		}
		canon, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&p)
		if !bytes.Equal(canon, wire) {
			t.Fatalf("our bytes differ from proto.Marshal's for %q", data)
		}
		back, err := s.AppendRecordJSON(nil, wire)
		if err != nil {
			t.Fatalf("decoding %q: %v", data, err)
		}
		ds, de, ok := protocol.MemberSpan(back, "data")
		if !ok {
			t.Fatalf("decoded record %s has no data", back)
		}
		// The fuzzer may close the data object early and add members to
		// the record: compare the data object the record really has.
		is, ie, ok := protocol.MemberSpan(rec, "data")
		if !ok {
			t.Fatalf("record %s has no data, yet converted", rec)
		}
		if err := sameData(rec[is:ie], back[ds:de]); err != nil {
			t.Fatalf("data changed through protobuf: %v\n in  %s\n out %s", err, rec[is:ie], back[ds:de])
		}
		wire2, _, err := s.AppendRecordProto(nil, back)
		if err != nil {
			t.Fatalf("re-encoding %s: %v", back, err)
		}
		var p2 pb.AirbyteRecordMessageProtobuf
		if err := proto.Unmarshal(wire2, &p2); err != nil {
			t.Fatal(err)
		}
		if !sameValues(t, p.Data, p2.Data) {
			t.Fatalf("values changed through JSON:\n%q\n%s", data, back)
		}
		back2, err := s.AppendRecordJSON(nil, wire2)
		if err != nil || !bytes.Equal(back, back2) {
			t.Fatalf("not a fixed point:\n%s\n%s (%v)", back, back2, err)
		}
	})
}

// sameValues compares value lists, with json values compared after
// compaction (decoding compacts JSON text that spans lines).
func sameValues(t *testing.T, a, b []*pb.AirbyteValueProtobuf) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		ja, jb := a[i].GetJson(), b[i].GetJson()
		if ja != nil && jb != nil {
			var ca, cb bytes.Buffer
			if json.Compact(&ca, ja) != nil || json.Compact(&cb, jb) != nil || !bytes.Equal(ca.Bytes(), cb.Bytes()) {
				return false
			}
			continue
		}
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameData checks that out, a data object decoded from protobuf, is the
// data object in as the source wrote it: the same members in the same
// order, each value with the same text. What JSON text cannot keep apart
// from the values is allowed to differ (docs/fidelity.md): whitespace
// between members, the escapes in property names, a duplicate member
// (the last value, in the first place), and whitespace inside a value
// that spans lines.
func sameData(in, out []byte) error {
	a, err := dataMembers(in)
	if err != nil {
		return err
	}
	b, err := dataMembers(out)
	if err != nil {
		return err
	}
	if len(a) != len(b) {
		return fmt.Errorf("%d members, want %d", len(b), len(a))
	}
	for i := range a {
		if a[i].key != b[i].key {
			return fmt.Errorf("member %d is %q, want %q", i, b[i].key, a[i].key)
		}
		want := a[i].val
		if bytes.ContainsAny(want, "\n\r") {
			var c bytes.Buffer
			if err := json.Compact(&c, want); err != nil {
				return err
			}
			want = c.Bytes()
		}
		if !bytes.Equal(want, b[i].val) {
			return fmt.Errorf("%q is %s, want %s", a[i].key, b[i].val, want)
		}
	}
	return nil
}

type dataMember struct {
	key string
	val []byte
}

// dataMembers lists an object's members by unescaped key, a duplicate
// keeping its first place and taking the last value.
func dataMembers(obj []byte) ([]dataMember, error) {
	raw, err := objectMembers(nil, obj)
	if err != nil {
		return nil, err
	}
	var out []dataMember
	at := map[string]int{}
	for _, m := range raw {
		var key string
		if err := json.Unmarshal(m.key, &key); err != nil {
			return nil, err
		}
		if i, ok := at[key]; ok {
			out[i].val = m.val
			continue
		}
		at[key] = len(out)
		out = append(out, dataMember{key, m.val})
	}
	return out, nil
}

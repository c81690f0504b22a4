package cdk

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// TestSocketProtobufFidelity: in PROTOBUF socket mode, records with nulls,
// missing fields and fields outside the stream's schema (testStream
// declares only id) reach the socket whole, through Record and Emit alike:
// the frames decode to the data the source emitted, byte for byte. The
// log says once where the fields outside the schema went.
func TestSocketProtobufFidelity(t *testing.T) {
	data := []string{
		`{"id":1,"name":null,"extra":{"x":[1,null]},"at":"2021-01-01T00:00:00+00:00"}`,
		`{"extra":2,"id":2}`,
		`{"id":3}`,
		`{"id":null,"price":1.0}`,
	}
	stream := &testStream{name: "s", read: func(ctx context.Context, req *ReadRequest, out *Emitter) error {
		for i, d := range data {
			var err error
			if i%2 == 0 {
				err = out.Record([]byte(d))
			} else {
				err = out.Emit(&protocol.Message{Type: protocol.TypeRecord, Record: &protocol.Record{Stream: "s", Data: json.RawMessage(d), EmittedAt: 1}})
			}
			if err != nil {
				return err
			}
		}
		return out.Checkpoint(json.RawMessage(`{}`))
	}}
	paths := socketEnv(t, FormatProtobuf, 1)
	src := &testSource{streams: []Stream{stream}}
	res, sockets := captureSockets(t, paths, src, "read", "--config", writeFile(t, "c.json", `{"count":1}`), "--catalog", catalogOf(t, stream))
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stdout)
	}
	cat, err := protobuf.NewCatalog([]protocol.Stream{stream.Describe()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for b := sockets[0]; len(b) > 0; {
		n, k := protowire.ConsumeVarint(b)
		if k < 0 || int(n) > len(b)-k {
			t.Fatalf("bad frame at %d", len(sockets[0])-len(b))
		}
		line, err := cat.AppendMessageJSON(nil, b[k:k+int(n)])
		b = b[k+int(n):]
		if err != nil {
			continue // a probe
		}
		if env, err := protocol.ScanEnvelope(line); err != nil || env.Type != protocol.TypeRecord {
			continue
		}
		rs, re, _ := protocol.MemberSpan(line, "record")
		ds, de, _ := protocol.MemberSpan(line[rs:re], "data")
		got = append(got, string(line[rs:re][ds:de]))
	}
	if diff := cmp.Diff(data, got); diff != "" {
		t.Errorf("data through the socket (-sent +received):\n%s", diff)
	}
	if n := strings.Count(res.stdout, "Ferry's extension fields"); n != 1 || !strings.Contains(res.stdout, "fields_outside_schema=3 first_outside_schema=name") {
		t.Errorf("%d warnings naming the field outside the schema, want one; stdout:\n%s", n, res.stdout)
	}
}

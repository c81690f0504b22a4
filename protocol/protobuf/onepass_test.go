package protobuf

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
)

// TestOnePassLengths: values, temporal sub-messages, records and frames
// written in one pass (each length set once its body is written) are
// proto.Marshal's bytes at every length boundary: values and records of
// one-, two- and three-byte lengths, and frames around them.
func TestOnePassLengths(t *testing.T) {
	s := fuzzCatalog(t).Schema(protocol.StreamDescriptor{Name: "types", Namespace: "test"})
	for _, n := range []int{0, 1, 100, 120, 126, 127, 128, 129, 200, 16370, 16383, 16384, 16400, 70000, 2100000} {
		data := fmt.Sprintf(`{"str":%q,"ts":"2024-02-29T23:59:59.5+05:30","int":-7}`, strings.Repeat("y", n))
		rec := []byte(`{"namespace":"test","stream":"types","emitted_at":1700000000123,"data":` + data + `}`)
		wire, _, err := s.AppendRecordProto([]byte("prefix"), rec)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if string(wire[:6]) != "prefix" {
			t.Fatalf("%d: the bytes before the record changed", n)
		}
		var p pb.AirbyteRecordMessageProtobuf
		if err := proto.Unmarshal(wire[6:], &p); err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		canon, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&p)
		if !bytes.Equal(canon, wire[6:]) {
			t.Fatalf("%d: our bytes differ from proto.Marshal's", n)
		}
		h := &RecordHeader{Namespace: []byte("test"), Stream: []byte("types"), EmittedAt: 1700000000123}
		frame, _, err := s.AppendRecordFrame([]byte("x"), h, []byte(data))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		msg := protowire.AppendTag(nil, 1, protowire.BytesType)
		msg = protowire.AppendBytes(msg, canon)
		want := append(protowire.AppendVarint([]byte("x"), uint64(len(msg))), msg...)
		if !bytes.Equal(frame, want) {
			t.Fatalf("%d: the frame differs from the framed record (%d bytes, want %d)", n, len(frame), len(want))
		}
	}
}

// TestValidText compares validText with utf8.Valid on ASCII, valid and
// invalid UTF-8 at every offset of strings around the word size.
func TestValidText(t *testing.T) {
	for n := 0; n <= 20; n++ {
		for at := 0; at <= n; at++ {
			for _, ins := range []string{"", "é", "\xff", "\xe2\x82", "😀", "\xed\xa0\x80"} {
				s := []byte(strings.Repeat("a", at) + ins + strings.Repeat("b", n-at))
				if got, want := validText(s), utf8.Valid(s); got != want {
					t.Fatalf("validText(%q) = %v, utf8.Valid %v", s, got, want)
				}
			}
		}
	}
}

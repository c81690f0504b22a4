package cdk

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestRecordHeader checks the fast header walk against the general one,
// over bodies with long values, big field numbers, every wire type,
// repeated header fields and truncations.
func TestRecordHeader(t *testing.T) {
	general := func(body []byte) (ns, stream, pid []byte) {
		for len(body) > 0 {
			num, typ, n := protowire.ConsumeTag(body)
			if n < 0 {
				return
			}
			body = body[n:]
			m := protowire.ConsumeFieldValue(num, typ, body)
			if m < 0 {
				return
			}
			if typ == protowire.BytesType {
				v, _ := protowire.ConsumeBytes(body)
				switch num {
				case 1:
					ns = v
				case 2:
					stream = v
				case 4:
					pid = v
				}
			}
			body = body[m:]
		}
		return
	}
	var b []byte
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "users")
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 1700000000000)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "aB3x")
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendString(b, "\x12\x03abc")
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendString(b, strings.Repeat("x", 300))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "ns")
	b = protowire.AppendTag(b, 7, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 1)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, strings.Repeat("s", 200))
	b = protowire.AppendTag(b, 100, protowire.BytesType)
	b = protowire.AppendString(b, "far")
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "last")
	b = protowire.AppendTag(b, 9, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 1)
	for cut := 0; cut <= len(b); cut++ {
		body := b[:cut]
		var ns, stream, pid []byte
		recordHeader(body, &ns, &stream, &pid)
		wns, wstream, wpid := general(body)
		if !bytes.Equal(ns, wns) || !bytes.Equal(stream, wstream) || !bytes.Equal(pid, wpid) {
			t.Fatalf("cut %d: got %q %q %q, want %q %q %q", cut, ns, stream, pid, wns, wstream, wpid)
		}
	}
}

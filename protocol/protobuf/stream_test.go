package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/pb"
)

// TestReaderWriter writes every kind of message through a Writer and reads
// it back through a Reader, whole and one byte at a time.
func TestReaderWriter(t *testing.T) {
	c := testCatalog(t)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteProbe(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteMessage(c, []byte(`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":2}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteRecord(c.Schema(protocol.StreamDescriptor{Name: "users"}), &protocol.Record{Stream: "users", Data: json.RawMessage(`{"name":"b"}`), EmittedAt: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteRecordJSON(c.Schema(protocol.StreamDescriptor{Name: "users", Namespace: "other"}), []byte(`{"namespace":"other","stream":"users","data":{"x":false},"emitted_at":4}`)); err != nil {
		t.Fatal(err)
	}
	state := `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"}},"id":1}}`
	if err := w.WriteProtocolMessage([]byte(state)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 200<<10) // larger than the reader's buffer
	if _, err := w.WriteMessage(c, []byte(`{"type":"RECORD","record":{"stream":"users","data":{"name":"`+big+`"},"emitted_at":5}}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&pb.AirbyteMessageProtobuf{Type: &pb.AirbyteMessageProtobuf_AirbyteProtocolMessage{AirbyteProtocolMessage: `{"type":"LOG","log":{"level":"INFO","message":"m"}}`}}); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() == 0 {
		t.Errorf("nothing buffered before Flush")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), ProbeFrame) {
		t.Errorf("stream starts %x, want the probe frame %x", buf.Bytes()[:3], ProbeFrame)
	}

	want := []string{
		"probe",
		`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":2}}`,
		`{"type":"RECORD","record":{"stream":"users","data":{"name":"b"},"emitted_at":3}}`,
		`{"type":"RECORD","record":{"namespace":"other","stream":"users","data":{"x":false},"emitted_at":4}}`,
		state,
		`{"type":"RECORD","record":{"stream":"users","data":{"name":"` + big + `"},"emitted_at":5}}`,
		`{"type":"LOG","log":{"level":"INFO","message":"m"}}`,
	}
	for _, name := range []string{"whole", "one byte at a time"} {
		var in io.Reader = bytes.NewReader(buf.Bytes())
		if name != "whole" {
			in = iotest.OneByteReader(in)
		}
		r := NewReader(in, 0)
		var got []string
		for {
			frame, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: ReadFrame: %v", name, err)
			}
			line, err := c.AppendMessageJSON(nil, frame)
			if errors.Is(err, ErrProbe) {
				got = append(got, "probe")
				continue
			}
			if err != nil {
				t.Fatalf("%s: AppendMessageJSON: %v", name, err)
			}
			got = append(got, string(line))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: messages (-want +got):\n%.2000s", name, diff)
		}
		if r.MessageNumber() != int64(len(want)) {
			t.Errorf("%s: MessageNumber = %d, want %d", name, r.MessageNumber(), len(want))
		}
	}

	// Read gives the generated type.
	r := NewReader(bytes.NewReader(buf.Bytes()), 0)
	m, err := r.Read()
	if err != nil || m.GetProbe() == nil {
		t.Errorf("Read = %v, %v; want a probe", m, err)
	}
	if m, err = r.Read(); err != nil || m.GetRecord().GetStreamName() != "users" {
		t.Errorf("Read = %v, %v; want a users record", m, err)
	}
}

// TestReaderLimits checks the reader's bounds: an over-long message is
// skipped, and a lying length prefix allocates no more than arrives.
func TestReaderLimits(t *testing.T) {
	frame := func(n int) []byte {
		msg := protowire.AppendTag(nil, 2, protowire.BytesType)
		msg = protowire.AppendBytes(msg, bytes.Repeat([]byte("a"), n))
		return protowire.AppendBytes(nil, msg)
	}
	t.Run("over the limit is skipped", func(t *testing.T) {
		input := slices.Concat(frame(10), frame(5000), frame(20))
		r := NewReader(bytes.NewReader(input), 1000)
		if b, err := r.ReadFrame(); err != nil || len(b) != 12 {
			t.Fatalf("first frame: %d bytes, %v", len(b), err)
		}
		_, err := r.ReadFrame()
		var tl *MessageTooLargeError
		if !errors.As(err, &tl) {
			t.Fatalf("error = %v, want *MessageTooLargeError", err)
		}
		if tl.Limit != 1000 || tl.Size != 5003 || tl.Message != 2 {
			t.Errorf("got %+v, want limit 1000 size 5003 message 2", tl)
		}
		if !strings.Contains(err.Error(), "1000-byte limit") {
			t.Errorf("error %q does not name the limit", err)
		}
		if b, err := r.ReadFrame(); err != nil || len(b) != 22 {
			t.Errorf("frame after the skipped one: %d bytes, %v", len(b), err)
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Errorf("at the end: %v, want io.EOF", err)
		}
	})
	t.Run("huge declared length allocates nothing", func(t *testing.T) {
		input := protowire.AppendVarint(nil, 1<<62)
		allocs := testing.AllocsPerRun(20, func() {
			r := NewReader(bytes.NewReader(input), 0)
			var tl *MessageTooLargeError
			if _, err := r.ReadFrame(); !errors.As(err, &tl) {
				t.Fatalf("error = %v, want *MessageTooLargeError", err)
			}
		})
		if allocs > 5 { // the reader, its buffer and the error
			t.Errorf("%v allocations for a 2^62-byte claim", allocs)
		}
	})
	t.Run("lying length under the limit", func(t *testing.T) {
		// 200 MiB claimed, 1 MiB sent: memory follows what arrives.
		input := append(protowire.AppendVarint(nil, 200<<20), make([]byte, 1<<20)...)
		r := NewReader(bytes.NewReader(input), 0)
		if _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
			t.Errorf("error = %v, want io.ErrUnexpectedEOF", err)
		}
		if cap(r.buf) > 4<<20 {
			t.Errorf("reader grew a %d-byte buffer for 1 MiB of input", cap(r.buf))
		}
	})
	t.Run("truncations", func(t *testing.T) {
		tests := []struct {
			name  string
			input []byte
			want  error
		}{
			{"empty", nil, io.EOF},
			{"length only", []byte{0x05}, io.ErrUnexpectedEOF},
			{"short body", []byte{0x05, 1, 2}, io.ErrUnexpectedEOF},
			{"unfinished varint", []byte{0x80}, io.ErrUnexpectedEOF},
			{"varint overflow", bytes.Repeat([]byte{0xff}, 11), errBadWire},
			{"skipped message cut short", append(protowire.AppendVarint(nil, 5000), 1, 2, 3), io.ErrUnexpectedEOF},
		}
		for _, tt := range tests {
			r := NewReader(bytes.NewReader(tt.input), 1000)
			var err error
			for range 3 {
				if _, err = r.ReadFrame(); err != nil {
					var tl *MessageTooLargeError
					if errors.As(err, &tl) {
						continue
					}
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
			}
		}
	})
	t.Run("zero-length message", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0}), 0)
		b, err := r.ReadFrame()
		if err != nil || len(b) != 0 {
			t.Fatalf("ReadFrame = %x, %v", b, err)
		}
		if _, err := testCatalog(t).AppendMessageJSON(nil, b); err == nil {
			t.Errorf("an empty message converted without error")
		}
	})
}

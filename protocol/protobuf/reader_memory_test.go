package protobuf

import (
	"bytes"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestReadFrameLargeMessageMemory reads a 40 MB frame: the reader grows
// its buffer with what arrives (a lying length prefix must not make it
// allocate the claim), but the growth stops at the message's exact size
// and costs about one extra copy in all, not a zeroed temporary chunk per
// step on top of append's own copies.
func TestReadFrameLargeMessageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100 MB")
	}
	const size = 40 << 20
	body := bytes.Repeat([]byte{'x'}, size)
	frame := append(protowire.AppendVarint(nil, size), body...)
	r := NewReader(bytes.NewReader(frame), 0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := r.ReadFrame()
	runtime.ReadMemStats(&after)
	if err != nil || len(got) != size || cap(got) != size {
		t.Fatalf("ReadFrame: %d bytes (cap %d), %v; want %d, exactly", len(got), cap(got), err, size)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 2*size+1<<20 {
		t.Errorf("reading a 40 MB frame allocated %d MiB, want at most twice its size", a>>20)
	}
}

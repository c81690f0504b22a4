package cdk

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestSlotDropsHugeArena: a slot's arena grown by one huge record is not
// kept for the rest of the sync. With many streams each holding the
// largest record it ever saw, memory would be streams x max line.
func TestSlotDropsHugeArena(t *testing.T) {
	d := &memDest{records: map[string][]string{}}
	desc := protocol.StreamDescriptor{Name: "s"}
	s := &slot{desc: desc, sw: &memStream{d: d, name: "s"}}
	ws := &writeSession{opts: DefaultWriteOptions, slots: map[protocol.StreamDescriptor]*slot{desc: s}}
	line := []byte(`{"type":"RECORD","record":{"stream":"s","data":{"x":"` + strings.Repeat("a", 16<<20) + `"},"emitted_at":1}}`)
	if err := ws.record(context.Background(), &Record{Stream: desc, Line: line}, ""); err != nil {
		t.Fatal(err)
	}
	if len(s.batch) != 0 {
		t.Fatalf("a record over BatchBytes was not written at once")
	}
	if c := cap(s.arena); c > 4*ws.opts.BatchBytes {
		t.Errorf("slot arena keeps %d bytes after a huge record; want at most %d", c, 4*ws.opts.BatchBytes)
	}
}

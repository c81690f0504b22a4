package podpump

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// harness runs a Pump in-process: the source and the destination are
// pipes, Ferry's side is the test.
type harness struct {
	t       *testing.T
	srcW    *os.File // the source's stdout
	dstR    *os.File // the destination's stdin
	ctl     *Writer  // Ferry's frames to the pump
	ctlW    io.Closer
	up      *Reader // the pump's frames
	done    chan error
	dstData chan []byte // everything the destination read, at its EOF
}

func startPump(t *testing.T, plan Plan, readDestination bool) *harness {
	t.Helper()
	srcR, srcW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	dstR, dstW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctlR, ctlW := io.Pipe()
	upR, upW := io.Pipe()
	h := &harness{t: t, srcW: srcW, dstR: dstR, ctl: NewWriter(ctlW), ctlW: ctlW, up: NewReader(upR),
		done: make(chan error, 1), dstData: make(chan []byte, 1)}
	p := &Pump{Source: srcR, Destination: dstW, Control: ctlR, Out: upW, BlockedAfter: 20 * time.Millisecond,
		Unread: func() (int, error) { return unreadOf(dstR), nil }}
	go func() {
		err := p.Run()
		upW.Close()
		h.done <- err
	}()
	if readDestination {
		go func() {
			b, _ := io.ReadAll(dstR)
			h.dstData <- b
		}()
	}
	b, _ := json.Marshal(plan)
	h.send(DownPlan, b)
	t.Cleanup(func() { srcW.Close(); ctlW.Close(); dstR.Close() })
	return h
}

func (h *harness) send(kind byte, payload []byte) {
	h.t.Helper()
	if err := h.ctl.Send(kind, payload); err != nil {
		h.t.Fatal(err)
	}
}

// source writes the source's lines in the background (the pump waits on
// Ferry at states) and ends its output when end is set.
func (h *harness) source(end bool, lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	go func() {
		h.srcW.WriteString(b.String()) //nolint:errcheck // a failed write shows as missing data
		if end {
			h.srcW.Close()
		}
	}()
}

// frame is one frame from the pump, its payload copied.
type frame struct {
	kind    byte
	payload string
}

func (h *harness) next() frame {
	h.t.Helper()
	k, p, err := h.up.Next()
	if err != nil {
		h.t.Fatalf("reading the pump's frames: %v", err)
	}
	return frame{k, string(p)}
}

// until reads frames until one of kind, answering states as Ferry does
// (forwarding them with a marker), and returns those it read.
func (h *harness) until(kind byte) []frame {
	h.t.Helper()
	var got []frame
	for {
		f := h.next()
		got = append(got, f)
		if f.kind == UpState {
			h.send(DownWrite, []byte("FERRY:"+f.payload+"\n"))
			h.send(DownResume, nil)
		}
		if f.kind == kind {
			return got
		}
	}
}

func (h *harness) finish() ([]byte, error) {
	h.t.Helper()
	h.send(DownClose, nil)
	out := <-h.dstData
	h.ctlW.Close()
	return out, <-h.done
}

func rec(stream string, i int) string {
	return fmt.Sprintf(`{"type":"RECORD","record":{"stream":%q,"data":{"id":%d,"s":"x\u00e9"},"emitted_at":1}}`, stream, i)
}

func state(i int) string {
	return fmt.Sprintf(`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"n":%d}}}}`, i)
}

func planOf(streams ...string) Plan {
	var p Plan
	for _, s := range streams {
		p.Rules = append(p.Rules, &Rule{Source: protocol.StreamDescriptor{Name: s}, Dest: protocol.StreamDescriptor{Name: s}})
	}
	return p
}

// counts sums the UpCounts frames per rule.
func counts(t *testing.T, frames []frame) map[int][2]int64 {
	out := map[int][2]int64{}
	for _, f := range frames {
		if f.kind != UpCounts {
			continue
		}
		var list [][3]int64
		if err := json.Unmarshal([]byte(f.payload), &list); err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			v := out[int(c[0])]
			out[int(c[0])] = [2]int64{v[0] + c[1], v[1] + c[2]}
		}
	}
	return out
}

func TestPumpForwardsRecordsAndOrdersStates(t *testing.T) {
	h := startPump(t, planOf("a", "b"), true)
	var want bytes.Buffer
	var lines []string
	for i := 0; i < 3000; i++ {
		s := "a"
		if i%7 == 0 {
			s = "b"
		}
		lines = append(lines, rec(s, i))
		want.WriteString(rec(s, i) + "\n")
		if i%1000 == 999 {
			lines = append(lines, state(i))
			want.WriteString("FERRY:" + state(i) + "\n")
		}
	}
	lines = append(lines, `{"type":"LOG","log":{"level":"INFO","message":"hi"}}`, "", "   ", "not json")
	h.source(true, lines...)
	frames := h.until(UpEnd)
	got, err := h.finish()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the destination read %d bytes, want %d; first difference at %d", len(got), want.Len(), firstDiff(got, want.Bytes()))
	}
	c := counts(t, frames)
	var records, bytesA int64
	for _, v := range c {
		records += v[0]
	}
	for i := 0; i < 3000; i++ {
		if i%7 != 0 {
			bytesA += int64(len(rec("a", i)))
		}
	}
	if records != 3000 || c[0][1] != bytesA {
		t.Fatalf("counts %v: %d records (want 3000), stream a %d bytes (want %d)", c, records, c[0][1], bytesA)
	}
	// The records before each state were counted before it: the counts
	// that precede the k-th state add up to its position.
	var seen int64
	var lineFrames []string
	nState := 0
	for _, f := range frames {
		switch f.kind {
		case UpCounts:
			seen += sumRecords(t, f.payload)
		case UpState:
			nState++
			if seen != int64(1000*nState) {
				t.Fatalf("state %d came after %d counted records, want %d", nState, seen, 1000*nState)
			}
		case UpLine:
			lineFrames = append(lineFrames, f.payload)
		}
	}
	if nState != 3 || strings.Join(lineFrames, "|") != `{"type":"LOG","log":{"level":"INFO","message":"hi"}}|not json` {
		t.Fatalf("%d states, lines %q", nState, lineFrames)
	}
}

func sumRecords(t *testing.T, payload string) int64 {
	var list [][3]int64
	if err := json.Unmarshal([]byte(payload), &list); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range list {
		n += c[1]
	}
	return n
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

package podpump

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

func faultOf(t *testing.T, frames []frame) *Fault {
	t.Helper()
	for _, f := range frames {
		if f.kind == UpFault {
			var fl Fault
			if err := json.Unmarshal([]byte(f.payload), &fl); err != nil {
				t.Fatal(err)
			}
			return &fl
		}
	}
	return nil
}

func TestPumpFaultsAndNotes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		plan      Plan
		lines     []string
		fault     string // the fault's message, "" for none
		note      string // a note's message, "" for none
		delivered int    // records the destination got
	}{
		{"unknown stream", planOf("a"), []string{rec("a", 1), rec("zz", 2), rec("a", 3)},
			"the source emitted a record for stream zz, which is not in the configured catalog", "", 1},
		{"unknown stream dropped", Plan{Rules: planOf("a").Rules, DropUnknown: true}, []string{rec("a", 1), rec("zz", 2), rec("a", 3)},
			"", "dropped records of stream zz, which is not in the configured catalog", 2},
		{"no stream", planOf("a"), []string{`{"type":"RECORD","record":{"data":{}}}`, rec("a", 1)},
			"", NoStreamWarning, 1},
		{"line too long", Plan{Rules: planOf("a").Rules, MaxLine: 100}, []string{rec("a", 1), `{"type":"RECORD","record":{"stream":"a","data":{"x":"` + strings.Repeat("y", 200) + `"}}}`},
			"the source wrote a line of 257 bytes (stream a), over the 100-byte limit (max_line_bytes)", "", 1},
		{"null dedup key", Plan{Rules: []*Rule{{Source: protocol.StreamDescriptor{Name: "a"}, Dest: protocol.StreamDescriptor{Name: "a"}, DedupKeys: [][]string{{"pk"}}}}},
			[]string{`{"type":"RECORD","record":{"stream":"a","data":{"pk":1}}}`, `{"type":"RECORD","record":{"stream":"a","data":{"pk":null}}}`},
			"a record of deduplicated stream a has a null primary key [[pk]]", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPump(t, tc.plan, true)
			h.source(true, tc.lines...)
			frames := h.until(UpEnd)
			got, err := h.finish()
			if err != nil {
				t.Fatal(err)
			}
			f := faultOf(t, frames)
			switch {
			case tc.fault == "" && f != nil:
				t.Fatalf("fault %q", f.Message)
			case tc.fault != "" && (f == nil || f.Message != tc.fault):
				t.Fatalf("fault %+v, want %q", f, tc.fault)
			}
			if tc.note != "" && !strings.Contains(joinKind(frames, UpNote), tc.note) {
				t.Fatalf("notes %q, want %q", joinKind(frames, UpNote), tc.note)
			}
			if n := strings.Count(string(got), "\n"); n != tc.delivered {
				t.Fatalf("the destination got %d records, want %d:\n%s", n, tc.delivered, got)
			}
		})
	}
}

func joinKind(frames []frame, kind byte) string {
	var out []string
	for _, f := range frames {
		if f.kind == kind {
			out = append(out, f.payload)
		}
	}
	return strings.Join(out, "\n")
}

// TestPumpRewrites: field selection and name mapping give the bytes
// Ferry's own pump would send (the same Rule).
func TestPumpRewrites(t *testing.T) {
	rule := &Rule{Source: protocol.StreamDescriptor{Name: "a"}, Dest: protocol.StreamDescriptor{Name: "p_a", Namespace: "ns"},
		Select: true, Selected: []string{"id"}}
	h := startPump(t, Plan{Rules: []*Rule{rule}}, true)
	h.source(true, rec("a", 7))
	frames := h.until(UpEnd)
	got, err := h.finish()
	if err != nil {
		t.Fatal(err)
	}
	rule.Prepare()
	want, f := rule.Apply([]byte(rec("a", 7)))
	if f != nil || string(got) != string(want)+"\n" || !strings.Contains(string(got), `"stream":"p_a"`) || !strings.Contains(string(got), `"namespace":"ns"`) ||
		strings.Contains(string(got), `"s"`) {
		t.Fatalf("got %s, want %s (%v)", got, want, f)
	}
	if c := counts(t, frames); c[0] != [2]int64{1, int64(len(want))} {
		t.Fatalf("counts %v: the rewritten bytes count", c)
	}
}

// TestPumpDestinationStopsReading: a write blocked on a destination that
// does not read is reported (UpBlocked); when Ferry says the destination
// ended, the pump answers how much it left unread and drops the rest.
func TestPumpDestinationStopsReading(t *testing.T) {
	h := startPump(t, planOf("a"), false)
	var lines []string
	for i := 0; i < 20000; i++ {
		lines = append(lines, rec("a", i))
	}
	h.source(false, lines...)
	h.until(UpBlocked)
	h.send(DownDestinationEnded, nil)
	frames := h.until(UpUnread)
	n, err := strconv.Atoi(frames[len(frames)-1].payload)
	if err != nil || n <= 0 {
		t.Fatalf("unread %q: want a positive count", frames[len(frames)-1].payload)
	}
	h.srcW.Close()
	h.until(UpEnd)
	h.ctlW.Close()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
}

// TestFIFOs: the source's FIFO ends only once released (after Ferry saw
// the source's container end), however its writers come and go, and the
// destination's FIFO counts what its reader left.
func TestFIFOs(t *testing.T) {
	dir := t.TempDir()
	src, release, err := OpenSource(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w, err := openForTest(filepath.Join(dir, "out"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("one\n")
	w.Close() // the source exits: no end yet
	buf := make([]byte, 64)
	if n, err := src.Read(buf); err != nil || string(buf[:n]) != "one\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	release()
	if n, err := src.Read(buf); n != 0 || err == nil {
		t.Fatalf("after release: %d bytes, %v; want the end", n, err)
	}
	dst, unread, err := OpenDestination(filepath.Join(dir, "in"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := openForTest(filepath.Join(dir, "in"), true)
	if err != nil {
		t.Fatal(err)
	}
	dst.WriteString("0123456789")
	r.Read(make([]byte, 4)) //nolint:errcheck // reads 4
	r.Close()
	if n, err := unread(); err != nil || n != 6 {
		t.Fatalf("unread %d, %v; want 6", n, err)
	}
	dst.Close()
}

// TestPumpAnswersWhileAWriteBlocks: the destination's pipe is full when
// Ferry writes the COMPLETE statuses and ends the input, so the writes
// block; the destination then dies. The pump still answers
// DownDestinationEnded (its control loop never waits on the destination),
// and ends once Ferry's frames do.
func TestPumpAnswersWhileAWriteBlocks(t *testing.T) {
	h := startPump(t, planOf("a"), false)
	line := rec("a", 1)
	var lines []string
	for n := 0; n < 60<<10; n += len(line) + 1 { // under the pipe's 64 KiB: the source's records all fit
		lines = append(lines, line)
	}
	h.source(true, lines...)
	h.until(UpEnd)
	h.send(DownWrite, []byte(strings.Repeat("C", 8<<10)+"\n"))
	h.send(DownClose, nil)
	h.send(DownDestinationEnded, nil)
	frames := h.until(UpUnread)
	if n, err := strconv.Atoi(frames[len(frames)-1].payload); err != nil || n <= 0 {
		t.Fatalf("unread %q: want the bytes left in the pipe", frames[len(frames)-1].payload)
	}
	h.ctlW.Close()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
}

// TestPumpHalts: after DownHalt no record reaches the destination or is
// counted, while Ferry's own writes still do.
func TestPumpHalts(t *testing.T) {
	h := startPump(t, planOf("a"), true)
	h.send(DownHalt, nil)
	h.source(true, rec("a", 1), rec("a", 2))
	frames := h.until(UpEnd)
	h.send(DownWrite, []byte("ferry\n"))
	got, err := h.finish()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "ferry\n" || len(counts(t, frames)) != 0 {
		t.Fatalf("after a halt the destination got %q and counts %v; want only Ferry's write, no counts", got, counts(t, frames))
	}
}

// TestFIFOOpens: a connector's end of a FIFO opens whenever it comes: a
// destination that opens before the pump waits for it, one that opens
// after the pump wrote everything and closed its end still reads it all,
// then the end; a stop while waiting gives up.
func TestFIFOOpens(t *testing.T) {
	for _, late := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "stdin")
		opened := make(chan *os.File, 1)
		errs := make(chan error, 1)
		open := func() {
			f, err := OpenInput(path, nil)
			if err != nil {
				errs <- err
				return
			}
			opened <- f
		}
		if !late {
			go open()
		}
		w, unread, err := OpenDestination(path)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString("all of it\n")
		w.Close()
		if late {
			go open()
		}
		var r *os.File
		select {
		case r = <-opened:
		case err := <-errs:
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != "all of it\n" {
			t.Fatalf("late %t: read %q, %v; want the input, then its end", late, b, err)
		}
		if n, _ := unread(); n != 0 {
			t.Fatalf("late %t: %d bytes unread after the reader read all", late, n)
		}
	}
	stop := make(chan struct{})
	close(stop)
	if _, err := OpenInput(filepath.Join(t.TempDir(), "stdin"), stop); !ErrStopped(err) {
		t.Fatalf("OpenInput without a pump, stopped: %v; want the stop", err)
	}
	if _, err := OpenOutput(filepath.Join(t.TempDir(), "stdout"), stop); !ErrStopped(err) {
		t.Fatalf("OpenOutput without a pump, stopped: %v; want the stop", err)
	}
}

package protobuf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
)

// checkRecordFast fails t when appendRecordFast converts msg and the
// general path converts it to other bytes or spans, or reports an error.
func checkRecordFast(t *testing.T, c *Catalog, msg []byte) (taken bool) {
	t.Helper()
	var fd, gd recordDecoder
	got, gotSpans, ok := c.appendRecordFast(&fd, []byte("x"), msg)
	if !ok {
		if string(got) != "x" {
			t.Fatalf("message %x: declined but wrote %q", msg, got)
		}
		return false
	}
	want, wantSpans, err := c.appendMessageGeneral(&gd, []byte("x"), msg)
	if err != nil || !bytes.Equal(got, want) || gotSpans != wantSpans {
		t.Fatalf("message %x:\nfast    %s %+v\ngeneral %s %+v (error %v)", msg, got, gotSpans, want, wantSpans, err)
	}
	return true
}

// checkDataFast fails t when AppendDataFast writes msg's record (msg
// being one record message) and AppendRecordJSON writes another data
// object or emitted_at, or an error.
func checkDataFast(t *testing.T, s *RecordSchema, msg []byte) {
	t.Helper()
	if len(msg) < 2 || msg[0] != 1<<3|2 {
		return
	}
	n, k := protowire.ConsumeVarint(msg[1:])
	if k < 0 || uint64(len(msg)-1-k) != n {
		return
	}
	body := msg[1+k:]
	got, at, ok := s.AppendDataFast([]byte("x"), body)
	if !ok {
		if string(got) != "x" {
			t.Fatalf("record %x: declined but wrote %q", body, got)
		}
		return
	}
	line, err := s.AppendRecordJSON(nil, body)
	if err != nil {
		t.Fatalf("record %x: fast data %s, AppendRecordJSON: %v", body, got, err)
	}
	ds, de, _ := protocol.MemberSpan(line, "data")
	es, ee, _ := protocol.MemberSpan(line, "emitted_at")
	if string(got[1:]) != string(line[ds:de]) || strconv.FormatInt(at, 10) != string(line[es:ee]) {
		t.Fatalf("record %x:\nfast data %s, emitted_at %d\nline %s", body, got[1:], at, line)
	}
}

// recordFastSeeds are record messages of the fuzz catalog (the test
// records), faker's purchases, and the same with a field changed.
func recordFastSeeds(t testing.TB) (*Catalog, [][]byte) {
	c := fuzzCatalog(t)
	lines, err := os.ReadFile(filepath.Join("testdata", "proto_records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		if msg, _, err := c.AppendMessageProto(nil, line); err == nil {
			out = append(out, msg)
		}
	}
	return c, out
}

// TestRecordFastMatches holds the one-pass record conversion to the
// general one on the test records, on faker's records, and on variants
// of them with a byte changed, inserted or removed, and checks that it
// takes faker's records.
func TestRecordFastMatches(t *testing.T) {
	c, msgs := recordFastSeeds(t)
	taken := 0
	for _, m := range msgs {
		if checkRecordFast(t, c, m) {
			taken++
		}
	}
	if taken < 3 {
		t.Errorf("the fast path took only %d of %d test records", taken, len(msgs))
	}
	pc, frames := purchaseCatalog(t)
	for _, f := range frames {
		if !checkRecordFast(t, pc, f) {
			t.Errorf("the fast path declined faker's record %x", f)
		}
	}
	// Variants: the same catalogs, a random byte changed, added or cut
	// (lengths then disagree, tags change meaning, strings stop being
	// UTF-8), and header fields repeated.
	r := rand.New(rand.NewPCG(3, 9))
	types := c.Schema(protocol.StreamDescriptor{Name: "types", Namespace: "test"})
	purchases := pc.Schema(protocol.StreamDescriptor{Name: "purchases"})
	for _, m := range msgs {
		checkDataFast(t, types, m)
	}
	for _, f := range frames {
		checkDataFast(t, purchases, f)
	}
	for _, set := range []struct {
		c    *Catalog
		s    *RecordSchema
		msgs [][]byte
	}{{c, types, msgs}, {pc, purchases, frames}} {
		for range 20000 {
			m := bytes.Clone(set.msgs[r.IntN(len(set.msgs))])
			i := r.IntN(len(m))
			switch r.IntN(4) {
			case 0:
				m[i] = byte(r.Uint32())
			case 1:
				m = append(m[:i], m[i+1:]...)
			case 2:
				m = append(m[:i], append([]byte{byte(r.Uint32())}, m[i:]...)...)
			case 3:
				m[i] ^= 0x80
			}
			checkRecordFast(t, set.c, m)
			checkDataFast(t, set.s, m)
		}
	}
	// A second stream, namespace or partition_id, valid or not.
	for _, f := range frames {
		body := f[2:]
		for _, extra := range [][]byte{
			protowire.AppendString([]byte{tagRecStream}, "purchases"),
			protowire.AppendString([]byte{tagRecStream}, "users"),
			protowire.AppendString([]byte{tagRecStream}, "bad \xff"),
			protowire.AppendString([]byte{tagRecNamespace}, ""),
			protowire.AppendString([]byte{tagRecNamespace}, "ns"),
			protowire.AppendString([]byte{tagRecPartitionID}, `q"uote`),
			protowire.AppendString([]byte{tagRecPartitionID}, "p2"),
			protowire.AppendVarint([]byte{tagRecEmittedAt}, 1<<62),
		} {
			for _, b := range [][]byte{append(bytes.Clone(extra), body...), append(bytes.Clone(body), extra...)} {
				m := protowire.AppendBytes([]byte{1<<3 | 2}, b)
				checkRecordFast(t, pc, m)
				checkDataFast(t, purchases, m)
			}
		}
	}
}

// FuzzRecordFast holds the one-pass record conversion to the general
// one on arbitrary messages.
func FuzzRecordFast(f *testing.F) {
	c, msgs := recordFastSeeds(f)
	for _, m := range msgs {
		f.Add(m)
	}
	types := c.Schema(protocol.StreamDescriptor{Name: "types", Namespace: "test"})
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkRecordFast(t, c, msg)
		checkDataFast(t, types, msg)
	})
}

// TestFormTag checks the constant bytes of extForm's tag.
func TestFormTag(t *testing.T) {
	if len(formTag) != 2 || formTag[0] != formTag0 || formTag[1] != formTag1 {
		t.Fatalf("formTag %x, constants %x %x", formTag, formTag0, formTag1)
	}
}

// TestUvarint compares uvarint with protowire.ConsumeVarint on varints of
// every length, truncated ones and overlong ones.
func TestUvarint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 200000 {
		b := protowire.AppendVarint(nil, r.Uint64()>>(r.IntN(64)))
		switch i % 4 {
		case 1:
			b = b[:r.IntN(len(b)+1)]
		case 2:
			b = append(b, byte(r.Uint32()), 1, 2, 3, 4, 5)
		case 3:
			for j := range b {
				b[j] |= 0x80
			}
			b = append(b, bytes.Repeat([]byte{0x80}, r.IntN(12))...)
		}
		v, n := uvarint(b)
		wv, wn := protowire.ConsumeVarint(b)
		if v != wv || n != wn {
			t.Fatalf("%x: uvarint %d,%d, ConsumeVarint %d,%d", b, v, n, wv, wn)
		}
	}
}

// TestAppendInt compares appendInt with strconv.AppendInt around every
// power of ten and on random integers.
func TestAppendInt(t *testing.T) {
	xs := []int64{0, 1, -1, 9, 10, 99, 100, math.MaxInt64, math.MinInt64}
	for p := int64(1); p <= 1e18; p *= 10 {
		xs = append(xs, p-1, p, p+1, -p)
	}
	r := rand.New(rand.NewPCG(2, 2))
	for range 100000 {
		xs = append(xs, r.Int64()>>r.IntN(64), -r.Int64()>>r.IntN(64))
	}
	for _, x := range xs {
		if got, want := appendInt([]byte("x"), x), strconv.AppendInt([]byte("x"), x, 10); !bytes.Equal(got, want) {
			t.Fatalf("%d: appendInt %s, strconv %s", x, got, want)
		}
	}
}

// TestRecordFastReusedDecoder: one decoder converts the seeds and their
// corruptions in turn, as a socket reader's does, and its caches (the last
// stream's schema, the last emitted_at's text) never change an outcome:
// each conversion equals the general path's with a fresh decoder.
func TestRecordFastReusedDecoder(t *testing.T) {
	c, seeds := recordFastSeeds(t)
	r := rand.New(rand.NewPCG(7, 9))
	var fd recordDecoder
	taken := 0
	for round := range 5000 {
		msg := append([]byte(nil), seeds[r.IntN(len(seeds))]...)
		if round%3 == 2 && len(msg) > 0 {
			msg[r.IntN(len(msg))] ^= byte(1 + r.IntN(255))
		}
		got, gotSpans, ok := c.appendRecordFast(&fd, []byte("x"), msg)
		if !ok {
			if string(got) != "x" {
				t.Fatalf("message %x: declined but wrote %q", msg, got)
			}
			continue
		}
		taken++
		var gd recordDecoder
		want, wantSpans, err := c.appendMessageGeneral(&gd, []byte("x"), msg)
		if err != nil || !bytes.Equal(got, want) || gotSpans != wantSpans {
			t.Fatalf("round %d, message %x:\nfast    %s %+v\ngeneral %s %+v (error %v)", round, msg, got, gotSpans, want, wantSpans, err)
		}
	}
	if taken < 1000 {
		t.Fatalf("the fast path took only %d of 5000 messages: the test checks little", taken)
	}
}

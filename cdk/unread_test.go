package cdk

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
)

// unreadDest is a memDest whose writer never reads records
// (RecordsUnread): it only counts them, and checks they come without
// their bytes.
type unreadDest struct {
	memDest
	counts map[string]int
}

type unreadWriter struct {
	*memWriter
	d *unreadDest
}

func (unreadWriter) RecordsUnread() bool   { return true }
func (unreadWriter) ProtobufRecords() bool { return true }

func (d *unreadDest) Open(ctx context.Context, req *WriteRequest) (Writer, error) {
	w, err := d.memDest.Open(ctx, req)
	d.counts = map[string]int{}
	return unreadWriter{w.(*memWriter), d}, err
}

func (w unreadWriter) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (StreamWriter, error) {
	sw, err := w.memWriter.OpenStream(ctx, s)
	return unreadStream{sw.(*memStream), w.d}, err
}

type unreadStream struct {
	*memStream
	d *unreadDest
}

func (s unreadStream) Write(ctx context.Context, batch []Record) error {
	for _, r := range batch {
		if r.Line != nil || r.Proto != nil || r.Stream.Name != s.name {
			return fmt.Errorf("record of %s for stream %s: want neither Line nor Proto", r.Stream, s.name)
		}
	}
	s.d.counts[s.name] += len(batch)
	return nil
}

// committedBytes is the committedBytesCount of each stream's last
// acknowledgement.
func committedBytes(dst result) map[string]string {
	out := map[string]string{}
	for _, m := range dst.ofType(protocol.TypeState) {
		out[m.State.Stream.StreamDescriptor.Name] = string(m.State.Extra[keyCommittedBytes])
	}
	return out
}

// TestRecordsUnread: a writer that implements RecordsUnread gets every
// record, without its bytes, in stdio mode and over sockets in both
// formats; every state is acknowledged with the counts and bytes a
// writer that reads the records sees.
func TestRecordsUnread(t *testing.T) {
	cfg := writeFile(t, "c.json", `{"count":1}`)
	cat := catalogOf(t, syncSource(false).streams...)
	want := map[string]int{"users": 2500, "plain": 700, "events": 1300, "tiny": 3}
	args := func(cmd string) []string { return []string{cmd, "--config", cfg, "--catalog", cat} }
	t.Run("stdio", func(t *testing.T) {
		useEnv(t, map[string]string{})
		read := runCmd(t, syncSource(false), "", args("read")...)
		d := &unreadDest{}
		w := runCmd(t, d, read.stdout, args("write")...)
		ref := runCmd(t, &memDest{}, read.stdout, args("write")...)
		if w.code != ExitOK || ref.code != ExitOK {
			t.Fatalf("write exits %d and %d: %s", w.code, ref.code, w.stdout)
		}
		if diff := cmp.Diff(want, d.counts); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(committedBytes(ref), committedBytes(w)); diff != "" {
			t.Errorf("committedBytesCount (-reading writer +unread):\n%s", diff)
		}
	})
	for _, format := range []string{FormatJSONL, FormatProtobuf} {
		t.Run(format, func(t *testing.T) {
			// One socket: the partition ids, whose lengths count in the
			// bytes, are then the same in both runs.
			socketEnv(t, format, 1)
			d := &unreadDest{}
			src, dst := runSocketPair(t, syncSource(false), args("read"), d, args("write"))
			if src.code != ExitOK || dst.code != ExitOK {
				t.Fatalf("exit codes %d and %d: %s", src.code, dst.code, dst.stdout)
			}
			if diff := cmp.Diff(want, d.counts); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			checkSocketStates(t, src, dst, want)
			socketEnv(t, format, 1)
			var refDest Connector = &memDest{}
			if format == FormatProtobuf {
				refDest = &protoDest{}
			}
			refSrc, ref := runSocketPair(t, syncSource(false), args("read"), refDest, args("write"))
			if refSrc.code != ExitOK || ref.code != ExitOK {
				t.Fatalf("reference exit codes %d and %d", refSrc.code, ref.code)
			}
			if diff := cmp.Diff(committedBytes(ref), committedBytes(dst)); diff != "" {
				t.Errorf("committedBytesCount (-reading writer +unread):\n%s", diff)
			}
		})
	}
}

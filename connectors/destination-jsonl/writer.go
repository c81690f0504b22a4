package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// writer is one sync.
type writer struct {
	dir string
	ids *idSource
	log *slog.Logger
}

func (w *writer) Close(ctx context.Context) error { return nil }

// ProtobufRecords: in PROTOBUF socket mode the kit hands records over as
// they came, and Write turns each one's values into its data JSON in
// place (cdk.Record.AppendData) instead of the kit converting it to a
// whole message line that Write then copies the data out of.
func (w *writer) ProtobufRecords() bool { return true }

// OpenStream picks the file a stream writes to.
//
// A stream that truncates (overwrite, or minimum_generation_id equal to
// generation_id) writes to "<file>.gen<G>.tmp" and replaces the final file
// with it on COMPLETE. With generation ids the temp file of the same
// generation is kept across attempts: a retry resumes from the last
// acknowledged state, so the records before it are only in that file.
// Without them (a legacy overwrite) a retry re-reads from the start, so the
// temp file starts empty. Other modes append to the final file.
func (w *writer) OpenStream(ctx context.Context, cs *protocol.ConfiguredStream) (cdk.StreamWriter, error) {
	d := cs.Stream.Descriptor()
	final := filepath.Join(w.dir, fileName(d))
	s := &streamWriter{w: w, cs: cs, final: final, target: final}
	if cs.GenerationID != nil {
		s.genSuffix = `,"_airbyte_generation_id":` + strconv.FormatInt(*cs.GenerationID, 10)
	}
	if cs.Truncates() {
		var gen int64
		if cs.GenerationID != nil {
			gen = *cs.GenerationID
		}
		s.target = fmt.Sprintf("%s.gen%d.tmp", final, gen)
		if err := w.removeStaleTemps(final, s.target, cs.GenerationID == nil); err != nil {
			return nil, err
		}
	}
	f, err := openAppend(s.target)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.target, err)
	}
	s.f = f
	s.bw = bufio.NewWriterSize(f, 1<<20)
	return s, nil
}

// removeStaleTemps deletes temp files of other generations (and of the
// same one when fresh is set).
func (w *writer) removeStaleTemps(final, keep string, fresh bool) error {
	matches, err := filepath.Glob(globEscape(final) + ".gen*.tmp")
	if err != nil {
		return err
	}
	for _, m := range matches {
		if m == keep && !fresh {
			continue
		}
		if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}

// streamWriter writes one stream's lines through a buffer.
type streamWriter struct {
	w         *writer
	cs        *protocol.ConfiguredStream
	final     string // the stream's file
	target    string // where lines go: final, or a temp file
	genSuffix string // the generation member, when the catalog has one
	f         *os.File
	bw        *bufio.Writer
	line      []byte
}

// Write appends each record as Airbyte's local-json does:
// {"_airbyte_ab_id":uuid,"_airbyte_emitted_at":ms,"_airbyte_data":data}.
// The data goes into the line first, after room for the members before
// it, which need its emitted_at: a PROTOBUF record's data is written
// there straight from its values (ProtobufRecords), with no copy.
func (s *streamWriter) Write(ctx context.Context, batch []cdk.Record) error {
	if cap(s.line) < prefixRoom {
		s.line = make([]byte, 0, 4<<10)
	}
	for i := range batch {
		b, at, err := batch[i].AppendData(s.line[:prefixRoom])
		if err != nil {
			return err
		}
		var pre [prefixRoom]byte
		p := append(pre[:0], `{"_airbyte_ab_id":"`...)
		p = s.w.ids.append(p)
		p = append(p, `","_airbyte_emitted_at":`...)
		p = strconv.AppendInt(p, at, 10)
		p = append(p, `,"_airbyte_data":`...)
		start := prefixRoom - len(p)
		copy(b[start:], p)
		b = append(b, s.genSuffix...)
		b = append(b, "}\n"...)
		s.line = b
		if _, err := s.bw.Write(b[start:]); err != nil {
			return err
		}
	}
	if cap(s.line) > 1<<20 {
		s.line = nil // a huge record grew it: do not keep it per stream
	}
	return nil
}

// prefixRoom holds the members before a line's data: the id (36 bytes),
// the emitted_at (at most 20) and their keys (60).
const prefixRoom = 128

// Flush writes the buffer and fsyncs: the kit acknowledges states only
// after this returns.
func (s *streamWriter) Flush(ctx context.Context) error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	return s.f.Sync()
}

// Finish closes the file. A complete truncating stream replaces the final
// file; an incomplete one leaves the old file untouched. append_dedup
// rewrites the file with one line per primary key.
func (s *streamWriter) Finish(ctx context.Context, complete bool) error {
	if s.f == nil {
		return nil
	}
	err := s.Flush(ctx)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return err
	}
	if s.cs.DestinationSyncMode == protocol.DestAppendDedup && (complete || s.target == s.final) {
		if err := dedupFile(s.target, s.cs.Keys(), s.cs.Cursor()); err != nil {
			return fmt.Errorf("dedup %s: %w", s.target, err)
		}
	}
	if s.target == s.final {
		return nil
	}
	if !complete {
		if s.cs.GenerationID == nil {
			// A legacy overwrite restarts from scratch on retry.
			return os.Remove(s.target)
		}
		s.w.log.Info("stream incomplete: keeping the previous file", "stream", s.cs.Stream.Name, "partial", s.target)
		return nil
	}
	return replace(s.target, s.final)
}

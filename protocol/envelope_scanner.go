package protocol

import "github.com/ferrysync/ferry/protocol/internal/jsonscan"

// EnvelopeScanner is ScanEnvelopeAfter for the lines of one reader, in
// order. Besides the last record's strings it keeps the last record's
// header: its bytes from the start of the line to its data value. The
// records of a run share it byte for byte (`{"type":"RECORD","record":
// {"stream":"purchases","data":`), and bytes equal to a header already
// scanned scan the same way, so a line that starts with it is scanned
// from its data value on, with the stream, namespace and partition_id
// of the last record. The outcome is ScanEnvelope's on every line
// (FuzzEnvelopeScanner). The zero value is ready to use.
type EnvelopeScanner struct {
	prev Envelope
	// head is the last record's header, empty when that line had none
	// the scan can resume after: one whose record object had anything
	// but string stream, namespace and partition_id before the data.
	head []byte
	// stream, namespace and partition are the last record's strings as
	// spans in head (the zero Span: absent).
	stream, namespace, partition Span
	// tail is the rest of the last record's line after its data, kept
	// with head when it changed none of the strings and the spans were
	// valid; emitted and meta are the spans in it.
	tail          []byte
	emitted, meta relSpan
}

// Scan returns the envelope of line, as ScanEnvelope does. Raw aliases
// line.
func (s *EnvelopeScanner) Scan(line []byte) (Envelope, error) {
	var env Envelope
	f := fastScan{b: line, spans: RecordSpans{Valid: true}}
	var ok, resumed bool
	if n := len(s.head); n > 0 && len(line) > n && string(line[:n]) == string(s.head) {
		ok = s.resume(&f, &env)
		resumed = ok
	} else {
		ok = f.scan(&env, &s.prev)
	}
	if !ok {
		var err error
		if env, err = scanEnvelope(line, &s.prev); err != nil {
			return env, err
		}
		f = fastScan{} // no header to keep
	}
	if env.Type == TypeRecord {
		s.remember(&f, &env, resumed)
	}
	return env, nil
}

// resume scans a line that starts with the last record's header from its
// data value on. When the rest of the line after the data is the last
// record's rest too, byte for byte (`,"emitted_at":1700000000000}}` for
// records emitted in the same millisecond), it scans the same way, and
// the line's envelope is the last one's with the data's span.
func (s *EnvelopeScanner) resume(f *fastScan, env *Envelope) bool {
	b, at := f.b, len(s.head)
	env.Type = TypeRecord
	f.records, f.dataAt = 1, at
	f.stream, f.namespace, f.partition = s.stream, s.namespace, s.partition
	f.sameStrings = true
	end, ok := jsonscan.SkipFast(b, at)
	if !ok {
		return false
	}
	if len(s.tail) > 0 && string(b[end:]) == string(s.tail) {
		f.tailSame = true
		env.Raw = b
		env.Stream, env.Namespace, env.PartitionID = s.prev.Stream, s.prev.Namespace, s.prev.PartitionID
		env.Spans = RecordSpans{Data: Span{at, end}, EmittedAt: s.emitted.at(end), Meta: s.meta.at(end), Valid: true}
		return true
	}
	i, ok := f.recordAfter(memberData, at, end)
	if ok && i > 0 {
		member, next, ok1 := recordMember(b, i)
		if !ok1 {
			return false
		}
		i, ok = f.recordFrom(member, skipSpace(b, next))
	} else {
		i = -i
	}
	if !ok {
		return false
	}
	return f.afterRecord(env, i, &s.prev)
}

// remember keeps a record's strings, and its header when the strings all
// come from it (a later duplicate member may have replaced one), and the
// rest of the line after its data when that holds nothing but members
// the spans locate. A resumed line's header is the one kept already.
func (s *EnvelopeScanner) remember(f *fastScan, env *Envelope, resumed bool) {
	if f.tailSame {
		return // the last record's envelope, all but the data's span
	}
	at := f.dataAt
	if !resumed || !f.sameStrings {
		s.prev = Envelope{Type: env.Type, Stream: env.Stream, Namespace: env.Namespace, PartitionID: env.PartitionID}
		if at == 0 || f.records != 1 || f.stream.End > at || f.namespace.End > at || f.partition.End > at {
			s.head, s.tail = s.head[:0], s.tail[:0]
			return
		}
		if !resumed {
			s.head = append(s.head[:0], f.b[:at]...)
		}
		s.stream, s.namespace, s.partition = f.stream, f.namespace, f.partition
	}
	s.tail = s.tail[:0]
	if f.dataEnd > 0 && f.records == 1 && f.spans.Valid {
		s.tail = append(s.tail, f.b[f.dataEnd:]...)
		s.emitted, s.meta = relSpanOf(f.spans.EmittedAt, f.dataEnd), relSpanOf(f.spans.Meta, f.dataEnd)
	}
}

// relSpan is a span in a record's tail: from the end of its data.
type relSpan struct{ start, end int }

func relSpanOf(sp Span, base int) relSpan {
	if sp.End == 0 {
		return relSpan{}
	}
	return relSpan{sp.Start - base, sp.End - base}
}

// at places a tail span after data that ends at base.
func (r relSpan) at(base int) Span {
	if r.end == 0 {
		return Span{}
	}
	return Span{base + r.start, base + r.end}
}

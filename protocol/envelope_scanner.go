package protocol

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
// data value on.
func (s *EnvelopeScanner) resume(f *fastScan, env *Envelope) bool {
	env.Type = TypeRecord
	f.records, f.dataAt = 1, len(s.head)
	f.stream, f.namespace, f.partition = s.stream, s.namespace, s.partition
	f.sameStrings = true
	i, ok := f.recordFrom(memberData, len(s.head))
	if !ok {
		return false
	}
	return f.afterRecord(env, i, &s.prev)
}

// remember keeps a record's strings, and its header when the strings all
// come from it (a later duplicate member may have replaced one). A
// resumed line's header is the one kept already.
func (s *EnvelopeScanner) remember(f *fastScan, env *Envelope, resumed bool) {
	if resumed && f.sameStrings {
		return // the same header and strings as the last record's
	}
	s.prev = Envelope{Type: env.Type, Stream: env.Stream, Namespace: env.Namespace, PartitionID: env.PartitionID}
	at := f.dataAt
	if at == 0 || f.records != 1 || f.stream.End > at || f.namespace.End > at || f.partition.End > at {
		s.head = s.head[:0]
		return
	}
	if !resumed {
		s.head = append(s.head[:0], f.b[:at]...)
	}
	s.stream, s.namespace, s.partition = f.stream, f.namespace, f.partition
}

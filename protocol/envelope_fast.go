package protocol

import (
	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Span is where a member's value sits in a line: Raw[Start:End]. The zero
// Span means the member is absent.
type Span struct{ Start, End int }

// RecordSpans locates the parts of a RECORD line that destinations read,
// found by the envelope scan in the same pass, so that a destination need
// not scan the line again. Valid is set only when the line held one
// "record" object with at most one of each member, where the spans are
// unambiguous; otherwise a reader must find the members itself.
type RecordSpans struct {
	Data, EmittedAt, Meta Span
	Valid                 bool
}

// scanEnvelopeFast is the envelope scan of the lines connectors print:
// one pass, with the data and every other value skipped by the fast
// skipper (jsonscan.SkipFast). It accepts a line only when it can vouch
// for all of it; on anything else (an escaped key, a line that is not a
// message, anything jsonscan.SkipFast gives up on) it returns false and
// the caller runs the full scan, which gives the verdict and the error.
// So both scans agree on every input (FuzzScanEnvelopeFast).
func scanEnvelopeFast(line []byte, prev *Envelope, env *Envelope) bool {
	f := fastScan{b: line, spans: RecordSpans{Valid: true}}
	return f.scan(env, prev)
}

// scan is scanEnvelopeFast on f's line.
func (f *fastScan) scan(env *Envelope, prev *Envelope) bool {
	b := f.b
	var i int
	var ok bool
	if len(b) > len(recordPrefix) && string(b[:len(recordPrefix)]) == recordPrefix {
		// How nearly every record starts: its first two members read at once.
		env.Type, f.records, f.head = TypeRecord, 1, true
		if i, ok = f.record(len(recordPrefix)); !ok {
			return false
		}
		return f.afterRecord(env, i, prev)
	}
	i = skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return false // no type: the full scan words the error
	}
	return f.members(env, i, prev)
}

// afterRecord goes on after the record object of a line that starts with
// recordPrefix, which ends at i.
func (f *fastScan) afterRecord(env *Envelope, i int, prev *Envelope) bool {
	b := f.b
	if i = skipSpace(b, i); i < len(b) && b[i] == '}' {
		return f.finish(env, i+1, prev)
	}
	if i >= len(b) || b[i] != ',' {
		return false
	}
	return f.members(env, skipSpace(b, i+1), prev)
}

// members scans the message's members from the key at i to the end.
func (f *fastScan) members(env *Envelope, i int, prev *Envelope) bool {
	b := f.b
	var ok bool
	for {
		key, next, ok1 := fastKey(b, i)
		if !ok1 {
			return false
		}
		i = skipSpace(b, next)
		switch string(key) {
		case "type":
			if i < len(b) && b[i] == '"' {
				end, ok := jsonscan.PlainString(b, i+1)
				if !ok {
					return false
				}
				env.Type = internType(b[i:end], false)
				i = end
				break
			}
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return false
			}
		case "record":
			f.records++
			if i < len(b) && b[i] == '{' {
				if i, ok = f.record(i + 1); !ok {
					return false
				}
				break
			}
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return false
			}
		default:
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return false
			}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return f.finish(env, i+1, prev)
		}
		return false
	}
}

// recordPrefix is the start of a compact RECORD line.
const recordPrefix = `{"type":"RECORD","record":{`

// fastScan is the state of one fast envelope scan.
type fastScan struct {
	b                            []byte
	stream, namespace, partition Span // raw JSON strings of the last record object
	records                      int  // "record" members seen
	spans                        RecordSpans
	// head is set while the line, which starts with recordPrefix, has
	// had only string stream, namespace and partition_id members in its
	// record object; dataAt is then where the first data value starts.
	// The bytes before dataAt are the line's header (EnvelopeScanner).
	head   bool
	dataAt int
	// dataEnd is where that data value ends, once scanned.
	dataEnd int
	// tailSame is set when the line after the data is the last record's.
	tailSame bool
	// sameStrings is set when the three strings come from a header equal
	// to the previous record's: prev's strings are theirs.
	sameStrings bool
}

// finish checks that nothing follows the object that ends at i and fills
// in the envelope.
func (f *fastScan) finish(env *Envelope, i int, prev *Envelope) bool {
	if skipSpace(f.b, i) != len(f.b) || env.Type == "" {
		return false
	}
	env.Raw = f.b
	if env.Type == TypeRecord {
		if prev == nil {
			prev = &Envelope{}
		}
		if f.sameStrings {
			env.Stream, env.Namespace, env.PartitionID = prev.Stream, prev.Namespace, prev.PartitionID
		} else {
			env.Stream = jsonStringAfter(f.raw(f.stream), prev.Stream)
			env.Namespace = jsonStringAfter(f.raw(f.namespace), prev.Namespace)
			env.PartitionID = jsonStringAfter(f.raw(f.partition), prev.PartitionID)
		}
		if f.records == 1 {
			env.Spans = f.spans
		}
	}
	return true
}

// raw returns the bytes of a span, nil for the zero span.
func (f *fastScan) raw(sp Span) []byte {
	if sp.End == 0 {
		return nil
	}
	return f.b[sp.Start:sp.End]
}

// Record members the fast scan acts on.
const (
	memberOther = iota
	memberStream
	memberNamespace
	memberPartition
	memberData
	memberEmittedAt
	memberMeta
)

// recordMember reads a record member's key and its ':' at b[i:]. The keys
// every record has are matched whole, quotes and colon included, which
// costs a comparison or two; others are read as keys.
func recordMember(b []byte, i int) (member, next int, ok bool) {
	rest := b[i:]
	switch {
	case len(rest) >= 7 && string(rest[:7]) == `"data":`:
		return memberData, i + 7, true
	case len(rest) >= 9 && string(rest[:9]) == `"stream":`:
		return memberStream, i + 9, true
	case len(rest) >= 13 && string(rest[:13]) == `"emitted_at":`:
		return memberEmittedAt, i + 13, true
	case len(rest) >= 15 && string(rest[:15]) == `"partition_id":`:
		return memberPartition, i + 15, true
	}
	key, next, ok := fastKey(b, i)
	switch string(key) {
	case "stream":
		return memberStream, next, ok
	case "namespace":
		return memberNamespace, next, ok
	case "partition_id":
		return memberPartition, next, ok
	case "data":
		return memberData, next, ok
	case "emitted_at":
		return memberEmittedAt, next, ok
	case "meta":
		return memberMeta, next, ok
	}
	return memberOther, next, ok
}

// record scans a record object's members after its '{', as recordHeader
// does: each record object sets all three strings (a later duplicate
// "record" wins whole). It notes the spans of data, emitted_at and meta;
// a second one of any makes the spans invalid, and so does a second
// "record" member of the message (counted in records).
func (f *fastScan) record(i int) (int, bool) {
	b := f.b
	f.stream, f.namespace, f.partition = Span{}, Span{}, Span{}
	f.sameStrings = false
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	member, next, ok := recordMember(b, i)
	if !ok {
		return i, false
	}
	return f.recordFrom(member, skipSpace(b, next))
}

// recordFrom scans a record object from the value of member at i to the
// end of the object.
func (f *fastScan) recordFrom(member, i int) (int, bool) {
	for {
		var ok bool
		if i, ok = f.recordValue(member, i); !ok || i < 0 {
			return -i, ok
		}
		var next int
		if member, next, ok = recordMember(f.b, i); !ok {
			return i, false
		}
		i = skipSpace(f.b, next)
	}
}

// recordValue scans the value of a record member at i and what follows
// it: the offset of the next member's key, or the negated offset after
// the record object's '}'.
func (f *fastScan) recordValue(member, i int) (int, bool) {
	b := f.b
	start := i
	var ok bool
	if member >= memberStream && member <= memberPartition && i < len(b) && b[i] == '"' {
		if i, ok = jsonscan.PlainString(b, i+1); !ok {
			return i, false
		}
		switch member {
		case memberStream:
			f.stream = Span{start, i}
		case memberNamespace:
			f.namespace = Span{start, i}
		default:
			f.partition = Span{start, i}
		}
		f.sameStrings = false
	} else {
		if f.head {
			f.head = false
			if member == memberData && f.records == 1 {
				f.dataAt = start
			}
		}
		if i, ok = jsonscan.SkipFast(b, i); !ok {
			return i, false
		}
	}
	return f.recordAfter(member, start, i)
}

// recordAfter notes the span of a record member's value at b[start:end]
// and reads what follows it, as recordValue returns it.
func (f *fastScan) recordAfter(member, start, end int) (int, bool) {
	var span *Span
	switch member {
	case memberData:
		span = &f.spans.Data
		if start == f.dataAt && f.dataAt > 0 {
			f.dataEnd = end
		}
	case memberEmittedAt:
		span = &f.spans.EmittedAt
	case memberMeta:
		span = &f.spans.Meta
	}
	if span != nil {
		if span.End != 0 {
			f.spans.Valid = false
		}
		*span = Span{start, end}
	}
	b := f.b
	i := skipSpace(b, end)
	if i < len(b) && b[i] == ',' {
		return skipSpace(b, i+1), true
	}
	if i < len(b) && b[i] == '}' {
		return -(i + 1), true
	}
	return i, false
}

// fastKey reads a plain key and its ':' at b[i:], returning the key's
// body and the offset after the ':'. An escaped key is left to the full
// scan, which unescapes it.
func fastKey(b []byte, i int) (key []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	end, ok := jsonscan.PlainString(b, i+1)
	if !ok {
		return nil, i, false
	}
	key = b[i+1 : end-1]
	end = skipSpace(b, end)
	if end >= len(b) || b[end] != ':' {
		return nil, i, false
	}
	return key, end + 1, true
}

// skipSpace skips JSON whitespace at b[i:]; compact lines have none, so
// the common case is one comparison.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

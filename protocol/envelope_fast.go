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
	b := line
	var i int
	var ok bool
	if len(b) > len(recordPrefix) && string(b[:len(recordPrefix)]) == recordPrefix {
		// How nearly every record starts: its first two members read at once.
		env.Type, f.records = TypeRecord, 1
		if i, ok = f.record(len(recordPrefix)); !ok {
			return false
		}
		if i = skipSpace(b, i); i < len(b) && b[i] == '}' {
			return f.finish(env, i+1, prev)
		}
		if i >= len(b) || b[i] != ',' {
			return false
		}
		i = skipSpace(b, i+1)
	} else {
		i = skipSpace(b, 0)
		if i >= len(b) || b[i] != '{' {
			return false
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return false // no type: the full scan words the error
		}
	}
	for {
		key, next, ok := fastKey(b, i)
		if !ok {
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
	stream, namespace, partition []byte // raw JSON strings of the last record object
	records                      int    // "record" members seen
	spans                        RecordSpans
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
		env.Stream = jsonStringAfter(f.stream, prev.Stream)
		env.Namespace = jsonStringAfter(f.namespace, prev.Namespace)
		env.PartitionID = jsonStringAfter(f.partition, prev.PartitionID)
		if f.records == 1 {
			env.Spans = f.spans
		}
	}
	return true
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
	f.stream, f.namespace, f.partition = nil, nil, nil
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		member, next, ok := recordMember(b, i)
		if !ok {
			return i, false
		}
		i = skipSpace(b, next)
		start := i
		var dst *[]byte
		var span *Span
		switch member {
		case memberStream:
			dst = &f.stream
		case memberNamespace:
			dst = &f.namespace
		case memberPartition:
			dst = &f.partition
		case memberData:
			span = &f.spans.Data
		case memberEmittedAt:
			span = &f.spans.EmittedAt
		case memberMeta:
			span = &f.spans.Meta
		}
		if dst != nil && i < len(b) && b[i] == '"' {
			if i, ok = jsonscan.PlainString(b, i+1); !ok {
				return i, false
			}
			*dst = b[start:i]
		} else if i, ok = jsonscan.SkipFast(b, i); !ok {
			return i, false
		}
		if span != nil {
			if span.End != 0 {
				f.spans.Valid = false
			}
			*span = Span{start, i}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
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

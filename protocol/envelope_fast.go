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
// message, anything jsonscan.SkipFast gives up on) ok is false and the
// caller runs the full scan, which gives the verdict and the error. So
// both scans agree on every input (FuzzScanEnvelopeFast).
func scanEnvelopeFast(line []byte, prev *Envelope) (env Envelope, ok bool) {
	b := line
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return env, false
	}
	i = skipSpace(b, i+1)
	var stream, namespace, partition []byte
	records := 0
	spans := RecordSpans{Valid: true}
	if i < len(b) && b[i] == '}' {
		return env, false // no type: the full scan words the error
	}
	for {
		key, next, ok := fastKey(b, i)
		if !ok {
			return env, false
		}
		i = skipSpace(b, next)
		switch string(key) {
		case "type":
			if i < len(b) && b[i] == '"' {
				end, ok := jsonscan.PlainString(b, i+1)
				if !ok {
					return env, false
				}
				env.Type = internType(b[i:end], false)
				i = end
				break
			}
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return env, false
			}
		case "record":
			records++
			if i < len(b) && b[i] == '{' {
				if i, ok = fastRecord(b, i+1, &stream, &namespace, &partition, &spans); !ok {
					return env, false
				}
				break
			}
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return env, false
			}
		default:
			if i, ok = jsonscan.SkipFast(b, i); !ok {
				return env, false
			}
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		return env, false
	}
	if skipSpace(b, i) != len(b) || env.Type == "" {
		return env, false
	}
	env.Raw = line
	if env.Type == TypeRecord {
		if prev == nil {
			prev = &Envelope{}
		}
		env.Stream = jsonStringAfter(stream, prev.Stream)
		env.Namespace = jsonStringAfter(namespace, prev.Namespace)
		env.PartitionID = jsonStringAfter(partition, prev.PartitionID)
		if records == 1 {
			env.Spans = spans
		}
	}
	return env, true
}

// fastRecord scans a record object's members after its '{', as
// recordHeader does: each record object sets all three strings (a later
// duplicate "record" wins whole). It notes the spans of data, emitted_at
// and meta; a second one of any makes the spans invalid, and so does a
// second "record" member of the message (counted by the caller).
func fastRecord(b []byte, i int, stream, namespace, partition *[]byte, spans *RecordSpans) (int, bool) {
	*stream, *namespace, *partition = nil, nil, nil
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, next, ok := fastKey(b, i)
		if !ok {
			return i, false
		}
		i = skipSpace(b, next)
		start := i
		var dst *[]byte
		var span *Span
		switch string(key) {
		case "stream":
			dst = stream
		case "namespace":
			dst = namespace
		case "partition_id":
			dst = partition
		case "data":
			span = &spans.Data
		case "emitted_at":
			span = &spans.EmittedAt
		case "meta":
			span = &spans.Meta
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
				spans.Valid = false
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

package protobuf

import (
	"strconv"

	"github.com/ferrysync/ferry/protocol"
)

// The common record message, converted in one pass without the general
// decoding of merge and appendJSON: a message that is one record and
// nothing else, whose fields all have one-byte tags and one-byte lengths
// (namespace, stream, emitted_at, partition_id and values under 128
// bytes), whose strings are plain ASCII, and no meta or extension. Its
// values go out by appendValueFast, else appendValue, the functions of
// the general path. Anything else, including every error, declines, and
// the general path converts the message or reports its error: the fast
// path never decides anything the general path would decide otherwise
// (TestRecordFastMatches, FuzzRecordFast).

// fastMaxValues bounds the values the fast path places.
const fastMaxValues = 64

// One-byte tags of the record fields the fast path takes.
const (
	tagRecNamespace   = recNamespace<<3 | 2
	tagRecStream      = recStream<<3 | 2
	tagRecEmittedAt   = recEmittedAt<<3 | 0
	tagRecPartitionID = recPartitionID<<3 | 2
)

// lastSchema is the decoder's cache of its last stream's schema: records
// come in runs of one stream, so the two map lookups are skipped.
type lastSchema struct {
	cat               *Catalog
	namespace, stream string
	schema            *RecordSchema
}

// schemaOf returns the catalog's schema of the stream, or nil.
func (d *recordDecoder) schemaOf(c *Catalog, ns, stream []byte) *RecordSchema {
	l := &d.last
	if l.cat != c || string(ns) != l.namespace || string(stream) != l.stream {
		l.cat, l.namespace, l.stream = c, string(ns), string(stream)
		l.schema = c.byNamespace[l.namespace][l.stream]
	}
	return l.schema
}

// appendRecordFast writes msg's JSON line when msg is the common record
// message, and reports whether it did; dst is unchanged when it did not.
func (c *Catalog) appendRecordFast(d *recordDecoder, dst, msg []byte) ([]byte, protocol.RecordSpans, bool) {
	var spans protocol.RecordSpans
	if len(msg) < 2 || msg[0] != 1<<3|2 {
		return dst, spans, false
	}
	n, k := uvarint(msg[1:])
	if k <= 0 || uint64(len(msg)-1-k) != n {
		return dst, spans, false
	}
	body := msg[1+k:]
	var ns, stream, pid []byte
	var at uint64
	var pos [fastMaxValues]uint32 // where each value's body starts
	nv := 0
	for i := 0; i < len(body); {
		if i+1 >= len(body) {
			return dst, spans, false
		}
		tag := body[i]
		if tag == tagRecEmittedAt {
			v, m := uvarint(body[i+1:])
			if m <= 0 {
				return dst, spans, false
			}
			at, i = v, i+1+m
			continue
		}
		l := int(body[i+1])
		if l >= 0x80 || i+2+l > len(body) {
			return dst, spans, false
		}
		v := body[i+2 : i+2+l]
		switch tag {
		case tagRecData:
			if nv == fastMaxValues {
				return dst, spans, false
			}
			pos[nv] = uint32(i + 2)
			nv++
		case tagRecNamespace, tagRecStream, tagRecPartitionID:
			// Each occurrence, as the general path checks each.
			if !plainASCII(v) {
				return dst, spans, false
			}
			switch tag {
			case tagRecNamespace:
				ns = v
			case tagRecStream:
				stream = v
			default:
				pid = v
			}
		default:
			return dst, spans, false
		}
		i += 2 + l
	}
	s := d.schemaOf(c, ns, stream)
	if s == nil || nv > s.Len() {
		return dst, spans, false
	}
	base := len(dst)
	out := append(dst, `{"type":"RECORD","record":{`...)
	if len(ns) > 0 {
		out = append(out, `"namespace":"`...)
		out = append(append(out, ns...), `",`...)
	}
	out = append(out, `"stream":"`...)
	out = append(append(out, stream...), `","data":{`...)
	start := len(out) - 1
	first := true
	for _, k := range s.decl {
		var raw []byte
		if int(k) < nv {
			p := pos[k]
			raw = body[p : p+uint32(body[p-1])]
		}
		key := s.keys[k]
		if first {
			key = key[1:]
		}
		mark := len(out)
		out = append(out, key...)
		if v, ok := appendValueFast(out, raw); ok {
			out, first = v, false
			continue
		}
		v, present, err := appendValue(out, raw)
		if err != nil {
			return dst, spans, false
		}
		if !present {
			out = out[:mark]
			continue
		}
		out, first = v, false
	}
	out = append(out, '}')
	spans.Data = protocol.Span{Start: start - base, End: len(out) - base}
	out = append(out, `,"emitted_at":`...)
	start = len(out)
	if at != d.lastAt || d.lastAtText == nil {
		d.lastAt, d.lastAtText = at, strconv.AppendUint(d.lastAtText[:0], at, 10)
	}
	out = append(out, d.lastAtText...)
	spans.EmittedAt = protocol.Span{Start: start - base, End: len(out) - base}
	spans.Valid = true
	if len(pid) > 0 {
		out = append(out, `,"partition_id":"`...)
		out = append(append(out, pid...), '"')
	}
	return append(out, "}}"...), spans, true
}

// plainASCII reports whether every byte of b is printable ASCII that JSON
// does not escape (appendASCII's test), so b quoted is its JSON string.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

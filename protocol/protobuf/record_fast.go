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
	tagRecEmittedAt   = recEmittedAt << 3 // a varint: wire type 0
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

// fastRecord is what one pass over a common record body found.
type fastRecord struct {
	body            []byte
	ns, stream, pid []byte
	at              uint64
	nv              int
	pos             [fastMaxValues]uint32 // where each value's body starts
}

// parse reads body, and reports whether it is a common record body.
func (r *fastRecord) parse(body []byte) bool {
	r.body = body
	for i := 0; i < len(body); {
		// Values come in a run, each under 128 bytes: placed in a tight
		// loop.
		for i+1 < len(body) && body[i] == tagRecData && body[i+1] < 0x80 && i+2+int(body[i+1]) <= len(body) && r.nv < fastMaxValues {
			r.pos[r.nv] = uint32(i + 2)
			r.nv++
			i += 2 + int(body[i+1])
		}
		if i == len(body) {
			break
		}
		if i+1 >= len(body) {
			return false
		}
		tag := body[i]
		if tag == tagRecEmittedAt {
			v, m := uvarint(body[i+1:])
			if m <= 0 {
				return false
			}
			r.at, i = v, i+1+m
			continue
		}
		l := int(body[i+1])
		if l >= 0x80 || i+2+l > len(body) {
			return false
		}
		v := body[i+2 : i+2+l]
		switch tag {
		case tagRecData:
			if r.nv == fastMaxValues {
				return false
			}
			r.pos[r.nv] = uint32(i + 2)
			r.nv++
		case tagRecNamespace, tagRecStream, tagRecPartitionID:
			// Each occurrence, as the general path checks each.
			if !plainASCII(v) {
				return false
			}
			switch tag {
			case tagRecNamespace:
				r.ns = v
			case tagRecStream:
				r.stream = v
			default:
				r.pid = v
			}
		default:
			return false
		}
		i += 2 + l
	}
	return true
}

// appendData writes the data object under s, or reports false when a
// value is not written by the fast path or has an error.
func (r *fastRecord) appendData(out []byte, s *RecordSchema) ([]byte, bool) {
	if r.nv > s.Len() {
		return out, false
	}
	// Every key goes with its ',': the first one's becomes the '{'.
	start := len(out)
	for _, k := range s.decl {
		var raw []byte
		if int(k) < r.nv {
			p := r.pos[k]
			raw = r.body[p : p+uint32(r.body[p-1])]
		}
		mark := len(out)
		out = append(out, s.keys[k]...)
		if v, ok := appendValueFast(out, raw); ok {
			out = v
			continue
		}
		v, present, err := appendValue(out, raw)
		if err != nil {
			return out, false
		}
		if !present {
			out = out[:mark]
			continue
		}
		out = v
	}
	if len(out) == start {
		return append(out, "{}"...), true
	}
	out[start] = '{'
	return append(out, '}'), true
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
	var r fastRecord
	if !r.parse(msg[1+k:]) {
		return dst, spans, false
	}
	s := d.schemaOf(c, r.ns, r.stream)
	if s == nil {
		return dst, spans, false
	}
	base := len(dst)
	out := append(dst, `{"type":"RECORD","record":{`...)
	if len(r.ns) > 0 {
		out = append(out, `"namespace":"`...)
		out = append(append(out, r.ns...), `",`...)
	}
	out = append(out, `"stream":"`...)
	out = append(append(out, r.stream...), `","data":`...)
	start := len(out)
	out, ok := r.appendData(out, s)
	if !ok {
		return dst, spans, false
	}
	spans.Data = protocol.Span{Start: start - base, End: len(out) - base}
	out = append(out, `,"emitted_at":`...)
	start = len(out)
	if r.at != d.lastAt || d.lastAtText == nil {
		d.lastAt, d.lastAtText = r.at, strconv.AppendUint(d.lastAtText[:0], r.at, 10)
	}
	out = append(out, d.lastAtText...)
	spans.EmittedAt = protocol.Span{Start: start - base, End: len(out) - base}
	spans.Valid = true
	if len(r.pid) > 0 {
		out = append(out, `,"partition_id":"`...)
		out = append(append(out, r.pid...), '"')
	}
	return append(out, "}}"...), spans, true
}

// AppendDataFast appends the data object of a record, given as its
// AirbyteRecordMessageProtobuf body, as AppendRecordJSON writes it, and
// returns the record's emitted_at, when the record is a common one (as
// for the fast conversion of a message) with an emitted_at under 10^18.
// It reports false, with dst as it was, for any other record; the caller
// then takes the data from AppendRecordJSON's line.
func (s *RecordSchema) AppendDataFast(dst, record []byte) ([]byte, int64, bool) {
	var r fastRecord
	if !r.parse(record) || r.at >= 1e18 {
		return dst, 0, false
	}
	out, ok := r.appendData(dst, s)
	if !ok {
		return dst, 0, false
	}
	return out, int64(r.at), true
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

package protobuf

import (
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// RecordHeader is what a record carries besides its data, as UTF-8 text
// (not JSON-quoted), for AppendRecordFrame.
type RecordHeader struct {
	Namespace, Stream, PartitionID []byte
	EmittedAt                      int64
}

// AppendRecordFrame converts a record given as its header and the JSON
// text of its data object, and appends it to dst as a framed
// AirbyteMessageProtobuf (the varint length, then record = 1): what a
// source writes to a socket. The bytes are those of AppendRecordProto for
// the same record object, framed, without building that object's JSON and
// scanning it again. On an error dst is returned as it was.
func (s *RecordSchema) AppendRecordFrame(dst []byte, h *RecordHeader, data []byte) ([]byte, ConvertStats, error) {
	if h.EmittedAt < 0 {
		return dst, ConvertStats{}, fmt.Errorf("record emitted_at %d is negative", h.EmittedAt)
	}
	e := getEncoder(s)
	defer putEncoder(e)
	e.hasNamespace, e.namespace, e.stream, e.partitionID = len(h.Namespace) > 0, h.Namespace, h.Stream, h.PartitionID
	e.emittedAt = uint64(h.EmittedAt)
	if err := e.loadData(data); err != nil {
		return dst, e.stats, fmt.Errorf("record: %w", err)
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	return appendRecordEnvelope(dst, e, true), e.stats, nil
}

// RecordValues holds one record's values in wire order, for a source that
// produces them directly instead of as JSON (AppendValuesFrame). Every
// value starts absent, like a property the JSON record does not have;
// Reset makes them absent again, and SetNull sets a JSON null. The
// values go out in the order the schema declares its properties, which is
// the JSON record's order when the source writes its members in that
// order. Strings are referenced, not copied: they must stay unchanged
// until the record is appended.
type RecordValues struct {
	schema *RecordSchema
	vals   []pvalue
	bad    int    // 1 + the position of the first value that cannot be sent
	badWhy string // what is wrong with it
	enc    recordEncoder
	room   int // the length prefixes of the last frame (appendRecordEnvelopeRoom)
}

// NewRecordValues returns a record of the schema with every value absent.
func (s *RecordSchema) NewRecordValues() *RecordValues {
	return &RecordValues{schema: s, vals: make([]pvalue, len(s.names))}
}

// Reset makes every value absent.
func (v *RecordValues) Reset() {
	clear(v.vals)
	v.bad, v.badWhy = 0, ""
}

// SetAbsent makes value i absent: the record does not have property i.
func (v *RecordValues) SetAbsent(i int) { v.slot(i) }

// SetNull sets value i to null.
func (v *RecordValues) SetNull(i int) { v.slot(i).c = valNull }

// SetInt sets value i to an integer.
func (v *RecordValues) SetInt(i int, x int64) {
	p := v.slot(i)
	p.c, p.i = fieldInteger, x
}

// SetNumber sets value i to a double.
func (v *RecordValues) SetNumber(i int, f float64) {
	p := v.slot(i)
	p.c, p.f = fieldNumber, f
}

// SetBool sets value i to a boolean.
func (v *RecordValues) SetBool(i int, b bool) {
	p := v.slot(i)
	p.c, p.b = fieldBoolean, b
}

// SetString sets value i to a string, which must be valid UTF-8.
func (v *RecordValues) SetString(i int, s string) {
	v.SetStringBytes(i, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// SetStringBytes sets value i to a string held in s, which must be valid
// UTF-8 and stay unchanged until the record is appended.
func (v *RecordValues) SetStringBytes(i int, s []byte) {
	if v.bad == 0 && !validText(s) {
		v.bad, v.badWhy = i+1, "is not valid UTF-8"
	}
	p := v.slot(i)
	p.c, p.s = fieldString, s
}

// SetTimestampTZ sets value i to a timestamp_with_timezone: seconds since
// the epoch, nanoseconds, the offset from UTC in seconds, and the form of
// its text (TemporalForm; 0 for the canonical form).
func (v *RecordValues) SetTimestampTZ(i int, epochSecond int64, nano uint32, offsetSeconds int32, form TextForm) {
	if v.bad == 0 && !timestampInRange(epochSecond, nano, offsetSeconds, form) {
		v.bad, v.badWhy = i+1, "is a timestamp out of range"
	}
	p := v.slot(i)
	p.c, p.i, p.nano, p.off, p.form = fieldTimestampTZ, epochSecond, nano, offsetSeconds, form
}

// timestampInRange reports whether a timestamp_with_timezone can be sent:
// a destination turns anything else into an error ("temporal value out of
// range"), so the source refuses it rather than send it.
func timestampInRange(epochSecond int64, nano uint32, offsetSeconds int32, form TextForm) bool {
	const maxSecond = maxEpochDay * secondsPerDay
	local := epochSecond + int64(offsetSeconds) // wraps only for an epochSecond out of range, refused anyway
	return nano < nanosPerSecond && -maxOffsetSeconds <= offsetSeconds && offsetSeconds <= maxOffsetSeconds &&
		-maxSecond <= epochSecond && epochSecond <= maxSecond && -maxSecond <= local && local <= maxSecond &&
		form&^formAll == 0
}

// SetJSON sets value i to JSON text (an object, an array, a union), held
// in raw, which must stay unchanged until the record is appended.
func (v *RecordValues) SetJSON(i int, raw []byte) {
	if v.bad == 0 && !utf8.Valid(raw) {
		v.bad, v.badWhy = i+1, "is not valid UTF-8"
	}
	p := v.slot(i)
	p.c, p.s = fieldJSON, raw
}

// slot returns value i, made zero field by field: assigning a whole
// pvalue, which holds pointers, costs a runtime copy per value.
func (v *RecordValues) slot(i int) *pvalue {
	p := &v.vals[i]
	if p.s != nil || p.text != nil {
		p.s, p.text = nil, nil
	}
	p.c, p.b, p.i, p.u, p.f, p.nano, p.off, p.form = 0, false, 0, 0, 0, 0, 0, 0
	return p
}

// AppendValuesFrame appends a record given as its header and its values
// as a framed AirbyteMessageProtobuf, like AppendRecordFrame. On an error
// dst is returned as it was.
func (s *RecordSchema) AppendValuesFrame(dst []byte, h *RecordHeader, v *RecordValues) ([]byte, error) {
	switch {
	case v.schema != s:
		return dst, errors.New("record values of another schema")
	case h.EmittedAt < 0:
		return dst, fmt.Errorf("record emitted_at %d is negative", h.EmittedAt)
	case v.bad > 0:
		return dst, fmt.Errorf("record value %s %s", s.names[v.bad-1], v.badWhy)
	}
	// The encoder is kept with the values: a new one, a large struct,
	// would be zeroed for every record. Only these fields are read.
	e := &v.enc
	e.schema, e.vals, e.hasNamespace = s, v.vals, len(h.Namespace) > 0
	e.namespace, e.stream, e.partitionID, e.emittedAt = h.Namespace, h.Stream, h.PartitionID, uint64(h.EmittedAt)
	e.meta, e.metaSize, e.extra, e.orderExt, e.recExtra = nil, 0, nil, nil, nil
	err := e.finish()
	if err == nil {
		if v.room == 0 {
			v.room = 3 // a record under 126 bytes
		}
		dst, v.room = appendRecordEnvelopeRoom(dst, e, true, v.room)
	}
	e.namespace, e.stream, e.partitionID = nil, nil, nil // the caller's
	return dst, err
}

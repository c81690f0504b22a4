package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// Conversion between JSON records and AirbyteRecordMessageProtobuf.
//
// JSON → protobuf. Each top-level member of `data` is matched to a schema
// property by name; values go out in schema order, one per property, and a
// missing or null member is sent as is_null. The value's encoding follows
// the property's kind (PROTOCOL.md 5.5):
//
//	boolean          true/false → boolean
//	string           → string
//	integer          up to 63 bits → integer; larger → big_integer (the digits)
//	number           → number when the double holds the value exactly (0.1
//	                   counts: its shortest form is 0.1); else → big_decimal,
//	                   carrying the number's JSON text unchanged (it may use
//	                   exponent notation, which Java's BigDecimal accepts)
//	date             YYYY-MM-DD → date (days since the epoch)
//	time             HH:MM[:SS[.f]] with an offset → time_with_timezone,
//	                 without → time_without_timezone
//	timestamp        date, 'T' or ' ', time, optional offset (Z, ±HH:MM,
//	                 ±HHMM, ±HH) → timestamp_with/without_timezone
//	json             objects, arrays, unions, unknown → json (the JSON text)
//
// Nothing is lost. A value that does not fit its property's kind (a
// timestamp that does not parse, a string in an integer column, text with
// a lone surrogate that a protobuf string cannot hold) travels as `string`
// when it is a JSON string and as `json` otherwise, and is counted in
// ConvertStats.Coerced: the newest load CDK reads a value of the wrong
// member as null, so callers should warn. A *_with_timezone value without
// an offset is taken as UTC; a *_without_timezone value with an offset
// cannot be held by the typed member and travels as `string`. An integer
// written -0 travels as big_integer "-0", so even its text survives.
//
// Data members that are not schema properties cannot travel, because
// values are positional: they are dropped and counted in
// ConvertStats.DroppedFields, as are record members protobuf has no field
// for (file_reference, undeclared members) in DroppedMembers.
//
// Protobuf → JSON. Every value says which member it uses, so decoding
// needs the schema only for the property names. The JSON written back is
// value-equal to the original, with these normalizations:
//   - data members come out in schema order, and null values are omitted
//     (absent and null are the same to Airbyte);
//   - a `number` is written in its shortest form (1.0 → 1, 1E3 → 1000);
//   - typed temporals are written in canonical RFC 3339: 'T', seconds
//     always present, the fraction without trailing zeros, Z for a zero
//     offset (2021-01-01 10:00+00:00 → 2021-01-01T10:00:00Z);
//   - a float emitted_at is truncated to whole milliseconds;
//   - NaN and infinite numbers, which JSON cannot hold and only a foreign
//     encoder could send, come back as the strings "NaN", "Infinity" and
//     "-Infinity"; a big_integer or big_decimal that is not a JSON number
//     comes back as a string.

// ConvertStats reports what a JSON-to-protobuf conversion could not carry
// as is. None of it is an error: callers log it, sampled.
type ConvertStats struct {
	// DroppedFields counts top-level data members that are not properties
	// of the stream's schema. Values are positional, so they cannot travel.
	DroppedFields int
	// FirstDropped names the first dropped data member, for the warning.
	FirstDropped string
	// Coerced counts values whose JSON type does not fit their property's
	// kind. They travel as `string` or `json`, so a Ferry decoder gets them
	// back unchanged, but an Airbyte destination reads them as null.
	Coerced int
	// DroppedMembers counts record members protobuf has no field for:
	// file_reference and undeclared members of the record or its meta.
	DroppedMembers int
}

// Field numbers of AirbyteValueProtobuf; the oneof member numbers double as
// the value cases.
const (
	fieldBoolean     = 1
	fieldString      = 2
	fieldInteger     = 3
	fieldBigInteger  = 4
	fieldNumber      = 5
	fieldBigDecimal  = 6
	fieldDate        = 7
	fieldTimeTZ      = 8
	fieldTimeNoTZ    = 9
	fieldTimestampTZ = 10
	fieldTimestamp   = 11
	fieldJSON        = 12
	fieldIsNull      = 13
)

// Field numbers of AirbyteRecordMessageProtobuf.
const (
	recNamespace   = 1
	recStream      = 2
	recEmittedAt   = 3
	recPartitionID = 4
	recData        = 5
	recMeta        = 6
)

// pvalue is one AirbyteValueProtobuf in plain form. c is the oneof member's
// field number, or 0 for null. Which other fields are used depends on c.
type pvalue struct {
	c    uint8
	b    bool
	i    int64  // integer, date, epoch_second, date_days_since_epoch
	u    uint64 // nanos of day
	f    float64
	nano uint32
	off  int32
	s    []byte // string, big_integer, big_decimal, json

	// sz and sub cache size() and subSize() between recordEncoder.size
	// and appendTo, which both need them.
	sz, sub uint32
}

// size returns the encoded size of the value's message body, and caches a
// temporal's sub-message size for appendTo.
func (v *pvalue) size() int {
	switch v.c {
	case 0:
		return 2 // is_null = true
	case fieldBoolean:
		return 2
	case fieldString, fieldBigInteger, fieldBigDecimal, fieldJSON:
		return 1 + protowire.SizeBytes(len(v.s))
	case fieldInteger, fieldDate:
		return 1 + protowire.SizeVarint(protowire.EncodeZigZag(v.i))
	case fieldNumber:
		return 9
	case fieldTimeNoTZ:
		return 1 + protowire.SizeVarint(v.u)
	case fieldTimeTZ, fieldTimestampTZ, fieldTimestamp:
		v.sub = uint32(v.subSize())
		return 1 + protowire.SizeBytes(int(v.sub))
	}
	return 0
}

// subSize is the body size of a temporal sub-message. Zero fields are
// omitted, as proto3 does.
func (v *pvalue) subSize() int {
	n := 0
	switch v.c {
	case fieldTimeTZ:
		if v.u != 0 {
			n += 1 + protowire.SizeVarint(v.u)
		}
		if v.off != 0 {
			n += 1 + protowire.SizeVarint(protowire.EncodeZigZag(int64(v.off)))
		}
	case fieldTimestampTZ:
		if v.i != 0 {
			n += 1 + protowire.SizeVarint(protowire.EncodeZigZag(v.i))
		}
		if v.nano != 0 {
			n += 1 + protowire.SizeVarint(uint64(v.nano))
		}
		if v.off != 0 {
			n += 1 + protowire.SizeVarint(protowire.EncodeZigZag(int64(v.off)))
		}
	case fieldTimestamp:
		if v.i != 0 {
			n += 1 + protowire.SizeVarint(protowire.EncodeZigZag(v.i))
		}
		if v.u != 0 {
			n += 1 + protowire.SizeVarint(v.u)
		}
	}
	return n
}

// appendTo writes the value's message body, in field-number order, as
// proto.Marshal does.
func (v *pvalue) appendTo(b []byte) []byte {
	switch v.c {
	case 0:
		return append(b, fieldIsNull<<3|byte(protowire.VarintType), 1)
	case fieldBoolean:
		x := byte(0)
		if v.b {
			x = 1
		}
		return append(b, fieldBoolean<<3|byte(protowire.VarintType), x)
	case fieldString, fieldBigInteger, fieldBigDecimal, fieldJSON:
		b = append(b, v.c<<3|byte(protowire.BytesType))
		return appendBytes(b, v.s)
	case fieldInteger, fieldDate:
		b = append(b, v.c<<3|byte(protowire.VarintType))
		return appendVarint(b, protowire.EncodeZigZag(v.i))
	case fieldNumber:
		b = append(b, fieldNumber<<3|byte(protowire.Fixed64Type))
		return protowire.AppendFixed64(b, math.Float64bits(v.f))
	case fieldTimeNoTZ:
		b = append(b, fieldTimeNoTZ<<3|byte(protowire.VarintType))
		return appendVarint(b, v.u)
	}
	// A temporal sub-message.
	b = append(b, v.c<<3|byte(protowire.BytesType))
	b = appendVarint(b, uint64(v.sub)) // set by size
	switch v.c {
	case fieldTimeTZ:
		if v.u != 0 {
			b = append(b, 1<<3|byte(protowire.VarintType))
			b = appendVarint(b, v.u)
		}
		if v.off != 0 {
			b = append(b, 2<<3|byte(protowire.VarintType))
			b = appendVarint(b, protowire.EncodeZigZag(int64(v.off)))
		}
	case fieldTimestampTZ:
		if v.i != 0 {
			b = append(b, 1<<3|byte(protowire.VarintType))
			b = appendVarint(b, protowire.EncodeZigZag(v.i))
		}
		if v.nano != 0 {
			b = append(b, 2<<3|byte(protowire.VarintType))
			b = appendVarint(b, uint64(v.nano))
		}
		if v.off != 0 {
			b = append(b, 3<<3|byte(protowire.VarintType))
			b = appendVarint(b, protowire.EncodeZigZag(int64(v.off)))
		}
	case fieldTimestamp:
		if v.i != 0 {
			b = append(b, 1<<3|byte(protowire.VarintType))
			b = appendVarint(b, protowire.EncodeZigZag(v.i))
		}
		if v.u != 0 {
			b = append(b, 2<<3|byte(protowire.VarintType))
			b = appendVarint(b, v.u)
		}
	}
	return b
}

// span is a [start, end) range of a JSON value in its buffer; end 0 means
// absent.
type span struct{ start, end int }

// recordEncoder holds one conversion's state. Encoders are pooled, so the
// hot path allocates nothing once warm.
type recordEncoder struct {
	schema *RecordSchema
	stats  ConvertStats

	hasNamespace bool
	namespace    []byte
	stream       []byte
	emittedAt    uint64
	partitionID  []byte
	meta         *RecordMeta
	metaSize     int

	spans []span
	vals  []pvalue
	order []int32 // the property index of each data member, in order
	// text holds unescaped strings. It is sized up front to the data's
	// length, which bounds them, so slices into it stay valid.
	text    []byte
	scratch [64]byte
}

var encoderPool = sync.Pool{New: func() any { return new(recordEncoder) }}

func getEncoder(s *RecordSchema) *recordEncoder {
	e := encoderPool.Get().(*recordEncoder)
	e.schema = s
	e.reset()
	return e
}

// reset clears the record state, keeping the schema and the buffers.
func (e *recordEncoder) reset() {
	e.stats = ConvertStats{}
	e.hasNamespace, e.namespace, e.stream, e.partitionID = false, nil, nil, nil
	e.emittedAt, e.meta, e.metaSize = 0, nil, 0
}

func putEncoder(e *recordEncoder) {
	// Do not pin a huge record's buffers in the pool.
	if cap(e.text) > 1<<20 {
		e.text = nil
	}
	for i := range e.vals {
		e.vals[i].s = nil
	}
	e.schema, e.namespace, e.stream, e.partitionID, e.meta = nil, nil, nil, nil, nil
	encoderPool.Put(e)
}

// fromRecord loads a decoded Record.
func (e *recordEncoder) fromRecord(r *Record) error {
	if r.EmittedAt < 0 {
		return fmt.Errorf("record emitted_at %d is negative", r.EmittedAt)
	}
	e.hasNamespace = r.Namespace != ""
	e.namespace = []byte(r.Namespace)
	e.stream = []byte(r.Stream)
	e.partitionID = []byte(r.PartitionID)
	e.emittedAt = uint64(r.EmittedAt)
	e.meta = r.Meta
	e.stats.DroppedMembers += len(r.Extra)
	if len(r.FileReference) > 0 && string(r.FileReference) != "null" {
		e.stats.DroppedMembers++
	}
	return e.loadData(r.Data)
}

// fromJSON loads the JSON text of a record object ({"stream": ..., "data":
// ...}), the `record` member of a RECORD message. With a catalog, the
// schema is the one of the record's stream.
func (e *recordEncoder) fromJSON(rec []byte, c *ProtoCatalog) error {
	s := scanner{b: rec}
	if err := e.scanRecord(&s, c); err != nil {
		return err
	}
	s.ws()
	if s.i != len(rec) {
		return errors.New("record: trailing data after the object")
	}
	return nil
}

// scanRecord loads the record object at the scanner's position and leaves
// the scanner after it. The data object is converted as it is scanned when
// its schema is already known (a fixed schema, or a stream member before
// data, which is how connectors write records), so the common case reads
// the data once; otherwise it is converted after the record is scanned.
func (e *recordEncoder) scanRecord(s *scanner, c *ProtoCatalog) error {
	s.ws()
	if !s.eat('{') {
		return errors.New("record is not a JSON object")
	}
	var data, meta span
	loaded := false
	err := s.members(func(key []byte) error {
		s.ws()
		start := s.i
		switch string(key) {
		case "data":
			if e.schema == nil && c != nil && e.stream != nil {
				e.schema = c.byNamespace[string(e.namespace)][string(e.stream)]
			}
			if e.schema != nil {
				loaded = true
				err := e.scanData(s)
				data = span{start, s.i}
				return err
			}
			if err := s.skipValue(1); err != nil {
				return err
			}
			data = span{start, s.i}
			return nil
		case "namespace", "stream", "partition_id", "emitted_at":
			return e.header(s, key)
		}
		if err := s.skipValue(1); err != nil {
			return err
		}
		switch string(key) {
		case "meta":
			meta = span{start, s.i}
		case "file_reference":
			if string(s.b[start:s.i]) != "null" {
				e.stats.DroppedMembers++
			}
		default:
			e.stats.DroppedMembers++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if meta.end > 0 && string(s.b[meta.start:meta.end]) != "null" {
		e.meta = new(RecordMeta)
		if err := json.Unmarshal(s.b[meta.start:meta.end], e.meta); err != nil {
			return fmt.Errorf("record meta: %w", err)
		}
	}
	if data.end == 0 {
		return errors.New("record without data")
	}
	if c != nil {
		// The final stream and namespace decide, even if a duplicate
		// member changed them after the data was converted.
		schema := c.byNamespace[string(e.namespace)][string(e.stream)]
		if schema == nil {
			d := StreamDescriptor{Name: string(e.stream), Namespace: string(e.namespace)}
			return fmt.Errorf("record of stream %s: %w", d, ErrUnknownStream)
		}
		if schema != e.schema {
			e.schema, loaded = schema, false
		}
	}
	if loaded {
		return nil
	}
	ds := scanner{b: s.b, i: data.start}
	return e.scanData(&ds)
}

// header reads one of the record's header members. A later duplicate
// replaces an earlier one, as in encoding/json.
func (e *recordEncoder) header(s *scanner, key []byte) error {
	start := s.i
	if err := s.skipValue(1); err != nil {
		return err
	}
	val := s.b[start:s.i]
	if string(key) == "emitted_at" {
		var m Millis
		if err := m.UnmarshalJSON(val); err != nil {
			return err
		}
		if m < 0 {
			return fmt.Errorf("record emitted_at %d is negative", m)
		}
		e.emittedAt = uint64(m)
		return nil
	}
	var text []byte
	if string(val) != "null" {
		var err error
		if text, err = jsonText(val, key); err != nil {
			return err
		}
	}
	switch string(key) {
	case "namespace":
		e.namespace, e.hasNamespace = text, len(text) > 0
	case "stream":
		e.stream = text
	case "partition_id":
		e.partitionID = text
	}
	return nil
}

// jsonText returns the value of a JSON string member as UTF-8 bytes.
func jsonText(val, name []byte) ([]byte, error) {
	if len(val) == 0 || val[0] != '"' {
		return nil, fmt.Errorf("record %s is not a string", name)
	}
	if body := val[1 : len(val)-1]; bytes.IndexByte(body, '\\') < 0 {
		return body, nil // validated as UTF-8 in finish
	}
	out, ok := unquoteJSON(nil, val)
	if !ok {
		return nil, fmt.Errorf("record %s is not valid UTF-8", name)
	}
	return out, nil
}

// loadData matches the members of a data object to the schema and
// converts each value.
func (e *recordEncoder) loadData(data []byte) error {
	s := scanner{b: data}
	if err := e.scanData(&s); err != nil {
		return err
	}
	s.ws()
	if s.i != len(data) {
		return errors.New("record data: trailing bytes after the object")
	}
	return nil
}

// scanData converts the data object at the scanner's position, leaving the
// scanner after it.
func (e *recordEncoder) scanData(s *scanner) error {
	n := e.schema.Len()
	if cap(e.spans) < n {
		e.spans = make([]span, n)
		e.vals = make([]pvalue, n)
	}
	e.spans, e.vals = e.spans[:n], e.vals[:n]
	clear(e.spans)
	// Unescaped strings are never longer than the text they come from.
	if cap(e.text) < len(s.b)-s.i {
		e.text = make([]byte, 0, len(s.b)-s.i)
	}
	e.text = e.text[:0]
	s.ws()
	if !s.eat('{') {
		return errors.New("record data is not a JSON object")
	}
	// Guess each member's property from the previous record's order; a
	// string comparison is much cheaper than a map lookup.
	var guess []int32
	if p := e.schema.order.Load(); p != nil {
		guess = *p
	}
	k, learned := 0, e.order[:0]
	err := s.members(func(key []byte) error {
		s.ws()
		start := s.i
		if err := s.skipValue(2); err != nil {
			return err
		}
		i := int32(-1)
		if k < len(guess) && guess[k] >= 0 && e.schema.names[guess[k]] == string(key) {
			i = guess[k]
		} else if j, ok := e.schema.index[string(key)]; ok {
			i = int32(j)
		}
		if k >= len(guess) || guess[k] != i {
			guess = nil // the order changed: learn this one
		}
		learned = append(learned, i)
		k++
		if i >= 0 {
			e.spans[i] = span{start, s.i}
			return nil
		}
		if e.stats.DroppedFields == 0 {
			e.stats.FirstDropped = string(key)
		}
		e.stats.DroppedFields++
		return nil
	})
	e.order = learned
	if err != nil {
		return fmt.Errorf("record data: %w", err)
	}
	if guess == nil || k != len(guess) {
		o := slices.Clone(learned)
		e.schema.order.Store(&o)
	}
	for i, sp := range e.spans {
		v := &e.vals[i]
		*v = pvalue{}
		if sp.end == 0 {
			continue // missing: null
		}
		e.convert(v, e.schema.kinds[i], s.b[sp.start:sp.end])
	}
	return nil
}

// convert turns one JSON value into a protobuf value of the given kind.
func (e *recordEncoder) convert(v *pvalue, kind ValueKind, raw []byte) {
	if raw[0] == 'n' {
		return // null
	}
	if kind == KindJSON {
		v.c, v.s = fieldJSON, raw
		return
	}
	switch raw[0] {
	case '"':
		text, ok := e.unquote(raw)
		if !ok {
			e.stats.Coerced++
			v.c, v.s = fieldJSON, raw
			return
		}
		switch kind {
		case KindString:
			v.c, v.s = fieldString, text
			return
		case KindDate:
			if days, n, ok := parseDate(text); ok && n == len(text) {
				v.c, v.i = fieldDate, days
				return
			}
		case KindTimeWithoutTimezone:
			if nanos, _, has, ok := parseTimeOfDay(text); ok && !has {
				v.c, v.u = fieldTimeNoTZ, nanos
				return
			}
		case KindTimeWithTimezone:
			if nanos, off, _, ok := parseTimeOfDay(text); ok {
				v.c, v.u, v.off = fieldTimeTZ, nanos, off
				return
			}
		case KindTimestampWithoutTimezone:
			if days, nanos, _, has, ok := parseDateTime(text); ok && !has {
				v.c, v.i, v.u = fieldTimestamp, days, nanos
				return
			}
		case KindTimestampWithTimezone:
			if days, nanos, off, _, ok := parseDateTime(text); ok {
				v.c = fieldTimestampTZ
				v.i = epochSecond(days, nanos, off)
				v.nano = uint32(nanos % nanosPerSecond)
				v.off = off
				return
			}
		}
		e.stats.Coerced++
		v.c, v.s = fieldString, text
		return
	case 't', 'f':
		if kind == KindBoolean {
			v.c, v.b = fieldBoolean, raw[0] == 't'
			return
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		switch kind {
		case KindInteger:
			if isJSONInteger(raw) {
				e.integer(v, raw)
				return
			}
			e.stats.Coerced++
			e.number(v, raw)
			return
		case KindNumber:
			e.number(v, raw)
			return
		}
	}
	e.stats.Coerced++
	v.c, v.s = fieldJSON, raw
}

// unquote unescapes a JSON string into e.text.
func (e *recordEncoder) unquote(raw []byte) ([]byte, bool) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, utf8.Valid(body)
	}
	start := len(e.text)
	out, ok := unquoteJSON(e.text, raw)
	e.text = out
	return out[start:], ok
}

func (e *recordEncoder) integer(v *pvalue, raw []byte) {
	var n uint64
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) <= 19 {
		for _, c := range digits {
			n = n*10 + uint64(c-'0')
		}
		switch {
		case n == 0 && neg:
			// -0 is not an int64; keep the text so it round-trips.
		case !neg && n <= math.MaxInt64:
			v.c, v.i = fieldInteger, int64(n)
			return
		case neg && n <= 1<<63:
			v.c, v.i = fieldInteger, -int64(n-1)-1
			return
		}
	}
	v.c, v.s = fieldBigInteger, raw
}

func (e *recordEncoder) number(v *pvalue, raw []byte) {
	if f, ok := floatExact(raw, e.scratch[:]); ok {
		v.c, v.f = fieldNumber, f
		return
	}
	v.c, v.s = fieldBigDecimal, raw
}

// prepareMeta validates the meta and computes its encoded size.
func (e *recordEncoder) prepareMeta() error {
	if e.meta == nil {
		return nil
	}
	e.stats.DroppedMembers += len(e.meta.Extra)
	n := 0
	for _, c := range e.meta.Changes {
		e.stats.DroppedMembers += len(c.Extra)
		cs, err := changeSize(c)
		if err != nil {
			return err
		}
		n += 1 + protowire.SizeBytes(cs)
	}
	e.metaSize = n
	return nil
}

func changeCodes(c RecordChange) (change, reason int, err error) {
	switch c.Change {
	case ChangeNulled:
	case ChangeTruncated:
		change = 1
	default:
		return 0, 0, fmt.Errorf("record meta: unknown change %q", c.Change)
	}
	for i, r := range RecordChangeReasons {
		if r == c.Reason {
			return change, i, nil
		}
	}
	return 0, 0, fmt.Errorf("record meta: unknown change reason %q", c.Reason)
}

func changeSize(c RecordChange) (int, error) {
	change, reason, err := changeCodes(c)
	if err != nil {
		return 0, err
	}
	if !utf8.ValidString(c.Field) {
		return 0, errors.New("record meta: field is not valid UTF-8")
	}
	n := 0
	if c.Field != "" {
		n += 1 + protowire.SizeBytes(len(c.Field))
	}
	if change != 0 {
		n += 1 + protowire.SizeVarint(uint64(change))
	}
	if reason != 0 {
		n += 1 + protowire.SizeVarint(uint64(reason))
	}
	return n, nil
}

// size returns the encoded size of the record message body.
func (e *recordEncoder) size() int {
	n := 0
	if e.hasNamespace {
		n += 1 + protowire.SizeBytes(len(e.namespace))
	}
	if len(e.stream) > 0 {
		n += 1 + protowire.SizeBytes(len(e.stream))
	}
	if e.emittedAt != 0 {
		n += 1 + protowire.SizeVarint(e.emittedAt)
	}
	if len(e.partitionID) > 0 {
		n += 1 + protowire.SizeBytes(len(e.partitionID))
	}
	for i := range e.vals {
		v := &e.vals[i]
		v.sz = uint32(v.size())
		n += 1 + protowire.SizeBytes(int(v.sz))
	}
	if e.meta != nil {
		n += 1 + protowire.SizeBytes(e.metaSize)
	}
	return n
}

// appendTo writes the record message body. size must have run since the
// values last changed: it caches each value's size.
func (e *recordEncoder) appendTo(b []byte) []byte {
	if e.hasNamespace {
		b = append(b, byte(recNamespace)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.namespace)
	}
	if len(e.stream) > 0 {
		b = append(b, byte(recStream)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.stream)
	}
	if e.emittedAt != 0 {
		b = append(b, byte(recEmittedAt)<<3|byte(protowire.VarintType))
		b = appendVarint(b, e.emittedAt)
	}
	if len(e.partitionID) > 0 {
		b = append(b, byte(recPartitionID)<<3|byte(protowire.BytesType))
		b = appendBytes(b, e.partitionID)
	}
	for i := range e.vals {
		v := &e.vals[i]
		b = append(b, byte(recData)<<3|byte(protowire.BytesType))
		b = appendVarint(b, uint64(v.sz))
		b = v.appendTo(b)
	}
	if e.meta != nil {
		b = append(b, byte(recMeta)<<3|byte(protowire.BytesType))
		b = appendVarint(b, uint64(e.metaSize))
		for _, c := range e.meta.Changes {
			change, reason, _ := changeCodes(c)
			cs, _ := changeSize(c)
			b = append(b, byte(1)<<3|byte(protowire.BytesType))
			b = appendVarint(b, uint64(cs))
			if c.Field != "" {
				b = append(b, byte(1)<<3|byte(protowire.BytesType))
				b = protowire.AppendString(b, c.Field)
			}
			if change != 0 {
				b = append(b, byte(2)<<3|byte(protowire.VarintType))
				b = appendVarint(b, uint64(change))
			}
			if reason != 0 {
				b = append(b, byte(3)<<3|byte(protowire.VarintType))
				b = appendVarint(b, uint64(reason))
			}
		}
	}
	return b
}

// finish validates the header strings and the meta, which protobuf
// requires to be UTF-8.
func (e *recordEncoder) finish() error {
	if !validText(e.stream) || !validText(e.namespace) || !validText(e.partitionID) {
		return errors.New("record stream, namespace or partition_id is not valid UTF-8")
	}
	return e.prepareMeta()
}

// AppendRecordProto converts the JSON text of a record object (the
// `record` member of a RECORD message) to an AirbyteRecordMessageProtobuf
// and appends its wire bytes to dst. See the package notes above for the
// value mapping; stats reports what could not travel as is.
func (s *RecordSchema) AppendRecordProto(dst, record []byte) ([]byte, ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromJSON(record, nil); err != nil {
		return dst, e.stats, err
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	e.size() // appendTo needs the value sizes
	return e.appendTo(dst), e.stats, nil
}

// AppendRecordProtoFrom is AppendRecordProto for a decoded Record.
func (s *RecordSchema) AppendRecordProtoFrom(dst []byte, r *Record) ([]byte, ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromRecord(r); err != nil {
		return dst, e.stats, err
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	e.size() // appendTo needs the value sizes
	return e.appendTo(dst), e.stats, nil
}

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
// value starts null; Reset makes them null again. Strings are referenced,
// not copied: they must stay unchanged until the record is appended.
type RecordValues struct {
	schema *RecordSchema
	vals   []pvalue
	bad    int // 1 + the position of a string that is not valid UTF-8
}

// NewRecordValues returns an all-null record of the schema.
func (s *RecordSchema) NewRecordValues() *RecordValues {
	return &RecordValues{schema: s, vals: make([]pvalue, len(s.names))}
}

// Reset sets every value to null.
func (v *RecordValues) Reset() {
	clear(v.vals)
	v.bad = 0
}

// SetNull sets value i to null.
func (v *RecordValues) SetNull(i int) { v.vals[i] = pvalue{} }

// SetInt sets value i to an integer.
func (v *RecordValues) SetInt(i int, x int64) { v.vals[i] = pvalue{c: fieldInteger, i: x} }

// SetNumber sets value i to a double.
func (v *RecordValues) SetNumber(i int, f float64) { v.vals[i] = pvalue{c: fieldNumber, f: f} }

// SetBool sets value i to a boolean.
func (v *RecordValues) SetBool(i int, b bool) { v.vals[i] = pvalue{c: fieldBoolean, b: b} }

// SetString sets value i to a string, which must be valid UTF-8.
func (v *RecordValues) SetString(i int, s string) {
	v.SetStringBytes(i, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// SetStringBytes sets value i to a string held in s, which must be valid
// UTF-8 and stay unchanged until the record is appended.
func (v *RecordValues) SetStringBytes(i int, s []byte) {
	if v.bad == 0 && !validText(s) {
		v.bad = i + 1
	}
	v.vals[i] = pvalue{c: fieldString, s: s}
}

// SetTimestampTZ sets value i to a timestamp_with_timezone: seconds since
// the epoch, nanoseconds, and the offset from UTC in seconds.
func (v *RecordValues) SetTimestampTZ(i int, epochSecond int64, nano uint32, offsetSeconds int32) {
	v.vals[i] = pvalue{c: fieldTimestampTZ, i: epochSecond, nano: nano, off: offsetSeconds}
}

// SetJSON sets value i to JSON text (an object, an array, a union), held
// in raw, which must stay unchanged until the record is appended.
func (v *RecordValues) SetJSON(i int, raw []byte) {
	if v.bad == 0 && !utf8.Valid(raw) {
		v.bad = i + 1
	}
	v.vals[i] = pvalue{c: fieldJSON, s: raw}
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
		return dst, fmt.Errorf("record value %s is not valid UTF-8", s.names[v.bad-1])
	}
	e := recordEncoder{schema: s, vals: v.vals, hasNamespace: len(h.Namespace) > 0,
		namespace: h.Namespace, stream: h.Stream, partitionID: h.PartitionID, emittedAt: uint64(h.EmittedAt)}
	if err := e.finish(); err != nil {
		return dst, err
	}
	return appendRecordEnvelope(dst, &e, true), nil
}

// appendVarint is protowire.AppendVarint with the one-byte case inlined:
// nearly every length and small integer of a record is under 128.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// appendBytes is protowire.AppendBytes through appendVarint.
func appendBytes(b, v []byte) []byte {
	return append(appendVarint(b, uint64(len(v))), v...)
}

// validText is utf8.Valid, inlined for the short ASCII strings most values
// are.
func validText(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return utf8.Valid(b)
		}
	}
	return true
}

package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Decoding protobuf wire bytes straight to JSON text. It follows
// proto.Unmarshal's rules, so it accepts and rejects what the generated
// code does: fields in any order, unknown fields skipped, a known field
// with the wrong wire type treated as unknown, the last oneof member
// winning, repeated occurrences of a message field merged, and strings
// that are not valid UTF-8 rejected.

var (
	errBadWire     = errors.New("malformed protobuf")
	errInvalidUTF8 = errors.New("protobuf string is not valid UTF-8")
)

// wireError wraps a protowire parse failure.
func wireError(n int) error {
	return fmt.Errorf("%w: %v", errBadWire, protowire.ParseError(n))
}

// field is one parsed field of a message body.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint and fixed values
	b   []byte // bytes values
}

// nextField parses the field at the start of b and returns it and the
// bytes it used. Groups and unknown wire types are consumed whole.
func nextField(b []byte) (f field, n int, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return f, 0, wireError(n)
	}
	f.num, f.typ = num, typ
	rest := b[n:]
	var m int
	switch typ {
	case protowire.VarintType:
		f.v, m = protowire.ConsumeVarint(rest)
	case protowire.Fixed64Type:
		f.v, m = protowire.ConsumeFixed64(rest)
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(rest)
		f.v = uint64(v)
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(rest)
	default:
		m = protowire.ConsumeFieldValue(num, typ, rest)
	}
	if m < 0 {
		return f, 0, wireError(m)
	}
	return f, n + m, nil
}

// checkMessage verifies that b is a well-formed message body whose fields
// are all unknown to us (the probe message, or any skipped sub-message).
func checkMessage(b []byte) error {
	for len(b) > 0 {
		_, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// decodeValue parses an AirbyteValueProtobuf body. A value with is_null set,
// or with no member set, is null (c == 0).
func decodeValue(b []byte) (v pvalue, err error) {
	isNull := false
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return v, err
		}
		b = b[n:]
		if !valueWireType(f.num, f.typ) {
			continue // unknown: proto.Unmarshal keeps it unparsed
		}
		num := uint8(f.num)
		if num == fieldIsNull {
			isNull = f.v != 0
			continue
		}
		if v.c != num {
			v = pvalue{c: num} // switching oneof members drops the old one
		}
		switch num {
		case fieldBoolean:
			v.b = f.v != 0
		case fieldString, fieldBigInteger, fieldBigDecimal:
			if !utf8.Valid(f.b) {
				return v, errInvalidUTF8
			}
			v.s = f.b
		case fieldJSON:
			v.s = f.b
		case fieldInteger, fieldDate:
			v.i = protowire.DecodeZigZag(f.v)
		case fieldNumber:
			v.f = math.Float64frombits(f.v)
		case fieldTimeNoTZ:
			v.u = f.v
		case fieldTimeTZ, fieldTimestampTZ, fieldTimestamp:
			// Repeated occurrences of the same message member merge.
			if err := v.mergeTemporal(f.b); err != nil {
				return v, err
			}
		}
	}
	if isNull {
		return pvalue{}, nil
	}
	return v, nil
}

// valueWireType reports whether num is a field of AirbyteValueProtobuf
// arriving with its declared wire type.
func valueWireType(num protowire.Number, typ protowire.Type) bool {
	switch num {
	case fieldBoolean, fieldInteger, fieldDate, fieldTimeNoTZ, fieldIsNull:
		return typ == protowire.VarintType
	case fieldString, fieldBigInteger, fieldBigDecimal, fieldJSON,
		fieldTimeTZ, fieldTimestampTZ, fieldTimestamp:
		return typ == protowire.BytesType
	case fieldNumber:
		return typ == protowire.Fixed64Type
	}
	return false
}

// mergeTemporal parses an OffsetTime, OffsetDateTime or LocalDateTime body
// into v, whose c says which.
func (v *pvalue) mergeTemporal(b []byte) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.VarintType {
			continue
		}
		switch v.c {
		case fieldTimeTZ: // OffsetTime{uint64 nanos_of_day = 1; sint32 offset_seconds = 2}
			switch f.num {
			case 1:
				v.u = f.v
			case 2:
				v.off = int32(protowire.DecodeZigZag(f.v & math.MaxUint32))
			}
		case fieldTimestampTZ: // OffsetDateTime{sint64 epoch_second = 1; uint32 nano = 2; sint32 offset_seconds = 3}
			switch f.num {
			case 1:
				v.i = protowire.DecodeZigZag(f.v)
			case 2:
				v.nano = uint32(f.v)
			case 3:
				v.off = int32(protowire.DecodeZigZag(f.v & math.MaxUint32))
			}
		case fieldTimestamp: // LocalDateTime{sint64 date_days_since_epoch = 1; uint64 nanos_of_day = 2}
			switch f.num {
			case 1:
				v.i = protowire.DecodeZigZag(f.v)
			case 2:
				v.u = f.v
			}
		}
	}
	return nil
}

// appendValueJSON writes a non-null value as JSON.
func appendValueJSON(dst []byte, v *pvalue) ([]byte, error) {
	switch v.c {
	case fieldBoolean:
		return strconv.AppendBool(dst, v.b), nil
	case fieldString:
		return jsonscan.AppendString(dst, v.s), nil
	case fieldInteger:
		return strconv.AppendInt(dst, v.i, 10), nil
	case fieldBigInteger, fieldBigDecimal:
		if isJSONNumber(v.s) {
			return append(dst, v.s...), nil
		}
		return jsonscan.AppendString(dst, v.s), nil
	case fieldNumber:
		switch {
		case math.IsNaN(v.f):
			return append(dst, `"NaN"`...), nil
		case math.IsInf(v.f, 1):
			return append(dst, `"Infinity"`...), nil
		case math.IsInf(v.f, -1):
			return append(dst, `"-Infinity"`...), nil
		}
		return appendFloatJSON(dst, v.f), nil
	case fieldDate:
		dst = append(dst, '"')
		dst, err := appendDate(dst, v.i)
		return append(dst, '"'), err
	case fieldTimeNoTZ:
		dst = append(dst, '"')
		dst, err := appendClock(dst, v.u)
		return append(dst, '"'), err
	case fieldTimeTZ:
		dst = append(dst, '"')
		dst, err := appendClock(dst, v.u)
		if err != nil {
			return dst, err
		}
		dst, err = appendOffset(dst, v.off)
		return append(dst, '"'), err
	case fieldTimestamp:
		if v.u >= nanosPerDay {
			return dst, errTemporalRange
		}
		dst = append(dst, '"')
		dst, err := appendDate(dst, v.i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, 'T')
		dst, err = appendClock(dst, v.u)
		return append(dst, '"'), err
	case fieldTimestampTZ:
		dst = append(dst, '"')
		dst, err := appendOffsetDateTime(dst, v.i, v.nano, v.off)
		return append(dst, '"'), err
	case fieldJSON:
		return appendRawJSON(dst, v.s)
	}
	return dst, fmt.Errorf("unknown value member %d", v.c)
}

// appendRawJSON appends JSON text received from the wire after checking
// that it is exactly one JSON value, so a bad payload cannot corrupt the
// line around it. Text spread over several lines is compacted: the result
// must fit on one JSONL line.
func appendRawJSON(dst, raw []byte) ([]byte, error) {
	s := jsonscan.Scanner{Buf: raw}
	if err := s.SkipValue(0); err != nil {
		return dst, fmt.Errorf("json value: %v", err)
	}
	s.SkipSpace()
	if s.Pos != len(raw) {
		return dst, errors.New("json value: trailing data")
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, jsonscan.TrimSpace(raw)...), nil
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, fmt.Errorf("json value: %v", err)
	}
	return buf.Bytes(), nil
}

// recordDecoder collects a record's fields before writing them, because the
// JSON layout puts them in a fixed order whatever the wire order is.
type recordDecoder struct {
	hasNamespace bool
	namespace    []byte
	stream       []byte
	emittedAt    uint64
	partitionID  []byte
	values       [][]byte
	metas        [][]byte
	hasMeta      bool
}

var decoderPool = sync.Pool{New: func() any { return new(recordDecoder) }}

func (d *recordDecoder) reset() {
	clear(d.values)
	clear(d.metas)
	*d = recordDecoder{values: d.values[:0], metas: d.metas[:0]}
}

// merge parses one record body; repeated bodies merge as proto does.
func (d *recordDecoder) merge(b []byte) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ == protowire.BytesType && (f.num == recNamespace || f.num == recStream || f.num == recPartitionID) && !utf8.Valid(f.b) {
			return errInvalidUTF8 // checked per occurrence, as proto does
		}
		switch {
		case f.num == recNamespace && f.typ == protowire.BytesType:
			d.hasNamespace, d.namespace = true, f.b
		case f.num == recStream && f.typ == protowire.BytesType:
			d.stream = f.b
		case f.num == recEmittedAt && f.typ == protowire.VarintType:
			d.emittedAt = f.v
		case f.num == recPartitionID && f.typ == protowire.BytesType:
			d.partitionID = f.b
		case f.num == recData && f.typ == protowire.BytesType:
			d.values = append(d.values, f.b)
		case f.num == recMeta && f.typ == protowire.BytesType:
			d.hasMeta = true
			d.metas = append(d.metas, f.b)
		}
	}
	return nil
}

// validate checks what proto.Unmarshal checks in a record that will not be
// written: that every value and meta change parses and that their strings
// are UTF-8. It is used when a later oneof member replaces the record.
func (d *recordDecoder) validate() error {
	for _, v := range d.values {
		if _, err := decodeValue(v); err != nil {
			return err
		}
	}
	for _, m := range d.metas {
		for len(m) > 0 {
			f, n, err := nextField(m)
			if err != nil {
				return err
			}
			m = m[n:]
			if f.num != 1 || f.typ != protowire.BytesType {
				continue
			}
			for c := f.b; len(c) > 0; {
				g, n, err := nextField(c)
				if err != nil {
					return err
				}
				c = c[n:]
				if g.num == 1 && g.typ == protowire.BytesType && !utf8.Valid(g.b) {
					return errInvalidUTF8
				}
			}
		}
	}
	return nil
}

// appendJSON writes the record object in the field order of Record's
// MarshalJSON.
func (d *recordDecoder) appendJSON(dst []byte, s *RecordSchema) ([]byte, error) {
	if len(d.values) > s.Len() {
		return dst, fmt.Errorf("%w: %d values for %d properties", errSchemaMismatch, len(d.values), s.Len())
	}
	dst = append(dst, '{')
	if d.hasNamespace && len(d.namespace) > 0 {
		dst = append(dst, `"namespace":`...)
		dst = jsonscan.AppendString(dst, d.namespace)
		dst = append(dst, ',')
	}
	dst = append(dst, `"stream":`...)
	dst = jsonscan.AppendString(dst, d.stream)
	dst = append(dst, `,"data":{`...)
	first := true
	for i, raw := range d.values {
		v, err := decodeValue(raw)
		if err != nil {
			return dst, fmt.Errorf("value of %q: %w", s.names[i], err)
		}
		if v.c == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, s.keys[i]...)
		if dst, err = appendValueJSON(dst, &v); err != nil {
			return dst, fmt.Errorf("value of %q: %w", s.names[i], err)
		}
	}
	dst = append(dst, `},"emitted_at":`...)
	dst = strconv.AppendUint(dst, d.emittedAt, 10)
	if d.hasMeta {
		var err error
		if dst, err = d.appendMeta(dst); err != nil {
			return dst, err
		}
	}
	if len(d.partitionID) > 0 {
		dst = append(dst, `,"partition_id":`...)
		dst = jsonscan.AppendString(dst, d.partitionID)
	}
	return append(dst, '}'), nil
}

// appendMeta writes ,"meta":{...} from the merged meta bodies.
func (d *recordDecoder) appendMeta(dst []byte) ([]byte, error) {
	dst = append(dst, `,"meta":{`...)
	n := 0
	for _, m := range d.metas {
		for len(m) > 0 {
			f, used, err := nextField(m)
			if err != nil {
				return dst, err
			}
			m = m[used:]
			if f.num != 1 || f.typ != protowire.BytesType {
				continue
			}
			if n == 0 {
				dst = append(dst, `"changes":[`...)
			} else {
				dst = append(dst, ',')
			}
			n++
			if dst, err = appendChange(dst, f.b); err != nil {
				return dst, err
			}
		}
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// appendChange writes one AirbyteRecordMessageMetaChange as JSON.
func appendChange(dst, b []byte) ([]byte, error) {
	var fieldName []byte
	var change, reason uint64
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return dst, err
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			if !utf8.Valid(f.b) {
				return dst, errInvalidUTF8
			}
			fieldName = f.b
		case f.num == 2 && f.typ == protowire.VarintType:
			change = f.v
		case f.num == 3 && f.typ == protowire.VarintType:
			reason = f.v
		}
	}
	// Enums are int32 on the wire: negative values are sign-extended.
	if change > 1 {
		return dst, fmt.Errorf("record meta: unknown change type %d", int32(change))
	}
	if reason >= uint64(len(protocol.RecordChangeReasons)) {
		return dst, fmt.Errorf("record meta: unknown change reason %d", int32(reason))
	}
	dst = append(dst, `{"field":`...)
	dst = jsonscan.AppendString(dst, fieldName)
	dst = append(dst, `,"change":`...)
	if change == 0 {
		dst = append(dst, `"NULLED"`...)
	} else {
		dst = append(dst, `"TRUNCATED"`...)
	}
	dst = append(dst, `,"reason":`...)
	dst = jsonscan.AppendString(dst, protocol.RecordChangeReasons[reason])
	return append(dst, '}'), nil
}

// AppendRecordJSON decodes the wire bytes of an AirbyteRecordMessageProtobuf
// and appends the JSON text of the record object ({"stream":...,"data":...}).
// Values are named by the schema's properties in order; see the package
// documentation for the normalizations.
func (s *RecordSchema) AppendRecordJSON(dst, record []byte) ([]byte, error) {
	d := decoderPool.Get().(*recordDecoder)
	defer func() { d.reset(); decoderPool.Put(d) }()
	d.reset()
	if err := d.merge(record); err != nil {
		return dst, err
	}
	return d.appendJSON(dst, s)
}

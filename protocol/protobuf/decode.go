package protobuf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

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
	// errBadExtension reports a Ferry extension (extension.go) that is not
	// what Ferry's encoder writes.
	errBadExtension = errors.New("malformed Ferry extension")
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
	// Nearly every field has a one-byte tag (numbers 1-15) and a one-byte
	// varint or length: read those without the general decoding.
	if len(b) >= 2 && b[0] >= 1<<3 && b[0] < 0x80 {
		f.num, f.typ = protowire.Number(b[0]>>3), protowire.Type(b[0]&7)
		switch f.typ {
		case protowire.VarintType:
			if b[1] < 0x80 {
				f.v = uint64(b[1])
				return f, 2, nil
			}
			if v, m := protowire.ConsumeVarint(b[1:]); m > 0 {
				f.v = v
				return f, 1 + m, nil
			}
		case protowire.BytesType:
			if end := 2 + int(b[1]); b[1] < 0x80 && end <= len(b) {
				f.b = b[2:end]
				return f, end, nil
			}
		case protowire.Fixed64Type:
			if len(b) >= 9 {
				f.v = binary.LittleEndian.Uint64(b[1:])
				return f, 9, nil
			}
		}
	}
	return nextFieldSlow(b)
}

// nextFieldSlow is nextField for any field.
func nextFieldSlow(b []byte) (f field, n int, err error) {
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

// decodeValue parses an AirbyteValueProtobuf body. A value with is_null
// set, or with no member set, is null (c == valNull), unless Ferry's
// absent marker says the record does not have the property (c == 0).
func decodeValue(b []byte) (v pvalue, err error) {
	isNull, absent := false, false
	var form TextForm
	var text []byte
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return v, err
		}
		b = b[n:]
		switch {
		case f.num == extAbsent && f.typ == protowire.VarintType:
			absent = f.v != 0
			continue
		case f.num == extForm && f.typ == protowire.VarintType:
			form = 0 // a form with bits Ferry does not write is not Ferry's
			if f.v&^uint64(formAll) == 0 {
				form = TextForm(f.v)
			}
			continue
		case f.num == extText && f.typ == protowire.BytesType:
			text = f.b
			continue
		case !valueWireType(f.num, f.typ):
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
	if isNull || v.c == 0 {
		if absent {
			return pvalue{}, nil
		}
		return pvalue{c: valNull}, nil
	}
	v.form, v.text = form, text
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
	t := temporal{i: v.i, u: v.u, nano: v.nano, off: v.off}
	err := t.merge(v.c, b)
	v.i, v.u, v.nano, v.off = t.i, t.u, t.nano, t.off
	return err
}

// temporal holds the fields of a temporal sub-message, named as pvalue's.
type temporal struct {
	i    int64
	u    uint64
	nano uint32
	off  int32
}

// merge parses the body of temporal member c into t; fields it lacks keep
// their value, as proto merges.
func (t *temporal) merge(c uint8, b []byte) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ != protowire.VarintType {
			continue
		}
		switch c {
		case fieldTimeTZ: // OffsetTime{uint64 nanos_of_day = 1; sint32 offset_seconds = 2}
			switch f.num {
			case 1:
				t.u = f.v
			case 2:
				t.off = int32(protowire.DecodeZigZag(f.v & math.MaxUint32))
			}
		case fieldTimestampTZ: // OffsetDateTime{sint64 epoch_second = 1; uint32 nano = 2; sint32 offset_seconds = 3}
			switch f.num {
			case 1:
				t.i = protowire.DecodeZigZag(f.v)
			case 2:
				t.nano = uint32(f.v)
			case 3:
				t.off = int32(protowire.DecodeZigZag(f.v & math.MaxUint32))
			}
		case fieldTimestamp: // LocalDateTime{sint64 date_days_since_epoch = 1; uint64 nanos_of_day = 2}
			switch f.num {
			case 1:
				t.i = protowire.DecodeZigZag(f.v)
			case 2:
				t.u = f.v
			}
		}
	}
	return nil
}

// appendValueJSON writes a value that is present (not c == 0) as JSON.
func appendValueJSON(dst []byte, v *pvalue) ([]byte, error) {
	switch v.c {
	case valNull:
		return append(dst, "null"...), nil
	case fieldBoolean:
		return strconv.AppendBool(dst, v.b), nil
	case fieldString:
		if v.text != nil && sameString(dst[len(dst):], v.text, v.s) {
			return append(dst, v.text...), nil
		}
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
		dst, err := appendClock(dst, v.u, v.form)
		return append(dst, '"'), err
	case fieldTimeTZ:
		dst = append(dst, '"')
		dst, err := appendClock(dst, v.u, v.form)
		if err != nil {
			return dst, err
		}
		dst, err = appendOffset(dst, v.off, v.form)
		return append(dst, '"'), err
	case fieldTimestamp:
		if v.u >= nanosPerDay {
			return dst, errTemporalRange
		}
		dst = append(dst, '"')
		dst, err := appendLocalDateTime(dst, v.i, v.u, v.form)
		return append(dst, '"'), err
	case fieldTimestampTZ:
		dst = append(dst, '"')
		dst, err := appendOffsetDateTime(dst, v.i, v.nano, v.off, v.form)
		return append(dst, '"'), err
	case fieldJSON:
		return appendRawJSON(dst, v.s)
	}
	return dst, fmt.Errorf("unknown value member %d", v.c)
}

// sameString reports whether q is exactly one JSON string whose value is
// s: the check that a string's kept text (extension.go) still spells the
// string it travels with. It unescapes into scratch's spare capacity.
func sameString(scratch, q, s []byte) bool {
	sc := jsonscan.Scanner{Buf: q}
	if len(q) < 2 || q[0] != '"' {
		return false
	}
	if _, err := sc.SkipString(); err != nil || sc.Pos != len(q) {
		return false
	}
	u, ok := jsonscan.Unquote(scratch[:0], q)
	return ok && string(u) == string(s)
}

// appendRawJSON appends JSON text received from the wire after checking
// that it is exactly one JSON value, so a bad payload cannot corrupt the
// line around it. Text spread over several lines is compacted: the result
// must fit on one JSONL line.
func appendRawJSON(dst, raw []byte) ([]byte, error) {
	s := jsonscan.Scanner{Buf: raw}
	if err := s.Skip(0); err != nil {
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

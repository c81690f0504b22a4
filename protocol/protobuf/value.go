package protobuf

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ConvertStats reports what a JSON-to-protobuf conversion carried in a way
// only a Ferry decoder reads back exactly. Nothing is lost and none of it
// is an error, but an Airbyte destination would not see it as the source
// wrote it, so callers say so in the log (sampled).
type ConvertStats struct {
	// ExtraFields counts top-level data members that are not properties of
	// the stream's schema. Values are positional, so they travel in Ferry's
	// extension (extension.go), which Airbyte's destinations ignore.
	ExtraFields int
	// FirstExtra names the first of them, for the log.
	FirstExtra string
	// Coerced counts values whose JSON type does not fit their property's
	// kind. They travel as `string` or `json`, so a Ferry decoder gets them
	// back unchanged, but an Airbyte destination reads them as null.
	Coerced int
	// ExtraMembers counts record members protobuf has no field for
	// (file_reference, undeclared members, a meta it cannot hold exactly):
	// they travel in Ferry's extension too.
	ExtraMembers int
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

// valNull is the value case of a JSON null: is_null on the wire. The zero
// case, 0, is a property the record does not have at all (extension.go).
const valNull = fieldIsNull

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
// field number, valNull for a JSON null, or 0 for a member the record does
// not have. Which other fields are used depends on c.
type pvalue struct {
	c    uint8
	b    bool
	i    int64  // integer, date, epoch_second, date_days_since_epoch
	u    uint64 // nanos of day
	f    float64
	nano uint32
	off  int32
	s    []byte // string, big_integer, big_decimal, json
	// form says how a date or time value was written (form.go); 0 is the
	// canonical form.
	form TextForm
	// text is a string's exact JSON text, kept when its escapes differ
	// from the ones Ferry's decoder would write; nil otherwise.
	text []byte
}

// appendTo writes the value's message body, in field-number order, as
// proto.Marshal does: Airbyte's members, then Ferry's extensions.
func (v *pvalue) appendTo(b []byte) []byte {
	return v.appendExt(v.appendMember(b))
}

// appendMember writes the value's members of Airbyte's schema.
func (v *pvalue) appendMember(b []byte) []byte {
	switch v.c {
	case valNull:
		return append(b, fieldIsNull<<3|byte(protowire.VarintType), 1)
	case 0:
		b = append(b, fieldIsNull<<3|byte(protowire.VarintType), 1)
		return appendAbsent(b)
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
	// A temporal sub-message, at most 33 bytes (three varints and their
	// tags): its one-byte length is set once it is written.
	b = append(b, v.c<<3|byte(protowire.BytesType), 0)
	at := len(b)
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
	b[at-1] = byte(len(b) - at)
	return b
}

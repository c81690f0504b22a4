package protobuf

import (
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Writing a value's JSON straight from its wire bytes. Ferry's encoder, and
// any proto.Marshal, sends one oneof member per value, so one pass over the
// body finds everything the text needs: the member's payload stays where it
// is in the message and numbers go from the wire to the output. A body with
// more than one member occurrence (a later member replacing an earlier one,
// or message members that proto merges) is rare and keeps the general path,
// decodeValue and appendValueJSON, whose output this matches byte for byte
// (TestDirectValueMatches, FuzzDirectValue).

// directValue is what one pass over a value body found. The member's
// payload is kept as wire bytes (b) or the raw varint or fixed word (v);
// a temporal sub-message is read where it occurs.
type directValue struct {
	c      uint8 // member number, as pvalue.c; 0 when none
	n      int   // member occurrences
	isNull bool
	absent bool
	form   TextForm
	v      uint64
	b      []byte
	text   []byte
	t      temporal // a temporal member's fields
}

// appendValue writes the JSON text of an AirbyteValueProtobuf body. present
// is false for a property the record does not have (Ferry's absent
// marker); nothing is written then.
func appendValue(dst, body []byte) (out []byte, present bool, err error) {
	if out, ok := appendValueFast(dst, body); ok {
		return out, true, nil
	}
	if string(body) == absentBody {
		return dst, false, nil // what the walk finds for Ferry's marker
	}
	return appendValueWalk(dst, body)
}

// absentBody is the body Ferry's encoder writes for a property the record
// does not have: is_null, then the absent marker (pvalue.appendMember).
var absentBody = string(appendAbsent([]byte{fieldIsNull<<3 | byte(protowire.VarintType), 1}))

// appendValueWalk is appendValue for any body.
func appendValueWalk(dst, body []byte) (out []byte, present bool, err error) {
	var d directValue
	for b := body; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return dst, false, err
		}
		b = b[n:]
		switch {
		case f.num == extAbsent && f.typ == protowire.VarintType:
			d.absent = f.v != 0
		case f.num == extForm && f.typ == protowire.VarintType:
			d.form = 0 // a form with bits Ferry does not write is not Ferry's
			if f.v&^uint64(formAll) == 0 {
				d.form = TextForm(f.v)
			}
		case f.num == extText && f.typ == protowire.BytesType:
			d.text = f.b
		case !valueWireType(f.num, f.typ):
			// unknown: proto.Unmarshal keeps it unparsed
		case f.num == fieldIsNull:
			d.isNull = f.v != 0
		default:
			d.c, d.n, d.v, d.b = uint8(f.num), d.n+1, f.v, f.b
			// Checked where they occur, so that the first error in the
			// body is the one reported, as on the general path.
			if err := d.check(); err != nil {
				return dst, false, err
			}
		}
	}
	if d.n > 1 {
		return appendValueGeneral(dst, body)
	}
	return d.appendJSON(dst)
}

// appendValueGeneral is the path of bodies with several members.
func appendValueGeneral(dst, body []byte) ([]byte, bool, error) {
	v, err := decodeValue(body)
	if err != nil || v.c == 0 {
		return dst, false, err
	}
	dst, err = appendValueJSON(dst, &v)
	return dst, true, err
}

// check verifies a member as decodeValue does, whether it is written or
// not: strings are UTF-8, and a temporal sub-message parses (into d.t).
func (d *directValue) check() error {
	switch d.c {
	case fieldString, fieldBigInteger, fieldBigDecimal:
		if !utf8.Valid(d.b) {
			return errInvalidUTF8
		}
	case fieldTimeTZ, fieldTimestampTZ, fieldTimestamp:
		d.t = temporal{}
		return d.t.merge(d.c, d.b)
	}
	return nil
}

// appendJSON writes the value found.
func (d *directValue) appendJSON(dst []byte) ([]byte, bool, error) {
	if d.isNull || d.c == 0 {
		if d.absent {
			return dst, false, nil
		}
		return append(dst, "null"...), true, nil
	}
	var err error
	switch d.c {
	case fieldBoolean:
		dst = strconv.AppendBool(dst, d.v != 0)
	case fieldString:
		if d.text != nil && sameString(dst[len(dst):], d.text, d.b) {
			dst = append(dst, d.text...)
		} else {
			dst = jsonscan.AppendString(dst, d.b)
		}
	case fieldInteger:
		dst = strconv.AppendInt(dst, protowire.DecodeZigZag(d.v), 10)
	case fieldBigInteger, fieldBigDecimal:
		if isJSONNumber(d.b) {
			dst = append(dst, d.b...)
		} else {
			dst = jsonscan.AppendString(dst, d.b)
		}
	case fieldNumber:
		dst = appendNumberJSON(dst, math.Float64frombits(d.v))
	case fieldJSON:
		dst, err = appendRawJSON(dst, d.b)
	default:
		dst, err = d.appendTemporal(append(dst, '"'))
		dst = append(dst, '"')
	}
	return dst, true, err
}

// appendNumberJSON writes a double; JSON has no NaN or infinities, so
// those are strings.
func appendNumberJSON(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return appendFloatJSON(dst, f)
}

// appendTemporal writes a date or time member's text, without quotes.
func (d *directValue) appendTemporal(dst []byte) ([]byte, error) {
	switch d.c {
	case fieldDate:
		return appendDate(dst, protowire.DecodeZigZag(d.v))
	case fieldTimeNoTZ:
		return appendClock(dst, d.v, d.form)
	}
	t := &d.t
	switch d.c {
	case fieldTimeTZ:
		dst, err := appendClock(dst, t.u, d.form)
		if err != nil {
			return dst, err
		}
		return appendOffset(dst, t.off, d.form)
	case fieldTimestamp:
		if t.u >= nanosPerDay {
			return dst, errTemporalRange
		}
		return appendLocalDateTime(dst, t.i, t.u, d.form)
	}
	return appendOffsetDateTime(dst, t.i, t.nano, t.off, d.form)
}

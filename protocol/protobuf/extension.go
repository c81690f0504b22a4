package protobuf

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Ferry's extensions of Airbyte's schema (docs/protocol.md 5.5, and
// docs/fidelity.md for why). Airbyte's record carries values, not the JSON
// text the source wrote: a property the record lacks and one that is null
// are both is_null, +00:00 and Z are one offset, and data members outside
// the stream's schema have no position at all. So that a destination gets
// the same fields with the same values and text in every mode, the encoder
// adds what the schema cannot say as fields Airbyte's schema does not
// declare. Protobuf parsers skip fields they do not know, so an Airbyte
// destination reads the record as before; Ferry's decoder reads them back.
// The numbers are far above Airbyte's (1 to 13) and below 2048, where a
// tag still fits two bytes.
//
// In AirbyteValueProtobuf:
//
//	2001 varint  the property is absent from the record; is_null is set
//	             as well, so Airbyte reads a null (an empty value would
//	             read as "" or 0 with the is_null schema)
//	2002 varint  the TextForm of a date or time value, when not canonical
//	2003 bytes   a string's exact JSON text, when its escapes differ from
//	             the ones the decoder writes (\u00e9 for é, \/ for /)
//
// In AirbyteRecordMessageProtobuf:
//
//	2001 bytes   a JSON object: the data members that are not properties
//	             of the stream's schema, as the source wrote them, in order
//	2002 bytes   packed varints: the order of the record's data members,
//	             when it is not the default one (the properties in the
//	             order json_schema declares them, then the members of 2001).
//	             Entry k < n (the number of properties) is property k in
//	             wire order; n + j is member j of 2001
//	2003 bytes   a JSON object: record members protobuf has no field for
//	             (file_reference, undeclared members), and a meta the
//	             typed one cannot hold exactly
//
// A decoder without the extensions (Airbyte's) sees what the schema holds;
// one with them checks each against the typed value, so a stray or
// foreign extension never changes what a value means.
const (
	extAbsent = 2001
	extForm   = 2002
	extText   = 2003

	extExtraData    = 2001
	extOrder        = 2002
	extExtraMembers = 2003
)

// appendAbsent writes the absent marker.
func appendAbsent(b []byte) []byte {
	b = protowire.AppendTag(b, extAbsent, protowire.VarintType)
	return append(b, 1)
}

// appendExt writes a value's extensions, in field-number order.
func (v *pvalue) appendExt(b []byte) []byte {
	if v.form != 0 {
		b = protowire.AppendTag(b, extForm, protowire.VarintType)
		b = appendVarint(b, uint64(v.form))
	}
	if v.text != nil {
		b = protowire.AppendTag(b, extText, protowire.BytesType)
		b = appendBytes(b, v.text)
	}
	return b
}

// appendRecordExt writes a record's extensions, in field-number order.
func (e *recordEncoder) appendRecordExt(b []byte) []byte {
	for i, f := range [...][]byte{e.extra, e.orderExt, e.recExtra} {
		if len(f) > 0 {
			b = protowire.AppendTag(b, protowire.Number(extExtraData+i), protowire.BytesType)
			b = appendBytes(b, f)
		}
	}
	return b
}

// addExtra adds a data member that is not a property to the extra object,
// as its raw key and value text.
func (e *recordEncoder) addExtra(rawKey, val []byte) {
	e.extra = addMember(e.extra, rawKey, val)
}

// addMember adds "key":value to the JSON object obj, which is empty or
// a whole object.
func addMember(obj, rawKey, val []byte) []byte {
	if len(obj) == 0 {
		obj = append(obj, '{')
	} else {
		obj[len(obj)-1] = ',' // the '}'
	}
	obj = append(obj, rawKey...)
	obj = append(obj, ':')
	obj = append(obj, val...)
	return append(obj, '}')
}

// buildOrder sets e.orderExt from the data members' order (e.order: the
// property index of each member, -1 for one that is not a property),
// unless it is the default order, which the decoder assumes without it.
func (e *recordEncoder) buildOrder() {
	e.orderExt = e.orderExt[:0]
	rank, last, extras := e.schema.rank, int32(-1), false
	def := true
	for _, i := range e.order {
		if i < 0 {
			extras = true
			continue
		}
		if extras || rank[i] <= last {
			def = false
			break
		}
		last = rank[i]
	}
	if def {
		return
	}
	n, j := uint64(e.schema.Len()), uint64(0)
	for _, i := range e.order {
		if i >= 0 {
			e.orderExt = appendVarint(e.orderExt, uint64(i))
			continue
		}
		e.orderExt = appendVarint(e.orderExt, n+j)
		j++
	}
}

// rawMember is one member of a JSON object: its key and value as written.
type rawMember struct{ key, val []byte }

// objectMembers appends the members of the JSON object obj to out. Keys
// keep their text (quotes and escapes), so they are written back exactly.
func objectMembers(out []rawMember, obj []byte) ([]rawMember, error) {
	s := jsonscan.Scanner{Buf: obj}
	s.SkipSpace()
	if !s.Eat('{') {
		return out, errBadExtension
	}
	prev := s.Pos
	err := s.Members(func([]byte) error {
		key := rawKey(s.Buf[prev:s.Pos])
		s.SkipSpace()
		start := s.Pos
		if err := s.Skip(1); err != nil {
			return err
		}
		out = append(out, rawMember{key: key, val: s.Buf[start:s.Pos]})
		prev = s.Pos
		return nil
	})
	if err != nil {
		return out, errBadExtension
	}
	s.SkipSpace()
	if s.Pos != len(obj) {
		return out, errBadExtension
	}
	return out, nil
}

// rawKey returns the quoted key in seg, the text from the end of the
// previous member (or the object's '{') to just after the key's ':'.
func rawKey(seg []byte) []byte {
	i, j := 0, len(seg)-1 // seg[j] is the ':'
	for i < j && seg[i] != '"' {
		i++ // whitespace and the ','
	}
	for j > i && seg[j] != '"' {
		j-- // the ':' and whitespace before it
	}
	return seg[i : j+1]
}

package protobuf

import (
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// tagRecData is the one-byte tag of a record's data values.
const tagRecData = recData<<3 | byte(protowire.BytesType)

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
	// Ferry's extensions (extension.go); a later occurrence replaces an
	// earlier one, as for any bytes field.
	extra, order, recExtra []byte

	// spans locates data, emitted_at and meta in the line appendJSON
	// writes, relative to base, the offset where the line starts.
	spans protocol.RecordSpans
	base  int

	// Scratch reused across records.
	members, extras []rawMember
	written         []bool
	// The last emitted_at written and its text: records of one batch
	// mostly share it.
	lastAt     uint64
	lastAtText []byte
	// last is the schema of the last record's stream (record_fast.go).
	last lastSchema
}

var decoderPool = sync.Pool{New: func() any { return new(recordDecoder) }}

// reset forgets the last record, keeping the scratch. It sets the
// fields one by one: assigning a whole new struct copies all of it, with
// its pointers, for every record.
func (d *recordDecoder) reset() {
	clear(d.values)
	clear(d.metas)
	clear(d.members[:cap(d.members)])
	clear(d.extras[:cap(d.extras)])
	d.hasNamespace, d.namespace, d.stream, d.emittedAt, d.partitionID = false, nil, nil, 0, nil
	d.values, d.metas, d.hasMeta = d.values[:0], d.metas[:0], false
	d.extra, d.order, d.recExtra = nil, nil, nil
	d.spans, d.base = protocol.RecordSpans{}, 0
	d.members, d.extras = d.members[:0], d.extras[:0]
}

// merge parses one record body; repeated bodies merge as proto does.
func (d *recordDecoder) merge(b []byte) error {
	for len(b) > 0 {
		// Values come in a run, each nearly always under 128 bytes:
		// take them without the general field decoding.
		for len(b) >= 2 && b[0] == tagRecData && b[1] < 0x80 && 2+int(b[1]) <= len(b) {
			n := 2 + int(b[1])
			d.values = append(d.values, b[2:n])
			b = b[n:]
		}
		if len(b) == 0 {
			break
		}
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
		case f.num == extExtraData && f.typ == protowire.BytesType:
			d.extra = f.b
		case f.num == extOrder && f.typ == protowire.BytesType:
			d.order = f.b
		case f.num == extExtraMembers && f.typ == protowire.BytesType:
			d.recExtra = f.b
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
// MarshalJSON, then the members Ferry's extension carried.
func (d *recordDecoder) appendJSON(dst []byte, s *RecordSchema) ([]byte, error) {
	if len(d.values) > s.Len() {
		return dst, fmt.Errorf("%w: %d values for %d properties", errSchemaMismatch, len(d.values), s.Len())
	}
	var members []rawMember
	if len(d.recExtra) > 0 {
		var err error
		if members, err = objectMembers(d.members[:0], d.recExtra); err != nil {
			return dst, fmt.Errorf("record members: %w", err)
		}
		d.members = members[:0]
	}
	// A meta kept as text replaces the typed one, which cannot hold it.
	typedMeta := d.hasMeta
	for _, m := range members {
		if string(m.key) == `"meta"` {
			typedMeta = false
		}
	}
	dst = append(dst, '{')
	if d.hasNamespace && len(d.namespace) > 0 {
		dst = append(dst, `"namespace":`...)
		dst = jsonscan.AppendString(dst, d.namespace)
		dst = append(dst, ',')
	}
	dst = append(dst, `"stream":`...)
	dst = jsonscan.AppendString(dst, d.stream)
	dst = append(dst, `,"data":`...)
	start := len(dst)
	dst, err := d.appendData(dst, s)
	if err != nil {
		return dst, err
	}
	d.spans.Data = protocol.Span{Start: start - d.base, End: len(dst) - d.base}
	dst = append(dst, `,"emitted_at":`...)
	start = len(dst)
	if d.emittedAt != d.lastAt || d.lastAtText == nil {
		d.lastAt, d.lastAtText = d.emittedAt, strconv.AppendUint(d.lastAtText[:0], d.emittedAt, 10)
	}
	dst = append(dst, d.lastAtText...)
	d.spans.EmittedAt = protocol.Span{Start: start - d.base, End: len(dst) - d.base}
	if typedMeta {
		start = len(dst) + len(`,"meta":`)
		if dst, err = d.appendMeta(dst); err != nil {
			return dst, err
		}
		d.spans.Meta = protocol.Span{Start: start - d.base, End: len(dst) - d.base}
	}
	// A meta kept as text is written with the other members below, where
	// its place is not noted.
	d.spans.Valid = typedMeta == d.hasMeta
	if len(d.partitionID) > 0 {
		dst = append(dst, `,"partition_id":`...)
		dst = jsonscan.AppendString(dst, d.partitionID)
	}
	for _, m := range members {
		switch string(m.key) {
		case `"namespace"`, `"stream"`, `"data"`, `"emitted_at"`, `"partition_id"`:
			continue // written above: a duplicate would be ambiguous
		}
		dst = append(dst, ',')
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		if dst, err = appendRawJSON(dst, m.val); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendData writes the data object: the properties the record has, and
// the members outside the schema, in the order the record gives or else
// the default one (extension.go).
func (d *recordDecoder) appendData(dst []byte, s *RecordSchema) ([]byte, error) {
	w := dataWriter{dst: append(dst, '{'), first: true, s: s, d: d}
	if len(d.extra) > 0 {
		var err error
		if w.extras, err = objectMembers(d.extras[:0], d.extra); err != nil {
			return dst, fmt.Errorf("data members outside the schema: %w", err)
		}
		d.extras = w.extras[:0]
	}
	n := s.Len()
	if len(d.order) > 0 {
		// Entries may repeat or miss some members: write each once, and
		// the missing ones after, in the default order.
		if cap(d.written) < n+len(w.extras) {
			d.written = make([]bool, n+len(w.extras))
		}
		w.written = d.written[:n+len(w.extras)]
		clear(w.written)
	}
	for o := d.order; len(o) > 0; {
		k, used := protowire.ConsumeVarint(o)
		if used < 0 {
			return dst, fmt.Errorf("data member order: %w", errBadExtension)
		}
		o = o[used:]
		if k < uint64(n+len(w.extras)) {
			if err := w.member(int(k)); err != nil {
				return dst, err
			}
		}
	}
	for _, k := range s.decl {
		if err := w.member(int(k)); err != nil {
			return dst, err
		}
	}
	for j := range w.extras {
		if err := w.member(n + j); err != nil {
			return dst, err
		}
	}
	return append(w.dst, '}'), nil
}

// dataWriter writes the members of one data object.
type dataWriter struct {
	dst     []byte
	first   bool
	s       *RecordSchema
	d       *recordDecoder
	extras  []rawMember // the members outside the schema
	written []bool      // with an order: the members written so far
}

// member writes member k: property k (in wire order) below the number of
// properties, else the extra member k less that.
func (w *dataWriter) member(k int) error {
	if w.written != nil {
		if w.written[k] {
			return nil
		}
		w.written[k] = true
	}
	n := w.s.Len()
	if k >= n {
		m := w.extras[k-n]
		w.sep()
		w.dst = append(w.dst, m.key...)
		w.dst = append(w.dst, ':')
		var err error
		w.dst, err = appendRawJSON(w.dst, m.val) // on one line
		return err
	}
	var raw []byte
	if k < len(w.d.values) {
		raw = w.d.values[k]
	}
	// The key goes first; a value the record does not have takes it back.
	mark, first := len(w.dst), w.first
	key := w.s.keys[k]
	if first {
		key, w.first = key[1:], false
	}
	w.dst = append(w.dst, key...)
	dst, present, err := appendValue(w.dst, raw) // a missing value is null
	if err != nil {
		return fmt.Errorf("value of %q: %w", w.s.names[k], err)
	}
	if !present {
		w.dst, w.first = w.dst[:mark], first
		return nil
	}
	w.dst = dst
	return nil
}

// sep writes the ',' before every member but the first.
func (w *dataWriter) sep() {
	if w.first {
		w.first = false
		return
	}
	w.dst = append(w.dst, ',')
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

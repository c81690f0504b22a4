package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

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
	meta         *protocol.RecordMeta
	metaSize     int

	spans []jsonscan.Span
	vals  []pvalue
	order []int32 // the property index of each data member, in order

	// Ferry's extensions (extension.go): the data members outside the
	// schema, the members' order when not the default, and the record
	// members protobuf has no field for; each empty when there is none.
	extra, orderExt, recExtra []byte
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
	e.extra, e.orderExt, e.recExtra = e.extra[:0], e.orderExt[:0], e.recExtra[:0]
}

func putEncoder(e *recordEncoder) {
	// Do not pin a huge record's buffers in the pool.
	if cap(e.text) > 1<<20 {
		e.text = nil
	}
	if cap(e.extra) > 1<<20 {
		e.extra = nil
	}
	if cap(e.recExtra) > 1<<20 {
		e.recExtra = nil
	}
	for i := range e.vals {
		e.vals[i].s, e.vals[i].text = nil, nil
	}
	e.schema, e.namespace, e.stream, e.partitionID, e.meta = nil, nil, nil, nil, nil
	encoderPool.Put(e)
}

// fromRecord loads a decoded Record.
func (e *recordEncoder) fromRecord(r *protocol.Record) error {
	if r.EmittedAt < 0 {
		return fmt.Errorf("record emitted_at %d is negative", r.EmittedAt)
	}
	e.hasNamespace = r.Namespace != ""
	e.namespace = []byte(r.Namespace)
	e.stream = []byte(r.Stream)
	e.partitionID = []byte(r.PartitionID)
	e.emittedAt = uint64(r.EmittedAt)
	e.meta = r.Meta
	if len(r.FileReference) > 0 {
		e.addRecordMember([]byte(`"file_reference"`), r.FileReference)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		e.addRecordMember(jsonscan.AppendString(nil, k), r.Extra[k])
	}
	if r.Meta != nil {
		raw, err := json.Marshal(r.Meta)
		if err != nil {
			return fmt.Errorf("record meta: %w", err)
		}
		e.keepMetaText(raw)
	}
	return e.loadData(r.Data)
}

// addRecordMember carries a record member protobuf has no field for.
func (e *recordEncoder) addRecordMember(rawKey, val []byte) {
	e.recExtra = addMember(e.recExtra, rawKey, val)
	e.stats.ExtraMembers++
}

// keepMetaText carries the meta's JSON text as a record member too when
// the typed meta would not give it back exactly (members it does not
// declare, a different layout).
func (e *recordEncoder) keepMetaText(raw []byte) {
	if e.meta == nil || string(raw) != string(appendMetaText(nil, e.meta)) {
		e.addRecordMember([]byte(`"meta"`), raw)
	}
}

// appendMetaText writes a meta as the decoder writes a typed one.
func appendMetaText(dst []byte, m *protocol.RecordMeta) []byte {
	dst = append(dst, '{')
	for i, c := range m.Changes {
		if i == 0 {
			dst = append(dst, `"changes":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"field":`...)
		dst = jsonscan.AppendString(dst, c.Field)
		dst = append(dst, `,"change":`...)
		dst = jsonscan.AppendString(dst, c.Change)
		dst = append(dst, `,"reason":`...)
		dst = jsonscan.AppendString(dst, c.Reason)
		dst = append(dst, '}')
	}
	if len(m.Changes) > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// fromJSON loads the JSON text of a record object ({"stream": ..., "data":
// ...}), the `record` member of a RECORD message. With a catalog, the
// schema is the one of the record's stream.
func (e *recordEncoder) fromJSON(rec []byte, c *Catalog) error {
	s := jsonscan.Scanner{Buf: rec}
	if err := e.scanRecord(&s, c); err != nil {
		return err
	}
	s.SkipSpace()
	if s.Pos != len(rec) {
		return errors.New("record: trailing data after the object")
	}
	return nil
}

// scanRecord loads the record object at the scanner's position and leaves
// the scanner after it. The data object is converted as it is scanned when
// its schema is already known (a fixed schema, or a stream member before
// data, which is how connectors write records), so the common case reads
// the data once; otherwise it is converted after the record is scanned.
func (e *recordEncoder) scanRecord(s *jsonscan.Scanner, c *Catalog) error {
	s.SkipSpace()
	if !s.Eat('{') {
		return errors.New("record is not a JSON object")
	}
	var data, meta jsonscan.Span
	loaded := false
	prev := s.Pos // where the next member's key starts, give or take space
	err := s.Members(func(key []byte) error {
		keyEnd := s.Pos
		defer func() { prev = s.Pos }()
		s.SkipSpace()
		start := s.Pos
		switch string(key) {
		case "data":
			if e.schema == nil && c != nil && e.stream != nil {
				e.schema = c.byNamespace[string(e.namespace)][string(e.stream)]
			}
			if e.schema != nil {
				loaded = true
				err := e.scanData(s)
				data = jsonscan.Span{Start: start, End: s.Pos}
				return err
			}
			if err := s.Skip(1); err != nil {
				return err
			}
			data = jsonscan.Span{Start: start, End: s.Pos}
			return nil
		case "namespace", "stream", "partition_id", "emitted_at":
			return e.header(s, key)
		}
		if err := s.Skip(1); err != nil {
			return err
		}
		if string(key) == "meta" {
			meta = jsonscan.Span{Start: start, End: s.Pos}
			return nil
		}
		// file_reference and undeclared members.
		e.addRecordMember(rawKey(s.Buf[prev:keyEnd]), s.Buf[start:s.Pos])
		return nil
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if meta.End > 0 {
		raw := s.Buf[meta.Start:meta.End]
		if string(raw) != "null" {
			e.meta = new(protocol.RecordMeta)
			if err := json.Unmarshal(raw, e.meta); err != nil {
				return fmt.Errorf("record meta: %w", err)
			}
		}
		e.keepMetaText(raw)
	}
	if data.End == 0 {
		return errors.New("record without data")
	}
	if c != nil {
		// The final stream and namespace decide, even if a duplicate
		// member changed them after the data was converted.
		schema := c.byNamespace[string(e.namespace)][string(e.stream)]
		if schema == nil {
			d := protocol.StreamDescriptor{Name: string(e.stream), Namespace: string(e.namespace)}
			return fmt.Errorf("record of stream %s: %w", d, ErrUnknownStream)
		}
		if schema != e.schema {
			e.schema, loaded = schema, false
		}
	}
	if loaded {
		return nil
	}
	ds := jsonscan.Scanner{Buf: s.Buf, Pos: data.Start}
	return e.scanData(&ds)
}

// header reads one of the record's header members. A later duplicate
// replaces an earlier one, as in encoding/json.
func (e *recordEncoder) header(s *jsonscan.Scanner, key []byte) error {
	start := s.Pos
	if err := s.Skip(1); err != nil {
		return err
	}
	val := s.Buf[start:s.Pos]
	if string(key) == "emitted_at" {
		var m protocol.Millis
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
	out, ok := jsonscan.Unquote(nil, val)
	if !ok {
		return nil, fmt.Errorf("record %s is not valid UTF-8", name)
	}
	return out, nil
}

// loadData matches the members of a data object to the schema and
// converts each value.
func (e *recordEncoder) loadData(data []byte) error {
	s := jsonscan.Scanner{Buf: data}
	if err := e.scanData(&s); err != nil {
		return err
	}
	s.SkipSpace()
	if s.Pos != len(data) {
		return errors.New("record data: trailing bytes after the object")
	}
	return nil
}

// scanData converts the data object at the scanner's position, leaving the
// scanner after it.
func (e *recordEncoder) scanData(s *jsonscan.Scanner) error {
	n := e.schema.Len()
	if cap(e.spans) < n {
		e.spans = make([]jsonscan.Span, n)
		e.vals = make([]pvalue, n)
	}
	e.spans, e.vals = e.spans[:n], e.vals[:n]
	clear(e.spans)
	// Unescaped strings are never longer than the text they come from.
	if cap(e.text) < len(s.Buf)-s.Pos {
		e.text = make([]byte, 0, len(s.Buf)-s.Pos)
	}
	e.text = e.text[:0]
	e.extra, e.orderExt = e.extra[:0], e.orderExt[:0]
	e.stats.ExtraFields, e.stats.FirstExtra, e.stats.Coerced = 0, "", 0
	s.SkipSpace()
	if !s.Eat('{') {
		return errors.New("record data is not a JSON object")
	}
	// Guess each member's property from the previous record's order; a
	// string comparison is much cheaper than a map lookup.
	var guess []int32
	if p := e.schema.order.Load(); p != nil {
		guess = *p
	}
	k, learned := 0, e.order[:0]
	prev := s.Pos // where the next member's key starts, give or take space
	err := s.Members(func(key []byte) error {
		keyEnd := s.Pos
		s.SkipSpace()
		start := s.Pos
		if err := s.Skip(2); err != nil {
			return err
		}
		keyStart := prev
		prev = s.Pos
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
			e.spans[i] = jsonscan.Span{Start: start, End: s.Pos}
			return nil
		}
		if e.stats.ExtraFields == 0 {
			e.stats.FirstExtra = string(key)
		}
		e.stats.ExtraFields++
		e.addExtra(rawKey(s.Buf[keyStart:keyEnd]), s.Buf[start:s.Pos])
		return nil
	})
	e.order = learned
	if err != nil {
		return fmt.Errorf("record data: %w", err)
	}
	e.buildOrder()
	if guess == nil || k != len(guess) {
		o := slices.Clone(learned)
		e.schema.order.Store(&o)
	}
	for i, sp := range e.spans {
		v := &e.vals[i]
		*v = pvalue{}
		if sp.End == 0 {
			continue // missing: null
		}
		e.convert(v, e.schema.kinds[i], s.Buf[sp.Start:sp.End])
	}
	return nil
}

// AppendRecordProto converts the JSON text of a record object (the
// `record` member of a RECORD message) to an AirbyteRecordMessageProtobuf
// and appends its wire bytes to dst. See the package documentation for the
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
	return e.appendTo(dst), e.stats, nil
}

// AppendRecordProtoFrom is AppendRecordProto for a decoded Record.
func (s *RecordSchema) AppendRecordProtoFrom(dst []byte, r *protocol.Record) ([]byte, ConvertStats, error) {
	e := getEncoder(s)
	defer putEncoder(e)
	if err := e.fromRecord(r); err != nil {
		return dst, e.stats, err
	}
	if err := e.finish(); err != nil {
		return dst, e.stats, err
	}
	return e.appendTo(dst), e.stats, nil
}

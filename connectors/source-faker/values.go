package main

import (
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Direct PROTOBUF values. In PROTOBUF socket mode the kit would convert
// every generated JSON record back into typed values (parse the JSON,
// match member names, parse timestamps); faker knows its values already,
// so it emits them directly (Emitter.RecordValues), which costs a fraction
// of the conversion. Each values generator draws from the rng exactly as
// its JSON generator does and gives the values the kit would convert the
// JSON record to (TestValuesMatchJSON checks this record by record).

// valueFields are the properties a values generator sets, in the order
// of its field numbers, with the kind the catalog must give each.
type valueFields []struct {
	name string
	kind protobuf.ValueKind
}

// valuesGen describes one stream's values generator.
type valuesGen struct {
	fields valueFields
	fill   func(w *valueWriter, c *config, r *rng, id, updated int64)
}

// valueWriter fills one record's values: field k of the generator goes
// to schema position pos[k].
type valueWriter struct {
	v    *protobuf.RecordValues
	pos  []int
	bufs [5][]byte // composed strings, one per use in a record
}

// writer returns a valueWriter for the catalog's schema, or nil when the
// catalog does not declare every field with the kind the generator
// assumes: then the JSON records are converted as usual.
func (g *valuesGen) writer(s *protobuf.RecordSchema) *valueWriter {
	w := &valueWriter{v: s.NewRecordValues(), pos: make([]int, len(g.fields))}
	for k, f := range g.fields {
		i, ok := s.Index(f.name)
		if !ok || s.Kind(i) != f.kind {
			return nil
		}
		w.pos[k] = i
	}
	return w
}

func (w *valueWriter) int(k int, x int64)  { w.v.SetInt(w.pos[k], x) }
func (w *valueWriter) str(k int, s string) { w.v.SetString(w.pos[k], s) }
func (w *valueWriter) bytes(k int, b []byte) {
	w.v.SetStringBytes(w.pos[k], b)
}

// null sets a JSON null; a value never set is absent, like a member the
// JSON record does not write.
func (w *valueWriter) null(k int) { w.v.SetNull(w.pos[k]) }

// ts sets a timestamp as appendTime writes it: whole seconds, UTC, with
// the offset written +00:00.
func (w *valueWriter) ts(k int, t int64) { w.v.SetTimestampTZ(w.pos[k], t, 0, 0, tsForm) }

// tsForm is the text form of appendTime's timestamps.
var tsForm = func() protobuf.TextForm {
	f, ok := protobuf.TemporalForm(protobuf.KindTimestampWithTimezone, string(appendTime(nil, baseTime)))
	if !ok {
		panic("faker: appendTime writes a timestamp the codec does not parse")
	}
	return f
}()

// buf returns scratch buffer n, emptied.
func (w *valueWriter) buf(n int) []byte { return w.bufs[n][:0] }

const (
	tsTZ = protobuf.KindTimestampWithTimezone
	kInt = protobuf.KindInteger
	kStr = protobuf.KindString
)

var purchasesValues = &valuesGen{
	fields: valueFields{{"id", kInt}, {"user_id", kInt}, {"product_id", kInt}, {"created_at", tsTZ},
		{"updated_at", tsTZ}, {"added_to_cart_at", tsTZ}, {"purchased_at", tsTZ}, {"returned_at", tsTZ}},
	fill: fillPurchase,
}

// fillPurchase is appendPurchase as values.
func fillPurchase(w *valueWriter, c *config, r *rng, id, updated int64) {
	created := updated - int64(r.intn(90*86400))
	w.int(0, id)
	w.int(1, 1+int64(r.next()%uint64(max(c.Count, 1))))
	w.int(2, int64(1+r.intn(productCount)))
	w.ts(3, created)
	w.ts(4, updated)
	cart := created + int64(r.intn(3600))
	w.ts(5, cart)
	if r.chance(25) {
		w.null(6)
		w.null(7)
		return
	}
	w.ts(6, cart+int64(r.intn(86400)))
	if r.chance(5) {
		w.ts(7, updated)
	} else {
		w.null(7)
	}
}

var usersValues = &valuesGen{
	fields: valueFields{{"id", kInt}, {"created_at", tsTZ}, {"updated_at", tsTZ}, {"name", kStr},
		{"title", kStr}, {"age", kInt}, {"email", kStr}, {"telephone", kStr}, {"gender", kStr},
		{"language", kStr}, {"academic_degree", kStr}, {"nationality", kStr}, {"occupation", kStr},
		{"height", kStr}, {"blood_type", kStr}, {"weight", kInt}, {"address", protobuf.KindJSON}},
	fill: fillUser,
}

// fillUser is appendUser as values.
func fillUser(w *valueWriter, c *config, r *rng, id, updated int64) {
	first, last := r.pick(firstNames), r.pick(lastNames)
	w.int(0, id)
	w.ts(1, updated-int64(r.intn(365*86400)))
	w.ts(2, updated)
	b := append(append(append(w.buf(0), first...), ' '), last...)
	w.bufs[0] = b
	w.bytes(3, b)
	if r.chance(20) {
		w.null(4)
	} else {
		w.str(4, r.pick(titles))
	}
	w.int(5, int64(18+r.intn(70)))
	b = append(append(w.buf(1), first...), '.')
	b = append(appendInt(b, id), '@')
	b = append(b, r.pick(domains)...)
	w.bufs[1] = b
	w.bytes(6, b)
	b = appendInt(append(w.buf(2), "+1-"...), int64(200+r.intn(800)))
	b = appendInt(append(b, '-'), int64(1000000+r.intn(9000000)))
	w.bufs[2] = b
	w.bytes(7, b)
	w.str(8, r.pick(genders))
	w.str(9, r.pick(languages))
	w.str(10, r.pick(degrees))
	w.str(11, r.pick(nations))
	w.str(12, r.pick(occupations))
	b = appendCents(w.buf(3), int64(145+r.intn(60)))
	w.bufs[3] = b
	w.bytes(13, b)
	w.str(14, r.pick(bloodTypes))
	w.int(15, int64(45+r.intn(70)))
	b = appendAddress(w.buf(4), r)
	w.bufs[4] = b
	v := b
	w.v.SetJSON(w.pos[16], v)
}

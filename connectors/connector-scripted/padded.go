package main

import (
	"strconv"

	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Padded records, built cheaply. The bench's socket rows use this source
// to show what a socket path moves, so its own cost per byte must stay
// well below the path's: a record is {"id":i,"stream":name,"pad":"xx..."},
// and only the id changes from one record to the next (and, when the id
// gains a digit, the pad shrinks by one). The builder keeps the last
// record and rewrites its digits in place, instead of writing about 5 KB
// per record; in PROTOBUF socket mode it hands the kit the values
// themselves (Emitter.RecordValues) instead of JSON text the kit would
// scan and convert back. Both give exactly the bytes record would
// (TestPaddedMatchesRecord).

// paddedRecords builds one stream's records.
type paddedRecords struct {
	s    *stream
	size int
	buf  []byte // the last record's JSON
	at   int    // where its id's digits start
	n    int    // and how many there are (0: none built yet)

	vals           *protobuf.RecordValues // nil: JSON records
	id, name, pad  int                    // the schema positions
	nameVal, blank []byte                 // the stream name; 'x' * size
}

// newPaddedRecords returns the builder of s's records padded to size.
// With schema (PROTOBUF socket mode) it emits values when the catalog
// gives the three properties the kinds the JSON values convert to.
func newPaddedRecords(s *stream, size int, schema *protobuf.RecordSchema) *paddedRecords {
	p := &paddedRecords{s: s, size: size}
	if schema == nil || !plainName(s.name) {
		return p
	}
	var ok [3]bool
	p.id, ok[0] = schema.Index("id")
	p.name, ok[1] = schema.Index("stream")
	p.pad, ok[2] = schema.Index("pad")
	if !ok[0] || !ok[1] || !ok[2] || schema.Kind(p.id) != protobuf.KindInteger ||
		schema.Kind(p.name) != protobuf.KindString || schema.Kind(p.pad) != protobuf.KindString {
		return p
	}
	p.vals = schema.NewRecordValues()
	p.nameVal = []byte(s.name)
	p.blank = make([]byte, size)
	for i := range p.blank {
		p.blank[i] = 'x'
	}
	return p
}

// json returns record i's JSON text, valid until the next call.
func (p *paddedRecords) json(i int64) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], i, 10)
	if len(d) != p.n {
		p.buf = p.s.record(p.buf[:0], i, p.size)
		p.at, p.n = len(`{"id":`), len(d)
		return p.buf
	}
	copy(p.buf[p.at:], d)
	return p.buf
}

// values sets record i's values, valid until the next call.
func (p *paddedRecords) values(i int64) *protobuf.RecordValues {
	v := p.vals
	v.Reset()
	v.SetInt(p.id, i)
	v.SetStringBytes(p.name, p.nameVal)
	// The pad is what record leaves of size after the rest of the JSON.
	rest := len(`{"id":`) + digitsOf(i) + len(`,"stream":`) + len(p.nameVal) + 2 + len(`,"pad":""}`)
	if pad := p.size - rest; pad > 0 {
		v.SetStringBytes(p.pad, p.blank[:pad])
	}
	return v
}

// plainName reports whether name is printable ASCII that needs no escape,
// so its JSON string (as record quotes it) holds it unchanged.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// digitsOf is len(strconv.AppendInt(nil, i, 10)).
func digitsOf(i int64) int {
	n := 1
	if i < 0 {
		n, i = 2, -i
	}
	for ; i >= 10; i /= 10 {
		n++
	}
	return n
}

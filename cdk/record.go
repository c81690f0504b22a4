package cdk

import (
	"errors"
	"strconv"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// Record is one input record as a destination's writer gets it. The kit
// does not decode records on its way in (a benchmark sink never needs
// to); Fields extracts the usual parts on demand.
type Record struct {
	// Stream is the stream as the writer's catalog names it. In socket
	// mode with a namespace mapping that is the mapped name, while the
	// stream and namespace inside Line stay the source's.
	Stream protocol.StreamDescriptor
	// Line is the AirbyteMessage line as received. In PROTOBUF socket mode
	// it is the JSON line the protobuf record stands for, converted by the
	// kit, unless the Writer implements ProtobufRecords: then Line is nil
	// and Proto is set. It is only valid during the Write call that
	// carries it.
	Line []byte
	// Proto is the record's AirbyteRecordMessageProtobuf wire bytes, for a
	// Writer that implements ProtobufRecords, in PROTOBUF socket mode. Its
	// values are positional by the stream's schema (docs/protocol.md 5.5).
	Proto []byte

	schema *protobuf.RecordSchema // places Proto's values
	// size is the length of the record as received, for a Writer that
	// implements RecordsUnread, whose records carry neither Line nor Proto.
	size int
	// spans locates data, emitted_at and meta in Line, as the intake's
	// envelope scan found them, so Fields need not scan the line again.
	spans protocol.RecordSpans
}

// ProtobufRecords is an optional Writer hook. A writer that reads records
// in their protobuf form, or never reads them (a benchmark sink), returns
// true and in PROTOBUF socket mode gets Record.Proto instead of a JSON
// Line, which saves the kit converting every record. Fields still works
// on such records; it converts on demand.
type ProtobufRecords interface {
	ProtobufRecords() bool
}

// RecordsUnread is an optional Writer hook for a writer that never reads
// a record's bytes (a benchmark sink). When it returns true, the kit
// still reads, frames and classifies every message, checks each record's
// stream and partition and counts it and its bytes for the states, but
// hands the writer records with their Stream alone (Line and Proto nil,
// Fields an error), so it never copies them. In PROTOBUF socket mode the
// values are not even looked at, as with ProtobufRecords.
type RecordsUnread interface {
	RecordsUnread() bool
}

// RecordFields are the parts of a record most writers need. The byte
// slices alias the record's Line.
type RecordFields struct {
	// Data is the raw JSON object of record.data.
	Data []byte
	// EmittedAt is record.emitted_at in epoch milliseconds.
	EmittedAt int64
	// Meta is the raw record.meta object, or nil.
	Meta []byte
}

// Fields extracts data, emitted_at and meta from the record's line (or,
// for a protobuf record, from its JSON form, which it allocates). A line
// the intake scanned comes with the members' places, so the record is
// read once; other lines are searched.
func (r *Record) Fields() (RecordFields, error) {
	if r.spans.Valid && r.Line != nil {
		return r.spanFields()
	}
	var f RecordFields
	var rec []byte
	if r.Line == nil && r.Proto != nil {
		if r.schema == nil {
			return f, errors.New("protobuf record without its stream's schema")
		}
		var err error
		if rec, err = r.schema.AppendRecordJSON(nil, r.Proto); err != nil {
			return f, err
		}
	} else {
		rs, re, ok := protocol.MemberSpan(r.Line, "record")
		if !ok {
			return f, errors.New("record message without a record object")
		}
		rec = r.Line[rs:re]
	}
	ds, de, ok := protocol.MemberSpan(rec, "data")
	if !ok || rec[ds] != '{' {
		return f, errors.New("record without a data object")
	}
	f.Data = rec[ds:de]
	if es, ee, ok := protocol.MemberSpan(rec, "emitted_at"); ok {
		n, err := parseMillis(rec[es:ee])
		if err != nil {
			return f, err
		}
		f.EmittedAt = n
	}
	if ms, me, ok := protocol.MemberSpan(rec, "meta"); ok && rec[ms] == '{' {
		f.Meta = rec[ms:me]
	}
	return f, nil
}

// AppendData appends the record's data object, RecordFields.Data, to dst
// and returns the record's emitted_at, RecordFields.EmittedAt. A
// protobuf record's data is written as JSON straight from its values,
// without the record's line in between, when it is a common record
// (protobuf.RecordSchema.AppendDataFast); every other record goes
// through Fields, with its errors.
func (r *Record) AppendData(dst []byte) ([]byte, int64, error) {
	if r.Line == nil && r.Proto != nil && r.schema != nil {
		if out, at, ok := r.schema.AppendDataFast(dst, r.Proto); ok {
			return out, at, nil
		}
	}
	f, err := r.Fields()
	if err != nil {
		return dst, 0, err
	}
	return append(dst, f.Data...), f.EmittedAt, nil
}

// parseMillis reads an integer timestamp, tolerating a fraction.
func parseMillis(b []byte) (int64, error) {
	if len(b) > 0 && len(b) <= 18 { // a plain integer, as every source writes it
		n := int64(0)
		for _, c := range b {
			if c-'0' > 9 {
				goto general
			}
			n = n*10 + int64(c-'0')
		}
		return n, nil
	}
general:
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, errors.New("record emitted_at is not a number")
	}
	return int64(f), nil
}

// spanFields is Fields from the spans of the intake's scan.
func (r *Record) spanFields() (RecordFields, error) {
	var f RecordFields
	sp, line := &r.spans, r.Line
	if sp.Data.End == 0 || line[sp.Data.Start] != '{' {
		return f, errors.New("record without a data object")
	}
	f.Data = line[sp.Data.Start:sp.Data.End]
	if sp.EmittedAt.End != 0 {
		n, err := parseMillis(line[sp.EmittedAt.Start:sp.EmittedAt.End])
		if err != nil {
			return f, err
		}
		f.EmittedAt = n
	}
	if sp.Meta.End != 0 && line[sp.Meta.Start] == '{' {
		f.Meta = line[sp.Meta.Start:sp.Meta.End]
	}
	return f, nil
}

// Package protobuf is the protobuf codec of socket mode (docs/protocol.md 5.4,
// 5.5): it converts Airbyte messages between their JSONL form, which the
// protocol package models, and the length-delimited protobuf stream a
// socket carries.
//
// A socket carries AirbyteMessageProtobuf messages, each preceded by its
// length as a base-128 varint (protobuf's writeDelimitedTo). A record
// travels as AirbyteRecordMessageProtobuf with positional values; every
// other message travels as its JSON text in airbyte_protocol_message; a
// probe is an empty message, framed as 02 1a 00.
//
// The codec works on wire bytes directly (Reader.ReadFrame,
// Catalog.AppendMessageProto and AppendMessageJSON), which allocates
// nothing per message once warm. The generated pb types are available for
// convenience (Reader.Read, MessageToProto, MessageFromProto); they are
// converted through the same wire path, so both give identical results.
//
// # Records
//
// Conversion between JSON records and AirbyteRecordMessageProtobuf.
//
// JSON → protobuf. Each top-level member of `data` is matched to a schema
// property by name; values go out in schema order, one per property, and a
// missing or null member is sent as is_null. The value's encoding follows
// the property's kind (docs/protocol.md 5.5):
//
//	boolean          true/false → boolean
//	string           → string
//	integer          up to 63 bits → integer; larger → big_integer (the digits)
//	number           → number when the double holds the value exactly (0.1
//	                   counts: its shortest form is 0.1); else → big_decimal,
//	                   carrying the number's JSON text unchanged (it may use
//	                   exponent notation, which Java's BigDecimal accepts)
//	date             YYYY-MM-DD → date (days since the epoch)
//	time             HH:MM[:SS[.f]] with an offset → time_with_timezone,
//	                 without → time_without_timezone
//	timestamp        date, 'T' or ' ', time, optional offset (Z, ±HH:MM,
//	                 ±HHMM, ±HH) → timestamp_with/without_timezone
//	json             objects, arrays, unions, unknown → json (the JSON text)
//
// Nothing is lost. A value that does not fit its property's kind (a
// timestamp that does not parse, a string in an integer column, text with
// a lone surrogate that a protobuf string cannot hold) travels as `string`
// when it is a JSON string and as `json` otherwise, and is counted in
// ConvertStats.Coerced: the newest load CDK reads a value of the wrong
// member as null, so callers should warn. A *_with_timezone value without
// an offset is taken as UTC; a *_without_timezone value with an offset
// cannot be held by the typed member and travels as `string`. An integer
// written -0 travels as big_integer "-0", so even its text survives.
//
// Data members that are not schema properties cannot travel, because
// values are positional: they are dropped and counted in
// ConvertStats.DroppedFields, as are record members protobuf has no field
// for (file_reference, undeclared members) in DroppedMembers.
//
// Protobuf → JSON. Every value says which member it uses, so decoding
// needs the schema only for the property names. The JSON written back is
// value-equal to the original, with these normalizations:
//   - data members come out in schema order, and null values are omitted
//     (absent and null are the same to Airbyte);
//   - a `number` is written in its shortest form (1.0 → 1, 1E3 → 1000);
//   - typed temporals are written in canonical RFC 3339: 'T', seconds
//     always present, the fraction without trailing zeros, Z for a zero
//     offset (2021-01-01 10:00+00:00 → 2021-01-01T10:00:00Z);
//   - a float emitted_at is truncated to whole milliseconds;
//   - NaN and infinite numbers, which JSON cannot hold and only a foreign
//     encoder could send, come back as the strings "NaN", "Infinity" and
//     "-Infinity"; a big_integer or big_decimal that is not a JSON number
//     comes back as a string.
package protobuf

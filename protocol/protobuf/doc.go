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
// Conversion between JSON records and AirbyteRecordMessageProtobuf. The
// aim is that a Ferry destination gets, field for field, the record the
// source wrote, as it would in stdio mode (docs/fidelity.md); what
// Airbyte's schema cannot say travels in Ferry's extension fields
// (extension.go), which Airbyte's parsers skip.
//
// JSON → protobuf. Each top-level member of `data` is matched to a schema
// property by name; values go out in schema order, one per property. A
// null member is sent as is_null, and a missing one as is_null with
// Ferry's absent marker (Airbyte reads both as null). The value's encoding
// follows the property's kind (docs/protocol.md 5.5):
//
//	boolean          true/false → boolean
//	string           → string (and its JSON text, when its escapes are not
//	                 the ones the decoder writes)
//	integer          up to 63 bits → integer; larger → big_integer (the digits)
//	number           → number when the text is the double's shortest form
//	                 (0.1, 1e-7); else → big_decimal, carrying the number's
//	                 JSON text unchanged (1.0, 1E3, 0.10000000000000000001;
//	                 Java's BigDecimal reads them all)
//	date             YYYY-MM-DD → date (days since the epoch)
//	time             HH:MM[:SS[.f]] with an offset → time_with_timezone,
//	                 without → time_without_timezone
//	timestamp        date, 'T' or ' ', time, optional offset (Z, ±HH:MM,
//	                 ±HHMM, ±HH) → timestamp_with/without_timezone
//	json             objects, arrays, unions, unknown → json (the JSON text)
//
// A date or time value whose text is not in the canonical form (TextForm:
// +00:00 for Z, a space for 'T', no seconds, trailing zeros) carries its
// form. A value that does not fit its property's kind (a timestamp that
// does not parse, a string in an integer column, text with a lone
// surrogate that a protobuf string cannot hold) travels as `string` when
// it is a JSON string and as `json` otherwise, and is counted in
// ConvertStats.Coerced: the newest load CDK reads a value of the wrong
// member as null, so callers should warn. A *_with_timezone value without
// an offset is held as UTC (and its form says it had none); a
// *_without_timezone value with an offset cannot be held by the typed
// member and travels as `string`. An integer written -0 travels as
// big_integer "-0", so even its text survives.
//
// Data members that are not schema properties have no position: they
// travel, as written and in order, in an extension of the record, as do
// record members protobuf has no field for (file_reference, undeclared
// members); both are counted in ConvertStats. When the data members are
// not in the order the schema declares its properties, the order travels
// too.
//
// Protobuf → JSON. Every value says which member it uses, so decoding
// needs the schema only for the property names and their declared order.
// A record from Ferry's encoder comes back with the same members in the
// same order and the same value text. What is not kept:
//   - whitespace between data members, escapes in property names (the
//     schema's spelling is written), and duplicate members (the last value
//     is kept, in the first one's place);
//   - the record object's own members come out in a fixed order
//     (namespace, stream, data, emitted_at, meta, partition_id, then the
//     rest), and a float emitted_at is truncated to whole milliseconds;
//   - JSON text of a `json` value that spans lines is compacted onto one.
//
// From a foreign encoder, which sends no extensions: is_null is written as
// null, members come out in the schema's declared order, a `number` is
// written in its shortest form, and typed temporals in canonical RFC 3339
// ('T', seconds always present, the fraction without trailing zeros, Z
// for a zero offset). NaN and infinite numbers, which JSON cannot hold,
// come back as the strings "NaN", "Infinity" and "-Infinity"; a
// big_integer or big_decimal that is not a JSON number comes back as a
// string.
package protobuf

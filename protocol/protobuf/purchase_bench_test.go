package protobuf

import (
	"encoding/hex"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// purchaseSchema is source-faker's purchases stream, the records of
// make bench-sync's rows.
const purchaseSchema = `{"type":"object","properties":{
  "id":{"type":"integer"},"user_id":{"type":"integer"},"product_id":{"type":"integer"},
  "created_at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},
  "updated_at":{"type":"string","format":"date-time","airbyte_type":"timestamp_with_timezone"},
  "added_to_cart_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"},
  "purchased_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"},
  "returned_at":{"type":["null","string"],"format":"date-time","airbyte_type":"timestamp_with_timezone"},
  "padding":{"type":"string"}}}`

// purchaseFrames are AirbyteMessageProtobuf messages as source-faker
// sends them for purchases (captured from its socket).
var purchaseFrames = []string{
	"0a71120970757263686173657318ceaf97eda3342207384b6d4e2d356f2a0b520608f0cdfcfa0b907d022a0b520608a0aefcfa0b907d022a0218022a056801887d012a0218422a0b520608b8d184fb0b907d022a0b5206088298f3fe0b907d022a0b5206088298f3fe0b907d022a0418aee60e",
	"0a5f120970757263686173657318ceaf97eda3342207384b6d4e2d356f2a0b52060886bbbbf90b907d022a0b520608f69dbbf90b907d022a0218042a056801887d012a02186e2a0268012a0268012a0b5206088498f3fe0b907d022a0418b0f50a",
	"0a68120970757263686173657318ceaf97eda3342207384b6d4e2d356f2a0b520608fca6cef70b907d022a0b520608b0fbcdf70b907d022a0218082a056801887d012a0218542a0b52060880d4d2f70b907d022a0268012a0b5206088898f3fe0b907d022a041882d704",
}

func purchaseCatalog(tb testing.TB) (*Catalog, [][]byte) {
	c, err := NewCatalog([]protocol.Stream{{Name: "purchases", JSONSchema: []byte(purchaseSchema)}})
	if err != nil {
		tb.Fatal(err)
	}
	var frames [][]byte
	for _, h := range purchaseFrames {
		b, err := hex.DecodeString(h)
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, b)
	}
	return c, frames
}

// BenchmarkPurchaseToJSON converts faker's purchases records to their
// JSON lines, as the socket intake does, with the records in cache.
func BenchmarkPurchaseToJSON(b *testing.B) {
	c, frames := purchaseCatalog(b)
	var conv Converter
	var out []byte
	for i := 0; b.Loop(); i++ {
		var err error
		if out, _, err = conv.AppendMessageJSONSpans(c, out[:0], frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPurchaseValuesFrame encodes a purchases record from its values,
// as source-faker does in PROTOBUF socket mode.
func BenchmarkPurchaseValuesFrame(b *testing.B) {
	c, _ := purchaseCatalog(b)
	s := c.Schema(protocol.StreamDescriptor{Name: "purchases"})
	form, ok := TemporalForm(KindTimestampWithTimezone, "2021-01-01T00:00:01+00:00")
	if !ok {
		b.Fatal("form")
	}
	v := s.NewRecordValues()
	var p [8]int
	for k, name := range []string{"id", "user_id", "product_id", "created_at", "updated_at", "added_to_cart_at", "purchased_at", "returned_at"} {
		p[k], _ = s.Index(name)
	}
	h := &RecordHeader{Stream: []byte("purchases"), PartitionID: []byte("8KmN-5o"), EmittedAt: 1796330608590}
	var out []byte
	for i := int64(0); b.Loop(); i++ {
		v.Reset()
		v.SetInt(p[0], i)
		v.SetInt(p[1], 121239+i)
		v.SetInt(p[2], 33)
		v.SetTimestampTZ(p[3], 1605340048+i, 0, 0, form)
		v.SetTimestampTZ(p[4], 1609459201+i, 0, 0, form)
		v.SetTimestampTZ(p[5], 1605342072+i, 0, 0, form)
		v.SetTimestampTZ(p[6], 1605407836+i, 0, 0, form)
		v.SetNull(p[7])
		var err error
		if out, err = s.AppendValuesFrame(out[:0], h, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPurchaseData writes the data object of faker's purchases
// records, as destination-jsonl does (AppendDataFast).
func BenchmarkPurchaseData(b *testing.B) {
	c, frames := purchaseCatalog(b)
	s := c.Schema(protocol.StreamDescriptor{Name: "purchases"})
	var out []byte
	for i := 0; b.Loop(); i++ {
		var ok bool
		if out, _, ok = s.AppendDataFast(out[:0], frames[i%len(frames)][2:]); !ok {
			b.Fatal("declined")
		}
	}
}

// BenchmarkTimestampFast writes one of faker's timestamps.
func BenchmarkTimestampFast(b *testing.B) {
	body, _ := hex.DecodeString("520608f0cdfcfa0b907d02")
	var out []byte
	for b.Loop() {
		var ok bool
		if out, ok = appendValueFast(out[:0], body); !ok {
			b.Fatal("declined")
		}
	}
}

package main

// purchasesSchema describes appendPurchase's records.
const purchasesSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "id": {"type": "integer"},
    "user_id": {"type": "integer"},
    "product_id": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "updated_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "added_to_cart_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "purchased_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "returned_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "padding": {"type": "string"}
  }
}`

// appendPurchase appends one purchase of a product by a user. Carts that
// were abandoned have no purchased_at; few purchases are returned.
func appendPurchase(b []byte, c *config, r *rng, id, updated int64) []byte {
	start := len(b)
	created := updated - int64(r.intn(90*86400))
	b = append(b, `{"id":`...)
	b = appendInt(b, id)
	b = append(b, `,"user_id":`...)
	b = appendInt(b, 1+int64(r.next()%uint64(max(c.Count, 1))))
	b = append(b, `,"product_id":`...)
	b = appendInt(b, int64(1+r.intn(productCount)))
	b = append(b, `,"created_at":"`...)
	b = appendTime(b, created)
	b = append(b, `","updated_at":"`...)
	b = appendTime(b, updated)
	b = append(b, `","added_to_cart_at":"`...)
	cart := created + int64(r.intn(3600))
	b = appendTime(b, cart)
	b = append(b, `","purchased_at":`...)
	if r.chance(25) {
		b = append(b, `null,"returned_at":null`...)
	} else {
		b = append(b, '"')
		b = appendTime(b, cart+int64(r.intn(86400)))
		b = append(b, `","returned_at":`...)
		if r.chance(5) {
			b = append(b, '"')
			b = appendTime(b, updated)
			b = append(b, '"')
		} else {
			b = append(b, "null"...)
		}
	}
	return closeRecord(b, start, c.RecordBytes)
}

package main

// productCount is the size of the products stream, as in Airbyte's
// source-faker, whatever the configured count.
const productCount = 100

// productsSchema describes appendProduct's records.
const productsSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "id": {"type": "integer"},
    "make": {"type": "string"},
    "model": {"type": "string"},
    "year": {"type": "integer"},
    "price": {"type": "number"},
    "description": {"type": ["null", "string"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "created_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "updated_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "padding": {"type": "string"}
  }
}`

// appendProduct appends one product: a car, as in Airbyte's products.
func appendProduct(b []byte, c *config, r *rng, id, updated int64) []byte {
	start := len(b)
	k := r.intn(len(makes))
	b = append(b, `{"id":`...)
	b = appendInt(b, id)
	b = append(b, `,"make":`...)
	b = appendStr(b, makes[k])
	b = append(b, `,"model":`...)
	b = appendStr(b, models[k])
	b = append(b, `,"year":`...)
	b = appendInt(b, int64(1990+r.intn(35)))
	b = append(b, `,"price":`...)
	b = appendCents(b, int64(500000+r.intn(6000000)))
	b = append(b, `,"description":`...)
	if r.chance(10) {
		b = append(b, "null"...)
	} else {
		b = append(b, `"A `...)
		b = append(b, r.pick(adjectives)...)
		b = append(b, ' ')
		b = append(b, makes[k]...)
		b = append(b, '"')
	}
	b = append(b, `,"tags":[`...)
	for i, n := 0, r.intn(3); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, r.pick(adjectives))
	}
	b = append(b, `],"created_at":"`...)
	b = appendTime(b, updated-int64(r.intn(30*86400)))
	b = append(b, `","updated_at":"`...)
	b = appendTime(b, updated)
	b = append(b, '"')
	return closeRecord(b, start, c.RecordBytes)
}

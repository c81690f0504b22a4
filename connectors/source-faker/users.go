package main

// usersSchema describes appendUser's records.
const usersSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "id": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "updated_at": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "name": {"type": "string"},
    "title": {"type": ["null", "string"]},
    "age": {"type": "integer"},
    "email": {"type": "string"},
    "telephone": {"type": "string"},
    "gender": {"type": "string"},
    "language": {"type": "string"},
    "academic_degree": {"type": "string"},
    "nationality": {"type": "string"},
    "occupation": {"type": "string"},
    "height": {"type": "string"},
    "blood_type": {"type": "string"},
    "weight": {"type": "integer"},
    "address": {"type": "object", "properties": {
      "street_number": {"type": "string"},
      "street_name": {"type": "string"},
      "city": {"type": "string"},
      "state": {"type": "string"},
      "province": {"type": ["null", "string"]},
      "postal_code": {"type": "string"},
      "country_code": {"type": "string"}
    }},
    "padding": {"type": "string"}
  }
}`

// appendUser appends one user. Fields follow Airbyte's users stream;
// title and address.province are sometimes null.
func appendUser(b []byte, c *config, r *rng, id, updated int64) []byte {
	start := len(b)
	first, last := r.pick(firstNames), r.pick(lastNames)
	b = append(b, `{"id":`...)
	b = appendInt(b, id)
	b = append(b, `,"created_at":"`...)
	b = appendTime(b, updated-int64(r.intn(365*86400)))
	b = append(b, `","updated_at":"`...)
	b = appendTime(b, updated)
	b = append(b, `","name":"`...)
	b = append(b, first...)
	b = append(b, ' ')
	b = append(b, last...)
	b = append(b, `","title":`...)
	if r.chance(20) {
		b = append(b, "null"...)
	} else {
		b = appendStr(b, r.pick(titles))
	}
	b = append(b, `,"age":`...)
	b = appendInt(b, int64(18+r.intn(70)))
	b = append(b, `,"email":"`...)
	b = append(b, first...)
	b = append(b, '.')
	b = appendInt(b, id)
	b = append(b, '@')
	b = append(b, r.pick(domains)...)
	b = append(b, `","telephone":"+1-`...)
	b = appendInt(b, int64(200+r.intn(800)))
	b = append(b, '-')
	b = appendInt(b, int64(1000000+r.intn(9000000)))
	b = append(b, `","gender":`...)
	b = appendStr(b, r.pick(genders))
	b = append(b, `,"language":`...)
	b = appendStr(b, r.pick(languages))
	b = append(b, `,"academic_degree":`...)
	b = appendStr(b, r.pick(degrees))
	b = append(b, `,"nationality":`...)
	b = appendStr(b, r.pick(nations))
	b = append(b, `,"occupation":`...)
	b = appendStr(b, r.pick(occupations))
	b = append(b, `,"height":"`...)
	b = appendCents(b, int64(145+r.intn(60)))
	b = append(b, `","blood_type":`...)
	b = appendStr(b, r.pick(bloodTypes))
	b = append(b, `,"weight":`...)
	b = appendInt(b, int64(45+r.intn(70)))
	b = append(b, `,"address":`...)
	b = appendAddress(b, r)
	return closeRecord(b, start, c.RecordBytes)
}

// appendAddress appends a user's address object. The JSON and the protobuf
// generators share it, so both draw the same random values in order.
func appendAddress(b []byte, r *rng) []byte {
	b = append(b, `{"street_number":"`...)
	b = appendInt(b, int64(1+r.intn(999)))
	b = append(b, `","street_name":`...)
	b = appendStr(b, r.pick(streets))
	b = append(b, `,"city":`...)
	b = appendStr(b, r.pick(cities))
	b = append(b, `,"state":`...)
	b = appendStr(b, r.pick(states))
	b = append(b, `,"province":`...)
	if r.chance(70) {
		b = append(b, "null"...)
	} else {
		b = appendStr(b, r.pick(provinces))
	}
	b = append(b, `,"postal_code":"`...)
	b = appendInt(b, int64(10000+r.intn(89999)))
	b = append(b, `","country_code":`...)
	b = appendStr(b, r.pick(countries))
	return append(b, '}')
}

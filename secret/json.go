package secret

import (
	"bytes"
	"encoding/json"
)

// RedactJSON masks secret values in a JSON document that came from a
// connector (a catalog, a state): in every string and every object key,
// decoded first, so an escape in the document cannot hide a value, and
// re-encoded after, so the result is still valid JSON. It returns doc
// itself, byte for byte, when nothing was masked, and false; a document
// that does not parse is masked as text.
func (r *Redactor) RedactJSON(doc []byte) ([]byte, bool) {
	if r.Empty() || len(doc) == 0 {
		return doc, false
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		out := r.Redact(string(doc))
		return []byte(out), out != string(doc)
	}
	v, changed := r.redactValue(v)
	if !changed {
		return doc, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		out := r.Redact(string(doc))
		return []byte(out), true
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true
}

func (r *Redactor) redactValue(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		out := r.Redact(v)
		return out, out != v
	case []any:
		changed := false
		for i, c := range v {
			var ch bool
			if v[i], ch = r.redactValue(c); ch {
				changed = true
			}
		}
		return v, changed
	case map[string]any:
		changed := false
		out := make(map[string]any, len(v))
		for k, c := range v {
			c, ch := r.redactValue(c)
			rk := r.Redact(k)
			if ch || rk != k {
				changed = true
			}
			out[rk] = c
		}
		return out, changed
	}
	return v, false
}

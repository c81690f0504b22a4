package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// The helpers here rewrite JSON values while keeping everything they do not
// touch byte-for-byte: object members keep their order and each member's
// value keeps its raw bytes (numbers are never parsed into float64). Only
// the keys of the objects that are rebuilt are re-encoded.

// member is one member of a JSON object.
type member struct {
	Key   string
	Value json.RawMessage
}

// kindOf returns the first byte of a JSON value: '{', '[', '"', 'n', 't',
// 'f' or a digit or '-'.
func kindOf(v json.RawMessage) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(v json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key is %T", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		ms = append(ms, member{Key: key, Value: raw})
	}
	return ms, nil
}

// arrayElems splits a JSON array into its elements.
func arrayElems(v json.RawMessage) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	if _, err := dec.Token(); err != nil { // [
		return nil, err
	}
	var es []json.RawMessage
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		es = append(es, raw)
	}
	return es, nil
}

func encodeKey(buf *bytes.Buffer, k string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(k) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

func buildObject(ms []member) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		encodeKey(&buf, m.Key)
		buf.WriteByte(':')
		buf.Write(m.Value)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func buildArray(es []json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range es {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// jsonPath names a location in a config for error messages, such as
// "credentials.client_secret" or "tunnels[2].password".
type jsonPath string

func (p jsonPath) key(k string) jsonPath {
	if p == "" {
		return jsonPath(k)
	}
	return p + "." + jsonPath(k)
}

func (p jsonPath) index(i int) jsonPath { return p + "[" + jsonPath(strconv.Itoa(i)) + "]" }

// walkAll calls fn on every value in v, depth first, parents before their
// children. When fn returns replace=true the value is replaced by out and
// its children are not visited.
func walkAll(v json.RawMessage, path jsonPath, fn func(path jsonPath, v json.RawMessage) (out json.RawMessage, replace bool, err error)) (json.RawMessage, error) {
	out, replace, err := fn(path, v)
	if err != nil || replace {
		return out, err
	}
	switch kindOf(v) {
	case '{':
		ms, err := objectMembers(v)
		if err != nil {
			return nil, err
		}
		changed := false
		for i := range ms {
			nv, err := walkAll(ms[i].Value, path.key(ms[i].Key), fn)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(nv, ms[i].Value) {
				ms[i].Value, changed = nv, true
			}
		}
		if changed {
			return buildObject(ms), nil
		}
	case '[':
		es, err := arrayElems(v)
		if err != nil {
			return nil, err
		}
		changed := false
		for i := range es {
			nv, err := walkAll(es[i], path.index(i), fn)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(nv, es[i]) {
				es[i], changed = nv, true
			}
		}
		if changed {
			return buildArray(es), nil
		}
	}
	return v, nil
}

// compactObject validates that v is a JSON object and returns it compacted.
func compactObject(field string, v json.RawMessage) (json.RawMessage, error) {
	if kindOf(v) != '{' {
		return nil, invalid(field, "must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, invalid(field, "not valid JSON")
	}
	return buf.Bytes(), nil
}

// compactOrNil compacts valid JSON; nil stays nil.
func compactOrNil(v json.RawMessage) json.RawMessage {
	if v == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return v // Validate has already rejected invalid JSON
	}
	return buf.Bytes()
}

// rawOrNil stores nil JSON as NULL.
func rawOrNil(v json.RawMessage) any {
	if v == nil {
		return nil
	}
	return string(v)
}

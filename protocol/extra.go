package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// Extra holds the members of a JSON object that its Go type does not declare.
// Every struct in the Airbyte schema allows additional properties, and
// forwarders must preserve them (docs/protocol.md 2.0), so each model type keeps
// them here and writes them back when it is encoded.
type Extra map[string]json.RawMessage

// knownKeys caches the JSON member names a struct type declares.
var knownKeys sync.Map // reflect.Type -> map[string]bool

func declaredKeys(t reflect.Type) map[string]bool {
	if v, ok := knownKeys.Load(t); ok {
		return v.(map[string]bool)
	}
	keys := make(map[string]bool)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		keys[name] = true
	}
	knownKeys.Store(t, keys)
	return keys
}

// unmarshalWithExtra decodes data into v (a pointer to a method-free alias
// struct) and returns the members v does not declare. The undeclared
// members are found with the validating scanner rather than a second
// decode into a map, which would allocate every member's value again.
//
// encoding/json matches keys to fields case-insensitively, so a member such
// as "TYPE" would overwrite the declared "type" and also land in Extra. Such
// members are kept in Extra only, and the struct is decoded from the
// declared members alone, so a decode and encode changes nothing.
func unmarshalWithExtra(data []byte, v any) (Extra, error) {
	s := jsonscan.Scanner{Buf: data}
	s.SkipSpace()
	if !s.Eat('{') {
		// null (which leaves v alone), or an error for json to describe.
		return nil, json.Unmarshal(data, v)
	}
	known := declaredKeys(reflect.TypeOf(v).Elem())
	var extra Extra
	var declared []jsonscan.Span // whole members ("key": value), possibly after a ','
	folded := false
	prevEnd := s.Pos // where the current member's text begins
	err := s.Members(func(key []byte) error {
		s.SkipSpace()
		start := s.Pos
		if err := s.Skip(1); err != nil {
			return err
		}
		memberStart := prevEnd
		prevEnd = s.Pos
		if known[string(key)] {
			declared = append(declared, jsonscan.Span{Start: memberStart, End: s.Pos})
			return nil
		}
		if !folded {
			for k := range known {
				if strings.EqualFold(k, string(key)) {
					folded = true
					break
				}
			}
		}
		if extra == nil {
			extra = make(Extra)
		}
		extra[string(key)] = append(json.RawMessage(nil), data[start:s.Pos]...)
		return nil
	})
	if err != nil {
		if jerr := json.Unmarshal(data, v); jerr != nil {
			return nil, jerr
		}
		return nil, err
	}
	if folded {
		data = declaredOnly(data, declared)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return extra, nil
}

// declaredOnly rebuilds an object from the given members. Each span runs
// from the end of the previous member, so it starts with whitespace and the
// separating comma, which are trimmed.
func declaredOnly(data []byte, members []jsonscan.Span) []byte {
	out := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		member := bytes.TrimLeft(data[m.Start:m.End], " \t\r\n,")
		out = append(out, member...)
	}
	return append(out, '}')
}

// marshalWithExtra encodes v (an alias struct) and appends the extra members
// in sorted key order, so encoding is deterministic.
func marshalWithExtra(v any, extra Extra) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := bytes.NewBuffer(make([]byte, 0, len(b)+64*len(keys)))
	out.Write(b[:len(b)-1]) // drop the closing brace
	first := len(b) == 2    // "{}"
	for _, k := range keys {
		if !first {
			out.WriteByte(',')
		}
		first = false
		// Written as-is (bytes escaped only where JSON requires), so a key
		// that is not valid UTF-8 round-trips byte for byte, where
		// json.Marshal would replace its bytes.
		out.Write(jsonscan.AppendString(nil, k))
		out.WriteByte(':')
		raw := extra[k]
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		out.Write(raw)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// Millis is an epoch time in milliseconds. It decodes any JSON number, since
// real connectors emit fractional values in TRACE and CONTROL messages
// (docs/protocol.md section 3), and encodes as an integer.
type Millis int64

// UnmarshalJSON accepts integers, fractions and exponents.
func (m *Millis) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = 0
		return nil
	}
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*m = Millis(i)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("emitted_at: not a number: %.40s", b)
	}
	*m = Millis(int64(f))
	return nil
}

// Count is a record count. The schema declares counts as numbers "with a
// decimal point", so a whole count encodes as 12.0, not 12.
type Count float64

// MarshalJSON writes whole numbers with a trailing ".0".
func (c Count) MarshalJSON() ([]byte, error) {
	f := float64(c)
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.AppendFloat(nil, f, 'f', 1, 64), nil
	}
	return json.Marshal(f)
}

package web

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"

	"github.com/ferrysync/ferry/store"
)

// What the form does with secrets: it never shows them (form_widgets.go),
// and on edit it decides which empty secret keeps its stored value.

// keepSecrets marks, with the mask, each secret left empty whose stored
// value the store should keep: the stored config (masked) has one at the
// same place and, inside an array row, the row is the same stored row
// (same origin) with every other field unchanged. Anywhere else an empty
// secret stays empty, so a password never follows a row to another host.
func (st *formState) keepSecrets(s *formSchema, stored map[string]any) {
	st.keep(s, st.Values, stored, "", true)
}

func (st *formState) keep(s *formSchema, v, stored any, path string, rowOK bool) {
	switch {
	case s == nil:
	case s.Type == "object" || len(s.OneOf) > 0:
		m, _ := v.(map[string]any)
		sm, _ := stored.(map[string]any)
		if m == nil {
			return
		}
		for _, p := range objectProps(s, m) {
			c := p.Schema
			if c.Secret && c.Type != "object" && c.Type != "array" {
				if isEmpty(m[p.Name]) && rowOK && sm != nil && sm[p.Name] == store.Mask {
					m[p.Name] = store.Mask
				}
				continue
			}
			st.keep(c, m[p.Name], sm[p.Name], joinPath(path, p.Name), rowOK)
		}
	case s.Type == "array" && s.Items != nil:
		rows, _ := v.([]any)
		srows, _ := stored.([]any)
		for i, row := range rows {
			rp := joinPath(path, strconv.Itoa(i))
			var srow any
			if i < len(srows) {
				srow = srows[i]
			}
			origin, has := st.Origins[rp]
			same := has && origin == i && srow != nil &&
				reflect.DeepEqual(withoutSecrets(s.Items, row), withoutSecrets(s.Items, srow))
			st.keep(s.Items, row, srow, rp, rowOK && same)
		}
	}
}

// objectProps lists an object value's properties: its own and those of
// the oneOf variant it takes.
func objectProps(s *formSchema, m map[string]any) []*formProp {
	if len(s.OneOf) == 0 {
		return s.Props
	}
	return append(slices.Clone(s.Props), s.OneOf[variantOf(s, m)].Props...)
}

func isEmpty(v any) bool { return v == nil || v == "" }

// withoutSecrets returns a copy of v without its secret fields, for
// comparing rows; numbers are normalised through JSON.
func withoutSecrets(s *formSchema, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		props := objectProps(s, x)
		for k, val := range x {
			var c *formSchema
			for _, p := range props {
				if p.Name == k {
					c = p.Schema
				}
			}
			if c != nil && c.Secret {
				continue
			}
			out[k] = withoutSecrets(c, val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = withoutSecrets(orEmpty(s).Items, val)
		}
		return out
	}
	b, _ := json.Marshal(v)
	var n any
	_ = json.Unmarshal(b, &n)
	return n
}

// fillHidden sets each airbyte_hidden field to the base config's value
// (the stored one, on edit) or its default, since the form does not show
// it.
func fillHidden(s *formSchema, v, base any) {
	m, _ := v.(map[string]any)
	if m == nil || s == nil {
		return
	}
	bm, _ := base.(map[string]any)
	for _, p := range objectProps(s, m) {
		switch c := p.Schema; {
		case c.Hidden:
			if bv, ok := bm[p.Name]; ok {
				m[p.Name] = bv
			} else if c.HasDefault {
				m[p.Name] = c.Default
			}
		case c.Type == "object" || len(c.OneOf) > 0:
			fillHidden(c, m[p.Name], bm[p.Name])
		}
	}
}

package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Form field names. A config field's input is named by its dotted path,
// array indexes as segments ("hosts.0.port"); the form's own fields start
// with an underscore, which no path segment of a generated input does.
const (
	// formAction is the submit button that was pressed: save, test,
	// refresh, add:<array path> or remove:<row path>.
	formAction = "_action"
	// formRows prefixes the hidden count of an array's rows.
	formRows = "_rows."
	// formOrigin prefixes the hidden index a row had in the stored config;
	// a kept secret may only stay in its own, unchanged row.
	formOrigin = "_origin."
	// formVariantKey prefixes the select of a oneOf without a discriminator.
	formVariantKey = "_oneof."
)

// maxFormRows caps an array's rows, so a forged count cannot make the
// server build a huge form.
const maxFormRows = 500

// formState is a form's content as the server holds it between requests:
// the config built so far, where each array row came from, and what is
// wrong with it.
type formState struct {
	Values map[string]any
	// Origins maps a row's path to its index in the stored config, for
	// the rows that came from it.
	Origins map[string]int
	// Errors maps a field's dotted path to its problems; "" is the form.
	Errors map[string][]string
}

func newFormState() *formState {
	return &formState{Values: map[string]any{}, Origins: map[string]int{}, Errors: map[string][]string{}}
}

func (st *formState) addError(path, msg string) {
	st.Errors[path] = append(st.Errors[path], msg)
}

// joinPath appends a segment to a dotted path.
func joinPath(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// readForm builds a config from posted form fields under schema s.
func readForm(s *formSchema, form url.Values) *formState {
	st := newFormState()
	for k, vs := range form {
		if p, ok := strings.CutPrefix(k, formOrigin); ok && len(vs) > 0 {
			if n, err := strconv.Atoi(vs[0]); err == nil && n >= 0 {
				st.Origins[p] = n
			}
		}
	}
	if v, ok := st.read(s, "", form); ok {
		if m, isMap := v.(map[string]any); isMap {
			st.Values = m
		}
	}
	return st
}

// read returns the value of the field at path, and whether it has one.
func (st *formState) read(s *formSchema, path string, form url.Values) (any, bool) {
	switch {
	case len(s.OneOf) > 0:
		return st.readObject(s, st.chosen(s, path, form), path, form)
	case s.Type == "object":
		return st.readObject(s, nil, path, form)
	case s.isEnumSet():
		return st.readEnumSet(s, path, form)
	case s.Type == "array":
		return st.readRows(s, path, form)
	case s.Type == "boolean":
		return form.Get(path) == "true", true
	case len(s.Enum) > 0:
		return st.readEnum(s, path, form)
	}
	raw := form.Get(path)
	if raw == "" {
		return nil, false
	}
	switch s.Type {
	case "integer":
		if n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err == nil {
			return n, true
		}
		st.addError(path, "is not a whole number")
		return raw, true
	case "number":
		if f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
			return f, true
		}
		st.addError(path, "is not a number")
		return raw, true
	case "string":
		return raw, true
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		st.addError(path, "is not valid JSON")
		return raw, true
	}
	return v, true
}

// readObject reads an object's properties and, when variant is set, the
// properties of the oneOf variant chosen. An object with nothing set is
// absent, except the top level.
func (st *formState) readObject(s, variant *formSchema, path string, form url.Values) (any, bool) {
	m := map[string]any{}
	props := s.Props
	if variant != nil {
		props = append(slices.Clone(props), variant.Props...)
	}
	for _, p := range props {
		if p.Schema.Hidden {
			continue
		}
		if c, ok := constOf(p.Schema); ok && p.Schema.HasConst {
			m[p.Name] = c
			continue
		}
		if v, ok := st.read(p.Schema, joinPath(path, p.Name), form); ok {
			m[p.Name] = v
		}
	}
	return m, path == "" || len(m) > 0
}

// chosen returns the oneOf variant the form selected, or the first.
func (st *formState) chosen(s *formSchema, path string, form url.Values) *formSchema {
	if s.Discriminator != "" {
		want := form.Get(joinPath(path, s.Discriminator))
		for _, v := range s.OneOf {
			if c, _ := constOf(v.prop(s.Discriminator)); fmt.Sprint(c) == want {
				return v
			}
		}
		return s.OneOf[0]
	}
	if i, err := strconv.Atoi(form.Get(formVariantKey + path)); err == nil && i >= 0 && i < len(s.OneOf) {
		return s.OneOf[i]
	}
	return s.OneOf[0]
}

// variantOf returns the index of the variant a config value takes.
func variantOf(s *formSchema, v any) int {
	m, _ := v.(map[string]any)
	if s.Discriminator != "" && m != nil {
		for i, vs := range s.OneOf {
			if c, _ := constOf(vs.prop(s.Discriminator)); fmt.Sprint(c) == fmt.Sprint(m[s.Discriminator]) {
				return i
			}
		}
	}
	if m != nil {
		// Without a discriminator: the first variant whose required
		// properties are all there.
		for i, vs := range s.OneOf {
			ok := true
			for name := range vs.Required {
				if _, has := m[name]; !has {
					ok = false
				}
			}
			if ok && len(vs.Required) > 0 {
				return i
			}
		}
	}
	return 0
}

// readEnum maps the selected option back to the enum member it shows.
func (st *formState) readEnum(s *formSchema, path string, form url.Values) (any, bool) {
	raw := form.Get(path)
	if raw == "" {
		return nil, false
	}
	for _, e := range s.Enum {
		if fmt.Sprint(e) == raw {
			return e, true
		}
	}
	st.addError(path, "is not one of the choices")
	return raw, true
}

func (st *formState) readEnumSet(s *formSchema, path string, form url.Values) (any, bool) {
	var out []any
	for _, raw := range form[path] {
		for _, e := range s.Items.Enum {
			if fmt.Sprint(e) == raw {
				out = append(out, e)
			}
		}
	}
	return out, out != nil
}

// readRows reads rows 0..n-1, n being the hidden row count.
func (st *formState) readRows(s *formSchema, path string, form url.Values) (any, bool) {
	n, err := strconv.Atoi(form.Get(formRows + path))
	if err != nil || n <= 0 {
		return nil, false
	}
	n = min(n, maxFormRows)
	item := s.Items
	if item == nil {
		item = &formSchema{}
	}
	out := make([]any, 0, n)
	for i := range n {
		v, ok := st.read(item, joinPath(path, strconv.Itoa(i)), form)
		switch {
		case ok:
		case item.Type == "object" || len(item.OneOf) > 0:
			// An empty object row keeps its place, so the rows below
			// keep their numbers (and their origins).
			v = emptyValue(item)
		default:
			continue // an empty line of a list is no value
		}
		out = append(out, v)
	}
	return out, true
}

// emptyValue is a new row's value: the item's default, or an empty
// object for an object item.
func emptyValue(s *formSchema) any {
	switch {
	case s.HasDefault:
		return s.Default
	case s.Type == "object" || len(s.OneOf) > 0:
		return defaults(s)
	}
	return nil
}

// defaults builds an object's initial value from its properties'
// defaults and, for a oneOf, its first variant's discriminator.
func defaults(s *formSchema) map[string]any {
	m := map[string]any{}
	props := s.Props
	if len(s.OneOf) > 0 {
		props = append(slices.Clone(props), s.OneOf[0].Props...)
	}
	for _, p := range props {
		switch c := p.Schema; {
		case c.HasConst:
			m[p.Name] = c.Const
		case c.HasDefault:
			m[p.Name] = c.Default
		case c.Type == "object" || len(c.OneOf) > 0:
			if d := defaults(c); len(d) > 0 {
				m[p.Name] = d
			}
		}
	}
	return m
}

// applyAction performs an add-row or remove-row button on the state; it
// reports whether the action was one.
func (st *formState) applyAction(s *formSchema, action string) bool {
	if path, ok := strings.CutPrefix(action, "add:"); ok {
		arr, item := lookup(s, st.Values, path)
		if item == nil || item.Type != "array" {
			return true
		}
		rows, _ := arr.([]any)
		if len(rows) < maxFormRows {
			setPath(st.Values, path, append(rows, emptyValue(orEmpty(item.Items))))
		}
		return true
	}
	if path, ok := strings.CutPrefix(action, "remove:"); ok {
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return true
		}
		arrPath := path[:i]
		idx, err := strconv.Atoi(path[i+1:])
		arr, _ := lookup(s, st.Values, arrPath)
		rows, _ := arr.([]any)
		if err != nil || idx < 0 || idx >= len(rows) {
			return true
		}
		setPath(st.Values, arrPath, slices.Delete(slices.Clone(rows), idx, idx+1))
		st.shiftRows(arrPath, idx)
		return true
	}
	return false
}

// shiftRows renumbers the origins and errors under an array after row
// idx was removed, so they follow their rows.
func (st *formState) shiftRows(arrPath string, idx int) {
	prefix := arrPath + "."
	renum := func(k string) (string, bool) {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			return k, true
		}
		seg, tail, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(seg)
		switch {
		case err != nil || n < idx:
			return k, true
		case n == idx:
			return "", false
		}
		nk := prefix + strconv.Itoa(n-1)
		if tail != "" {
			nk += "." + tail
		}
		return nk, true
	}
	origins := map[string]int{}
	for k, v := range st.Origins {
		if nk, ok := renum(k); ok {
			origins[nk] = v
		}
	}
	st.Origins = origins
	errs := map[string][]string{}
	for k, v := range st.Errors {
		if nk, ok := renum(k); ok {
			errs[nk] = v
		}
	}
	st.Errors = errs
}

func orEmpty(s *formSchema) *formSchema {
	if s == nil {
		return &formSchema{}
	}
	return s
}

// lookup returns the value and schema at a dotted path.
func lookup(s *formSchema, v any, path string) (any, *formSchema) {
	if path == "" {
		return v, s
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
			s = childSchema(s, seg, x)
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, nil
			}
			v, s = x[i], orEmpty(s).Items
		default:
			v = nil
			s = childSchema(s, seg, nil)
		}
		if s == nil {
			return nil, nil
		}
	}
	return v, s
}

// childSchema is the schema of property name of an object value m,
// looking into the variant m takes.
func childSchema(s *formSchema, name string, m map[string]any) *formSchema {
	if s == nil {
		return nil
	}
	if c := s.prop(name); c != nil {
		return c
	}
	if len(s.OneOf) > 0 {
		return s.OneOf[variantOf(s, m)].prop(name)
	}
	return nil
}

// setPath sets the value at a dotted path of objects and arrays, creating
// missing objects.
func setPath(root map[string]any, path string, val any) {
	segs := strings.Split(path, ".")
	var cur any = root
	for i, seg := range segs {
		last := i == len(segs)-1
		switch x := cur.(type) {
		case map[string]any:
			if last {
				x[seg] = val
				return
			}
			if _, ok := x[seg].(map[string]any); !ok {
				if _, isArr := x[seg].([]any); !isArr {
					x[seg] = map[string]any{}
				}
			}
			cur = x[seg]
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(x) {
				return
			}
			if last {
				x[n] = val
				return
			}
			cur = x[n]
		default:
			return
		}
	}
}

// decodeConfig turns a config's JSON into the form's value tree.
func decodeConfig(raw json.RawMessage) map[string]any {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// cloneValues deep-copies a value tree.
func cloneValues(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := maps.Clone(x)
		for k, val := range out {
			out[k] = cloneValues(val)
		}
		return out
	case []any:
		out := slices.Clone(x)
		for i, val := range out {
			out[i] = cloneValues(val)
		}
		return out
	}
	return v
}

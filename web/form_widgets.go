package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrysync/ferry/store"
)

// formWidget is one field of a generated form, as the "specfield"
// template renders it. Kind picks the markup:
//
//	input      <input> (text, number, date, password)
//	textarea   multiline text, or JSON for a schema the form cannot break down
//	checkbox   a boolean
//	select     an enum
//	checkboxes an array of enum values
//	list       an array of strings or numbers, one input per row
//	rows       an array of objects, one fieldset per row
//	object     a nested object, as a fieldset
//	oneof      a select between variants, each variant's fields beneath
type formWidget struct {
	Kind        string
	Name        string // the dotted path: the input's name
	ID          string
	Label       string
	Help        string
	Required    bool
	Secret      bool
	Stored      bool // a secret with a stored value, which empty keeps
	InRow       bool // inside an array row
	InputType   string
	Value       string
	Placeholder string
	Pattern     string
	Min, Max    string
	Step        string
	Examples    string
	Checked     bool
	Options     []formOption
	Errors      []string

	Fields   []*formWidget  // object: properties; list: the row inputs
	Rows     []*formRow     // rows
	Variants []*formVariant // oneof
	Select   string         // oneof: the name of the variant select
	RowCount int            // list and rows
}

// formOption is a select's option or a checkbox of a set.
type formOption struct {
	Value    string
	Label    string
	Selected bool
}

// formRow is one row of an array of objects.
type formRow struct {
	Index  int
	Name   string // the row's path, for its remove button
	Origin string // index in the stored config, or empty for a new row
	Fields []*formWidget
}

// formVariant is one choice of a oneOf; only the selected one's fields
// are enabled, so only they are posted.
type formVariant struct {
	Value    string
	Label    string
	Selected bool
	Fields   []*formWidget
}

// formSection is a group of top-level fields ("group" in the spec).
type formSection struct {
	Title  string
	Fields []*formWidget
}

// widgetBuilder builds the widget tree of a form state. stored is the
// stored config, masked, when editing: it says which secrets have a value
// to keep.
type widgetBuilder struct {
	st     *formState
	stored map[string]any
	used   map[string]bool // error paths shown next to a field
}

// buildWidgets returns the form's sections and the errors that belong to
// no field shown.
func buildWidgets(s *formSchema, st *formState, stored map[string]any) ([]*formSection, []string) {
	b := &widgetBuilder{st: st, stored: stored, used: map[string]bool{}}
	fields := b.objectFields(s, nil, st.Values, "", false)
	sections := []*formSection{{}}
	byGroup := map[string]*formSection{}
	for _, g := range s.Groups {
		sec := &formSection{Title: g.Title}
		if sec.Title == "" {
			sec.Title = g.ID
		}
		byGroup[g.ID] = sec
		sections = append(sections, sec)
	}
	for i, p := range visibleProps(s.Props) {
		sec := sections[0]
		if g, ok := byGroup[p.Schema.Group]; ok {
			sec = g
		}
		sec.Fields = append(sec.Fields, fields[i])
	}
	if len(s.OneOf) > 0 {
		// A top level that is itself a oneOf gets one field for it.
		sections[0].Fields = append(sections[0].Fields, b.widget(s, st.Values, "", "", false, true))
	}
	sections = slices.DeleteFunc(sections, func(sec *formSection) bool { return len(sec.Fields) == 0 })
	var loose []string
	for _, path := range sortedKeys(st.Errors) {
		if !b.used[path] {
			for _, msg := range st.Errors[path] {
				if path != "" {
					msg = path + " " + msg
				}
				loose = append(loose, msg)
			}
		}
	}
	return sections, loose
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// visibleProps drops airbyte_hidden properties and the discriminator
// consts, which the form sets itself.
func visibleProps(props []*formProp) []*formProp {
	return slices.DeleteFunc(slices.Clone(props), func(p *formProp) bool {
		return p.Schema.Hidden || p.Schema.HasConst
	})
}

// objectFields builds the widgets of an object's visible properties.
func (b *widgetBuilder) objectFields(s *formSchema, extra []*formProp, v any, path string, inRow bool) []*formWidget {
	m, _ := v.(map[string]any)
	var out []*formWidget
	for _, p := range visibleProps(append(slices.Clone(s.Props), extra...)) {
		out = append(out, b.widget(p.Schema, m[p.Name], joinPath(path, p.Name), p.Name, inRow, s.Required[p.Name]))
	}
	return out
}

// widget builds the field of one schema at path, holding value v.
func (b *widgetBuilder) widget(s *formSchema, v any, path, name string, inRow, required bool) *formWidget {
	w := &formWidget{Name: path, ID: "f-" + path, Label: s.label(name), Help: s.Description,
		Required: required, Secret: s.Secret, InRow: inRow}
	if path == "" {
		w.ID = "f-root"
	}
	if errs := b.st.Errors[path]; len(errs) > 0 {
		w.Errors, b.used[path] = errs, true
	}
	switch {
	case len(s.OneOf) > 0:
		b.oneOf(w, s, v, path, inRow)
	case s.Type == "object":
		w.Kind = "object"
		w.Fields = b.objectFields(s, nil, v, path, inRow)
	case s.isEnumSet():
		b.enumSet(w, s, v)
	case s.Type == "array":
		b.array(w, s, v, path)
	case s.Type == "boolean":
		w.Kind, w.Checked = "checkbox", v == true
	case len(s.Enum) > 0:
		b.enum(w, s, v, required)
	default:
		b.scalar(w, s, v, path)
	}
	return w
}

func (b *widgetBuilder) oneOf(w *formWidget, s *formSchema, v any, path string, inRow bool) {
	w.Kind = "oneof"
	w.Select = formVariantKey + path
	if s.Discriminator != "" {
		w.Select = joinPath(path, s.Discriminator)
	}
	chosen := variantOf(s, v)
	for i, vs := range s.OneOf {
		fv := &formVariant{Value: strconv.Itoa(i), Label: vs.variantLabel(s.Discriminator, i), Selected: i == chosen}
		if s.Discriminator != "" {
			c, _ := constOf(vs.prop(s.Discriminator))
			fv.Value = fmt.Sprint(c)
		}
		// The variants not chosen show their defaults, ready for a
		// switch; their inputs are disabled, so they are not posted.
		val := any(defaults(vs))
		if i == chosen {
			val = v
		}
		fv.Fields = b.objectFields(vs, s.Props, val, path, inRow)
		w.Variants = append(w.Variants, fv)
	}
	if errs := b.st.Errors[w.Select]; len(errs) > 0 {
		w.Errors, b.used[w.Select] = append(w.Errors, errs...), true
	}
}

func (b *widgetBuilder) enumSet(w *formWidget, s *formSchema, v any) {
	w.Kind = "checkboxes"
	have, _ := v.([]any)
	for _, e := range s.Items.Enum {
		w.Options = append(w.Options, formOption{Value: fmt.Sprint(e), Label: fmt.Sprint(e),
			Selected: slices.ContainsFunc(have, func(h any) bool { return fmt.Sprint(h) == fmt.Sprint(e) })})
	}
}

func (b *widgetBuilder) enum(w *formWidget, s *formSchema, v any, required bool) {
	w.Kind = "select"
	if !required || v == nil {
		w.Options = append(w.Options, formOption{Label: "—"})
	}
	for _, e := range s.Enum {
		w.Options = append(w.Options, formOption{Value: fmt.Sprint(e), Label: fmt.Sprint(e),
			Selected: v != nil && fmt.Sprint(v) == fmt.Sprint(e)})
	}
}

// array builds a list (scalar items) or rows (object items).
func (b *widgetBuilder) array(w *formWidget, s *formSchema, v any, path string) {
	rows, _ := v.([]any)
	item := orEmpty(s.Items)
	w.RowCount = len(rows)
	if item.Type != "object" && len(item.OneOf) == 0 {
		w.Kind = "list"
		for i, row := range rows {
			rp := joinPath(path, strconv.Itoa(i))
			w.Fields = append(w.Fields, b.widget(item, row, rp, fmt.Sprintf("%s %d", w.Label, i+1), true, false))
		}
		return
	}
	w.Kind = "rows"
	for i, row := range rows {
		rp := joinPath(path, strconv.Itoa(i))
		r := &formRow{Index: i, Name: rp}
		if o, ok := b.st.Origins[rp]; ok {
			r.Origin = strconv.Itoa(o)
		}
		if len(item.OneOf) > 0 {
			r.Fields = []*formWidget{b.widget(item, row, rp, "", true, true)}
		} else {
			r.Fields = b.objectFields(item, nil, row, rp, true)
		}
		w.Rows = append(w.Rows, r)
	}
}

// scalar builds a text, number, date or password input, or a textarea.
// A secret's value is never written into the page: the input is empty,
// and says when a stored value stands behind it.
func (b *widgetBuilder) scalar(w *formWidget, s *formSchema, v any, path string) {
	w.Kind, w.InputType = "input", "text"
	switch {
	case s.Secret:
		w.InputType = "password"
		if valueAt(b.stored, path) == store.Mask {
			w.Stored = true
		}
		w.Placeholder = secretPlaceholder(w)
		return
	case s.Type == "integer" || s.Type == "number":
		w.InputType, w.Step = "number", "any"
		if s.Type == "integer" {
			w.Step = "1"
		}
		if s.Minimum != nil {
			w.Min = strconv.FormatFloat(*s.Minimum, 'f', -1, 64)
		}
		if s.Maximum != nil {
			w.Max = strconv.FormatFloat(*s.Maximum, 'f', -1, 64)
		}
	case s.Type == "":
		w.Kind = "textarea"
		if v != nil {
			if raw, ok := v.(string); ok && len(b.st.Errors[path]) > 0 {
				w.Value = raw // the text that did not parse, as typed
			} else {
				j, _ := json.MarshalIndent(v, "", "  ")
				w.Value = string(j)
			}
		}
		w.Help = strings.TrimSpace(w.Help + " (JSON)")
		return
	case s.Multiline:
		w.Kind = "textarea"
	case s.Format == "date":
		w.InputType = "date"
	}
	if s.Pattern != "" && w.Kind == "input" {
		// A JSON Schema pattern matches anywhere in the value, while the
		// browser anchors an HTML pattern to the whole value: widen it so
		// the browser never refuses what the server accepts.
		w.Pattern = ".*(?:" + s.Pattern + ").*"
	}
	if s.PatternDescriptor != "" {
		w.Placeholder = s.PatternDescriptor
	} else if s.Format == "date-time" {
		w.Placeholder = "YYYY-MM-DDTHH:MM:SSZ"
	}
	if len(s.Examples) > 0 {
		ex := make([]string, len(s.Examples))
		for i, e := range s.Examples {
			ex[i] = fmt.Sprint(e)
		}
		w.Examples = strings.Join(ex, ", ")
		if w.Placeholder == "" {
			w.Placeholder = ex[0]
		}
	}
	if v != nil {
		w.Value = scalarText(v)
	}
}

// secretPlaceholder tells what leaving a secret empty does.
func secretPlaceholder(w *formWidget) string {
	switch {
	case w.Stored && w.InRow:
		return "stored: leave empty to keep it while this row is unchanged"
	case w.Stored:
		return "stored: leave empty to keep it"
	}
	return ""
}

// scalarText writes a value for an input: strings as they are, numbers
// without exponent noise.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	}
	j, _ := json.Marshal(v)
	return string(j)
}

// valueAt returns the value at a dotted path of a value tree, or nil.
func valueAt(v any, path string) any {
	if path == "" {
		return v
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The spec-form engine turns a connector's connectionSpecification (JSON
// Schema as Airbyte's connectors write it) into an HTML form, reads the
// form back into a config, and re-renders it with each validation error
// next to its field. It has three parts: form_schema.go reads the schema
// into a tree of formSchema nodes; form_values.go converts between posted
// form fields and config values; form_widgets.go builds the widget tree
// the "specform" templates render. Pages use it through specForm
// (form.go), so any page that edits a config against a schema can.

// maxSchemaDepth bounds nesting and $ref chains: a recursive spec renders
// to this depth and no deeper, instead of forever.
const maxSchemaDepth = 16

// formSchema is one node of a connection specification, with what the
// form needs and nothing else. Types are normalised: "string", "integer",
// "number", "boolean", "object", "array", or "" when the schema says
// nothing the form can use (it is then edited as JSON text).
type formSchema struct {
	Type        string
	Title       string
	Description string
	Default     any
	HasDefault  bool
	Examples    []any

	Pattern           string
	PatternDescriptor string
	Format            string
	Multiline         bool
	Secret            bool
	Hidden            bool
	Minimum, Maximum  *float64

	Enum     []any
	Const    any
	HasConst bool
	Order    *int
	Group    string

	Props    []*formProp     // object properties, in form order
	Required map[string]bool // object: required property names
	Items    *formSchema     // array: the item schema
	OneOf    []*formSchema   // object: the variants
	// Discriminator is the property whose const tells the oneOf variants
	// apart, as Airbyte specs do ("auth_type": {"const": "key"}); empty
	// when they have none, and the form then selects by index.
	Discriminator string
	// Groups are the top level's "groups" (id and title), in order.
	Groups []formGroup
}

// formProp is a named property of an object.
type formProp struct {
	Name   string
	Schema *formSchema
}

// formGroup is an entry of a spec's top-level "groups".
type formGroup struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// parseFormSchema reads the connectionSpecification of a
// ConnectorSpecification (or a bare JSON Schema).
func parseFormSchema(spec json.RawMessage) (*formSchema, error) {
	var top struct {
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(spec, &top); err != nil {
		return nil, fmt.Errorf("the spec is not a JSON object: %w", err)
	}
	root := spec
	if top.ConnectionSpecification != nil {
		root = top.ConnectionSpecification
	}
	var doc any
	if err := json.Unmarshal(root, &doc); err != nil {
		return nil, fmt.Errorf("the connection specification is not JSON: %w", err)
	}
	p := &schemaParser{doc: doc}
	s := p.node(root, 0)
	if p.err != nil {
		return nil, p.err
	}
	var groups struct {
		Groups []formGroup `json:"groups"`
	}
	_ = json.Unmarshal(root, &groups) // groups are optional decoration
	s.Groups = groups.Groups
	return s, nil
}

// schemaParser resolves local $refs against the whole document.
type schemaParser struct {
	doc any
	err error
}

// rawSchema is the part of a schema node the form reads.
type rawSchema struct {
	Ref               string            `json:"$ref"`
	Type              json.RawMessage   `json:"type"`
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	Default           json.RawMessage   `json:"default"`
	Examples          []any             `json:"examples"`
	Pattern           string            `json:"pattern"`
	PatternDescriptor string            `json:"pattern_descriptor"`
	Format            string            `json:"format"`
	Multiline         bool              `json:"multiline"`
	Secret            bool              `json:"airbyte_secret"`
	Hidden            bool              `json:"airbyte_hidden"`
	Minimum           *float64          `json:"minimum"`
	Maximum           *float64          `json:"maximum"`
	Enum              []any             `json:"enum"`
	Const             json.RawMessage   `json:"const"`
	Order             *int              `json:"order"`
	Group             string            `json:"group"`
	Properties        json.RawMessage   `json:"properties"`
	Required          []string          `json:"required"`
	Items             json.RawMessage   `json:"items"`
	OneOf             []json.RawMessage `json:"oneOf"`
	AnyOf             []json.RawMessage `json:"anyOf"`
}

func (p *schemaParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

// node reads one schema. A $ref is followed (its siblings, such as a
// title or airbyte_secret, still apply, as Airbyte's tooling reads them).
func (p *schemaParser) node(raw json.RawMessage, depth int) *formSchema {
	s := &formSchema{}
	if depth > maxSchemaDepth {
		return s
	}
	var r rawSchema
	if err := json.Unmarshal(raw, &r); err != nil {
		if !bytes.Equal(bytes.TrimSpace(raw), []byte("true")) {
			p.fail("a schema is not a JSON object: %v", err)
		}
		return s
	}
	if r.Ref != "" {
		target, err := p.resolve(r.Ref)
		if err != nil {
			p.fail("%v", err)
			return s
		}
		s = p.node(target, depth+1)
	}
	p.apply(s, &r, depth)
	return s
}

// apply copies r onto s, leaving what r does not say as it is.
func (p *schemaParser) apply(s *formSchema, r *rawSchema, depth int) {
	if t := schemaType(r.Type); t != "" {
		s.Type = t
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.Title, r.Title)
	set(&s.Description, r.Description)
	set(&s.Pattern, r.Pattern)
	set(&s.PatternDescriptor, r.PatternDescriptor)
	set(&s.Format, r.Format)
	set(&s.Group, r.Group)
	s.Multiline = s.Multiline || r.Multiline
	s.Secret = s.Secret || r.Secret
	s.Hidden = s.Hidden || r.Hidden
	if r.Examples != nil {
		s.Examples = r.Examples
	}
	if r.Minimum != nil {
		s.Minimum = r.Minimum
	}
	if r.Maximum != nil {
		s.Maximum = r.Maximum
	}
	if r.Order != nil {
		s.Order = r.Order
	}
	if r.Default != nil && json.Unmarshal(r.Default, &s.Default) == nil {
		s.HasDefault = true
	}
	if r.Const != nil && json.Unmarshal(r.Const, &s.Const) == nil {
		s.HasConst = true
	}
	if r.Enum != nil {
		s.Enum = r.Enum
	}
	if r.Properties != nil {
		s.Props = p.props(r.Properties, depth)
		if s.Type == "" {
			s.Type = "object"
		}
	}
	if len(r.Required) > 0 {
		s.Required = map[string]bool{}
		for _, n := range r.Required {
			s.Required[n] = true
		}
	}
	if r.Items != nil {
		s.Items = p.node(r.Items, depth+1)
	}
	variants := r.OneOf
	if variants == nil {
		variants = r.AnyOf
	}
	if variants != nil {
		s.OneOf = nil
		for _, v := range variants {
			s.OneOf = append(s.OneOf, p.node(v, depth+1))
		}
		s.Discriminator = discriminator(s.OneOf)
		if s.Type == "" {
			s.Type = "object"
		}
	}
	if s.Type == "" && s.Enum != nil {
		s.Type = "string"
	}
}

// props reads "properties" in the document's order, then sorts them by
// "order"; those without one keep their place after the ordered ones.
func (p *schemaParser) props(raw json.RawMessage, depth int) []*formProp {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		p.fail("properties is not a JSON object")
		return nil
	}
	var out []*formProp
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			p.fail("properties: %v", err)
			return out
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			p.fail("properties: %v", err)
			return out
		}
		out = append(out, &formProp{Name: t.(string), Schema: p.node(v, depth+1)})
	}
	slices.SortStableFunc(out, func(a, b *formProp) int {
		switch oa, ob := a.Schema.Order, b.Schema.Order; {
		case oa != nil && ob != nil:
			return *oa - *ob
		case oa != nil:
			return -1
		case ob != nil:
			return 1
		}
		return 0
	})
	return out
}

// resolve follows a local JSON pointer ("#/definitions/tunnel").
func (p *schemaParser) resolve(ref string) (json.RawMessage, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %s: only local references (#/...) are supported", ref)
	}
	cur := p.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %s points at nothing", ref)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %s points at nothing", ref)
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, errors.New("$ref " + ref + ": " + err.Error())
	}
	return b, nil
}

// schemaType normalises "type": a string, or a list such as
// ["string", "null"] of which the first non-null type counts.
func schemaType(raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return knownType(one)
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return knownType(t)
			}
		}
	}
	return ""
}

func knownType(t string) string {
	switch t {
	case "string", "integer", "number", "boolean", "object", "array":
		return t
	}
	return ""
}

// discriminator finds the property that every variant fixes to its own
// value with const (or a one-value enum), as Airbyte's oneOf objects do.
// It normalises such a one-value enum into a const.
func discriminator(variants []*formSchema) string {
	if len(variants) == 0 {
		return ""
	}
	for _, cand := range variants[0].Props {
		seen := map[string]bool{}
		ok := true
		for _, v := range variants {
			ps := v.prop(cand.Name)
			c, has := constOf(ps)
			key := fmt.Sprint(c)
			if !has || seen[key] {
				ok = false
				break
			}
			seen[key] = true
		}
		if ok {
			for _, v := range variants {
				ps := v.prop(cand.Name)
				ps.Const, ps.HasConst = constOf(ps)
			}
			return cand.Name
		}
	}
	return ""
}

// constOf returns a schema's fixed value: its const, or its enum's only
// member.
func constOf(s *formSchema) (any, bool) {
	switch {
	case s == nil:
		return nil, false
	case s.HasConst:
		return s.Const, true
	case len(s.Enum) == 1:
		return s.Enum[0], true
	}
	return nil, false
}

// prop returns the schema of the named property, or nil.
func (s *formSchema) prop(name string) *formSchema {
	for _, p := range s.Props {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// label is what a field is called on the page: its title, or its name.
func (s *formSchema) label(name string) string {
	if s.Title != "" {
		return s.Title
	}
	return name
}

// variantLabel names a oneOf variant in the select.
func (s *formSchema) variantLabel(disc string, i int) string {
	if s.Title != "" {
		return s.Title
	}
	if c, ok := constOf(s.prop(disc)); ok {
		return fmt.Sprint(c)
	}
	return fmt.Sprintf("Option %d", i+1)
}

// isEnumSet reports whether an array is a set of enum values, edited as
// checkboxes; other arrays are edited as rows.
func (s *formSchema) isEnumSet() bool {
	return s.Type == "array" && s.Items != nil && len(s.Items.Enum) > 0
}

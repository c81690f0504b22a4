package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// schemaNode is the part of a JSON Schema that `ferry connector spec`
// shows.
type schemaNode struct {
	Type        any                    `json:"type"`
	Title       string                 `json:"title"`
	Description string                 `json:"description"`
	Secret      bool                   `json:"airbyte_secret"`
	Order       *int                   `json:"order"`
	Enum        []any                  `json:"enum"`
	Const       any                    `json:"const"`
	Default     any                    `json:"default"`
	Required    []string               `json:"required"`
	Properties  map[string]*schemaNode `json:"properties"`
	OneOf       []*schemaNode          `json:"oneOf"`
	AnyOf       []*schemaNode          `json:"anyOf"`
	Items       *schemaNode            `json:"items"`
}

// maxSpecDepth bounds the nesting shown: specs are trees, but a bound
// keeps a pathological one from filling the terminal.
const maxSpecDepth = 8

// printProperties lists the config properties of a connection
// specification, nested ones under their parent, each object's in their
// "order" and then by name, with enums, defaults and the options of a
// oneOf (Airbyte's way of offering alternatives, e.g. auth methods).
func printProperties(w io.Writer, schema json.RawMessage) {
	var root schemaNode
	if json.Unmarshal(schema, &root) != nil || len(root.Properties) == 0 {
		fmt.Fprintln(w, "\nNo config properties.")
		return
	}
	fmt.Fprintln(w, "\nConfig properties:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tSECRET\tDESCRIPTION")
	printObject(tw, &root, "  ", 0)
	tw.Flush()
}

// printObject writes one row per property of n, and its children below.
func printObject(w io.Writer, n *schemaNode, indent string, depth int) {
	order := func(name string) int {
		if o := n.Properties[name].Order; o != nil {
			return *o
		}
		return 1 << 30
	}
	names := slices.Sorted(maps.Keys(n.Properties))
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(order(a), order(b)) })
	for _, name := range names {
		p := n.Properties[name]
		if p == nil {
			continue
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%s\n", indent, name, typeText(p), yes(slices.Contains(n.Required, name)),
			yes(p.Secret), describeNode(p))
		printChildren(w, p, indent+"  ", depth+1)
	}
}

// printChildren writes what is nested in p: its properties, its items'
// properties, and each option of a oneOf or anyOf with its own.
func printChildren(w io.Writer, p *schemaNode, indent string, depth int) {
	if depth >= maxSpecDepth {
		if len(p.Properties) > 0 || len(p.OneOf) > 0 || len(p.AnyOf) > 0 {
			fmt.Fprintf(w, "%s...\t\t\t\t(nested deeper; see --json)\n", indent)
		}
		return
	}
	printObject(w, p, indent, depth)
	if p.Items != nil && len(p.Items.Properties) > 0 {
		fmt.Fprintf(w, "%s[] (each item)\t%s\t\t\t%s\n", indent, typeText(p.Items), describeNode(p.Items))
		printChildren(w, p.Items, indent+"  ", depth+1)
	}
	for i, opt := range slices.Concat(p.OneOf, p.AnyOf) {
		if opt == nil {
			continue
		}
		fmt.Fprintf(w, "%soption %d: %s\t%s\t\t\t%s\n", indent, i+1, optionName(opt, i), typeText(opt), firstSentence(opt.Description))
		printChildren(w, opt, indent+"  ", depth+1)
	}
}

// optionName names a oneOf option by its title, or by the constant that
// tells the options apart.
func optionName(opt *schemaNode, i int) string {
	if opt.Title != "" {
		return opt.Title
	}
	for _, p := range opt.Properties {
		if p != nil && p.Const != nil {
			return fmt.Sprint(p.Const)
		}
	}
	return fmt.Sprintf("#%d", i+1)
}

// typeText is a node's type: its JSON type, or oneOf.
func typeText(n *schemaNode) string {
	var t string
	switch v := n.Type.(type) {
	case string:
		t = v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		t = strings.Join(parts, "|")
	}
	if t == "" && len(n.Properties) > 0 {
		t = "object"
	}
	switch {
	case len(n.OneOf) > 0:
		t = strings.TrimPrefix(t+" oneOf", " ")
	case len(n.AnyOf) > 0:
		t = strings.TrimPrefix(t+" anyOf", " ")
	case t == "array" && n.Items != nil && typeText(n.Items) != "":
		t = "array of " + typeText(n.Items)
	}
	return cmp.Or(t, "any")
}

// describeNode is the first sentence of a node's description (or title),
// then its constant, enum and default.
func describeNode(n *schemaNode) string {
	parts := []string{}
	if d := firstSentence(cmp.Or(n.Description, n.Title)); d != "" {
		parts = append(parts, d)
	}
	if n.Const != nil {
		parts = append(parts, "= "+valueText(n.Const))
	}
	enum := n.Enum
	if len(enum) == 0 && n.Items != nil {
		enum = n.Items.Enum
	}
	if len(enum) > 0 {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = valueText(v)
		}
		parts = append(parts, "one of: "+strings.Join(vals, ", "))
	}
	// A secret's default could be a real credential: never shown.
	if n.Default != nil && !n.Secret {
		parts = append(parts, "default: "+valueText(n.Default))
	}
	return strings.Join(parts, " ")
}

// valueText writes a schema value compactly, strings quoted.
func valueText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if s := string(b); len(s) <= 60 {
		return s
	}
	return string(b[:57]) + "..."
}

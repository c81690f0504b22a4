package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of one schema, so a hostile spec cannot
// exhaust the stack. References do not count against it: each target is
// read once, from the top of its own walk.
const maxDepth = 64

// node is one schema location. The subschemas that apply to the same value
// (allOf, anyOf, oneOf, then, else, dependencies) are merged into it, so a
// field that is secret in any branch is secret whatever branch a config
// takes, as Airbyte's JsonSecretsProcessor does. A "$ref" target is a node
// of its own, shared by every reference to it and linked through also:
// that keeps a recursive schema finite.
type node struct {
	secret   bool
	props    map[string]*node // properties
	patterns []pattern        // patternProperties
	other    *node            // additionalProperties: keys not in props
	items    *node            // items, prefixItems, additionalItems
	also     []*node          // "$ref" targets that apply here too
	live     bool             // a secret is reachable from here
}

// pattern is one patternProperties member. A nil re matches every key: a
// pattern Go cannot compile is treated as matching everything, since
// masking too much is safe and masking too little is not.
type pattern struct {
	re *regexp.Regexp
	n  *node
}

// schemaNode holds the keywords of a subschema that can lead to a secret.
type schemaNode struct {
	Secret               json.RawMessage            `json:"airbyte_secret"`
	Properties           map[string]json.RawMessage `json:"properties"`
	PatternProperties    map[string]json.RawMessage `json:"patternProperties"`
	AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	Items                json.RawMessage            `json:"items"`
	PrefixItems          []json.RawMessage          `json:"prefixItems"`
	AdditionalItems      json.RawMessage            `json:"additionalItems"`
	OneOf                []json.RawMessage          `json:"oneOf"`
	AnyOf                []json.RawMessage          `json:"anyOf"`
	AllOf                []json.RawMessage          `json:"allOf"`
	Then                 json.RawMessage            `json:"then"`
	Else                 json.RawMessage            `json:"else"`
	DependentSchemas     map[string]json.RawMessage `json:"dependentSchemas"`
	Dependencies         map[string]json.RawMessage `json:"dependencies"` // draft-07; array values name keys, not schemas
	Ref                  *string                    `json:"$ref"`
}

// builder reads one spec into a graph of nodes.
type builder struct {
	root json.RawMessage
	refs map[string]*node // "$ref" value -> its target's node
	// containers caches the decoded objects and arrays on the way to
	// reference targets, by JSON pointer.
	containers map[string]any
	queue      []refWork // targets still to read
	all        []*node
	err        error // the first problem; reading goes on past it
}

type refWork struct {
	n      *node
	ref    string
	schema json.RawMessage
}

func (b *builder) newNode() *node {
	n := &node{}
	b.all = append(b.all, n)
	return n
}

// fail records the first problem found.
func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

// build reads the schema root and every reference it reaches, then marks
// the nodes from which a secret is reachable.
func (b *builder) build() *node {
	top := b.newNode()
	b.add(top, b.root, "#", 0)
	// References are read breadth first rather than recursively, so a long
	// chain of them costs no stack and each target is read once.
	for len(b.queue) > 0 {
		w := b.queue[0]
		b.queue = b.queue[1:]
		b.add(w.n, w.schema, w.ref, 0)
	}
	b.markLive()
	return top
}

// add merges the secrets of schema, found at the JSON pointer at, into n.
func (b *builder) add(n *node, schema json.RawMessage, at string, depth int) {
	if depth > maxDepth {
		b.fail("schema at %s nested deeper than %d levels", at, maxDepth)
		return
	}
	if kind(schema) != '{' {
		return // a boolean schema, or junk where a schema may be absent
	}
	var s schemaNode
	if err := json.Unmarshal(schema, &s); err != nil {
		b.fail("malformed schema at %s: %s", at, jsonErrText(err))
		return
	}
	if string(bytes.TrimSpace(s.Secret)) == "true" {
		n.secret = true
	}
	for k, sub := range s.Properties {
		if n.props == nil {
			n.props = make(map[string]*node)
		}
		c := n.props[k]
		if c == nil {
			c = b.newNode()
			n.props[k] = c
		}
		b.add(c, sub, at+"/properties/"+escapeToken(k), depth+1)
	}
	for p, sub := range s.PatternProperties {
		re, err := regexp.Compile(p)
		if err != nil {
			re = nil
		}
		c := b.newNode()
		n.patterns = append(n.patterns, pattern{re: re, n: c})
		b.add(c, sub, at+"/patternProperties/"+escapeToken(p), depth+1)
	}
	if kind(s.AdditionalProperties) == '{' {
		if n.other == nil {
			n.other = b.newNode()
		}
		b.add(n.other, s.AdditionalProperties, at+"/additionalProperties", depth+1)
	}
	b.addItems(n, &s, at, depth)
	sub := func(kw string, schemas ...json.RawMessage) {
		for i, c := range schemas {
			where := at + "/" + kw
			if len(schemas) > 1 || kw == "allOf" || kw == "anyOf" || kw == "oneOf" {
				where += "/" + strconv.Itoa(i)
			}
			b.add(n, c, where, depth+1)
		}
	}
	sub("oneOf", s.OneOf...)
	sub("anyOf", s.AnyOf...)
	sub("allOf", s.AllOf...)
	sub("then", s.Then)
	sub("else", s.Else)
	for _, kw := range []struct {
		name string
		m    map[string]json.RawMessage
	}{{"dependentSchemas", s.DependentSchemas}, {"dependencies", s.Dependencies}} {
		for k, c := range kw.m {
			b.add(n, c, at+"/"+kw.name+"/"+escapeToken(k), depth+1)
		}
	}
	if s.Ref != nil {
		b.addRef(n, *s.Ref)
	}
}

// addItems merges the schemas of an array's elements into n.items.
func (b *builder) addItems(n *node, s *schemaNode, at string, depth int) {
	type item struct {
		schema json.RawMessage
		at     string
	}
	var items []item
	for i, c := range s.PrefixItems {
		items = append(items, item{c, at + "/prefixItems/" + strconv.Itoa(i)})
	}
	switch kind(s.Items) {
	case '{':
		items = append(items, item{s.Items, at + "/items"})
	case '[': // draft-07 tuple form
		var es []json.RawMessage
		if err := json.Unmarshal(s.Items, &es); err != nil {
			b.fail("malformed schema at %s/items: %s", at, jsonErrText(err))
		}
		for i, c := range es {
			items = append(items, item{c, at + "/items/" + strconv.Itoa(i)})
		}
	}
	items = append(items, item{s.AdditionalItems, at + "/additionalItems"})
	for _, it := range items {
		if kind(it.schema) != '{' {
			continue
		}
		if n.items == nil {
			n.items = b.newNode()
		}
		b.add(n.items, it.schema, it.at, depth+1)
	}
}

// addRef links n to the node of a local reference ("#/definitions/x",
// "#"), reading the target once. Other references are not fetched.
func (b *builder) addRef(n *node, ref string) {
	t, ok := b.refs[ref]
	if !ok {
		target, err := b.resolve(ref)
		if err != nil {
			// A dangling reference declares nothing Ferry could find; a
			// validator, not the secret finder, should reject it.
			return
		}
		t = b.newNode()
		b.refs[ref] = t
		b.queue = append(b.queue, refWork{n: t, ref: ref, schema: target})
	}
	if t != n {
		n.also = append(n.also, t)
	}
}

// markLive marks every node from which a secret is reachable: it walks
// the links backwards from the secret nodes. References can form cycles,
// which the walk crosses once.
func (b *builder) markLive() {
	parents := make(map[*node][]*node)
	var stack []*node
	for _, n := range b.all {
		for _, c := range n.children() {
			parents[c] = append(parents[c], n)
		}
		if n.secret {
			n.live = true
			stack = append(stack, n)
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range parents[n] {
			if !p.live {
				p.live = true
				stack = append(stack, p)
			}
		}
	}
}

// children lists the nodes n links to.
func (n *node) children() []*node {
	out := append([]*node(nil), n.also...)
	for _, c := range n.props {
		out = append(out, c)
	}
	for _, p := range n.patterns {
		out = append(out, p.n)
	}
	if n.other != nil {
		out = append(out, n.other)
	}
	if n.items != nil {
		out = append(out, n.items)
	}
	return out
}

// resolve returns the value a local JSON pointer reference ("#",
// "#/definitions/x", "#/allOf/0") names in the root schema. Containers
// are decoded once and kept, so many references into one big
// "definitions" cost one decode of it, not one each.
func (b *builder) resolve(ref string) (json.RawMessage, error) {
	if !strings.HasPrefix(ref, "#") {
		return nil, errors.New("not a local reference")
	}
	ptr := strings.TrimPrefix(ref, "#")
	if ptr == "" {
		return b.root, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, errors.New("not a JSON pointer")
	}
	cur, at := b.root, ""
	for _, raw := range strings.Split(ptr[1:], "/") {
		tok := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		c, ok := b.containers[at]
		if !ok {
			var err error
			if c, err = decodeContainer(cur); err != nil {
				return nil, err
			}
			b.containers[at] = c
		}
		var next json.RawMessage
		switch c := c.(type) {
		case map[string]json.RawMessage:
			next = c[tok]
		case []json.RawMessage:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(c) {
				next = c[i]
			}
		}
		if next == nil {
			return nil, fmt.Errorf("nothing at %q", tok)
		}
		cur, at = next, at+"/"+raw
	}
	return cur, nil
}

// decodeContainer splits an object or array into its members; anything
// else gives nil, which holds nothing.
func decodeContainer(v json.RawMessage) (any, error) {
	var err error
	switch kind(v) {
	case '{':
		var m map[string]json.RawMessage
		if err = json.Unmarshal(v, &m); err == nil {
			return m, nil
		}
	case '[':
		var a []json.RawMessage
		if err = json.Unmarshal(v, &a); err == nil {
			return a, nil
		}
	default:
		return nil, nil
	}
	return nil, errors.New(jsonErrText(err))
}

// escapeToken escapes a key for a JSON pointer.
func escapeToken(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// kind returns the first byte of a JSON value: '{', '[', '"', 'n', 't',
// 'f', a digit or '-'; 0 for none.
func kind(v json.RawMessage) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// jsonErrText shortens a JSON error for users.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("unexpected JSON %s", te.Value)
	}
	return err.Error()
}

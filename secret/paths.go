// Package secret finds the secret values of a connector config and masks
// them. A connector's spec marks a field secret with "airbyte_secret": true,
// anywhere in its JSON Schema. Find reads those marks once, and everything
// that handles secrets goes through what it finds: the store encrypts the
// values at rest, and a Redactor built from Values masks them in every log
// line, error and message Ferry prints or serves.
package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Paths is the set of locations in a config that a spec declares secret,
// seen from one location. The nil *Paths holds no secret, and every method
// accepts it.
type Paths struct {
	// nodes are the schema nodes that apply here, closed under their "$ref"
	// links, and only those from which a secret is reachable.
	nodes []*node
}

// Find returns the secret paths of a connector spec: a whole
// ConnectorSpecification, whose connectionSpecification is read, or the
// JSON Schema itself. A field is secret when its schema says
// "airbyte_secret": true, and Find looks for that flag wherever a config
// value can be described: properties, patternProperties and
// additionalProperties; items, prefixItems and additionalItems of arrays;
// the branches of oneOf, anyOf and allOf; then and else; dependencies and
// dependentSchemas; and local "$ref" references (JSON pointers such as
// "#/definitions/tunnel"), which may be recursive. A field secret in any
// branch is secret whatever branch a config takes.
//
// An empty spec has no secrets. For a malformed spec, Find returns the
// secrets it could find and an error describing the first problem:
// validation rejects the spec, while redaction still masks what is known.
func Find(spec json.RawMessage) (*Paths, error) {
	spec = bytes.TrimSpace(spec)
	if len(spec) == 0 || string(spec) == "null" {
		return nil, nil
	}
	if kind(spec) != '{' {
		return nil, errors.New("spec is not a JSON object")
	}
	var top struct {
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(spec, &top); err != nil {
		return nil, errors.New("malformed spec: " + jsonErrText(err))
	}
	schema := spec
	if top.ConnectionSpecification != nil {
		schema = top.ConnectionSpecification
	}
	b := &builder{root: schema, refs: make(map[string]*node), containers: make(map[string]any)}
	root := b.build()
	return pathsOf([]*node{root}), b.err
}

// Values returns the secret values of config under spec, for a Redactor:
// see Find and Paths.Values. It never fails, since redaction must not be
// the reason a message is lost: a malformed spec gives what Find could
// find, and a malformed config gives nothing.
func Values(spec, config json.RawMessage) []string {
	p, _ := Find(spec)
	return p.Values(config)
}

// pathsOf returns the Paths of the given nodes and of every node they link
// to, keeping only nodes that lead to a secret; nil when none does.
func pathsOf(seeds []*node) *Paths {
	var out []*node
	stack := slices.Clone(seeds)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || !n.live || slices.Contains(out, n) {
			continue
		}
		out = append(out, n)
		stack = append(stack, n.also...)
	}
	if len(out) == 0 {
		return nil
	}
	return &Paths{nodes: out}
}

// Secret reports whether the value here is secret as a whole.
func (p *Paths) Secret() bool {
	if p == nil {
		return false
	}
	for _, n := range p.nodes {
		if n.secret {
			return true
		}
	}
	return false
}

// Key returns the paths below the member k of an object here; nil when no
// secret can be there.
func (p *Paths) Key(k string) *Paths {
	if p == nil {
		return nil
	}
	var next []*node
	for _, n := range p.nodes {
		if c, ok := n.props[k]; ok {
			next = append(next, c)
		} else if n.other != nil {
			next = append(next, n.other)
		}
		for _, pt := range n.patterns {
			if pt.re == nil || pt.re.MatchString(k) {
				next = append(next, pt.n)
			}
		}
	}
	return pathsOf(next)
}

// Index returns the paths below element i of an array here; nil when no
// secret can be there. Every element has the same paths: the schemas of a
// tuple's positions are merged, since they are rarely secret one by one.
func (p *Paths) Index(int) *Paths {
	if p == nil {
		return nil
	}
	var next []*node
	for _, n := range p.nodes {
		if n.items != nil {
			next = append(next, n.items)
		}
	}
	return pathsOf(next)
}

// Union returns the paths secret in p or in q.
func (p *Paths) Union(q *Paths) *Paths {
	switch {
	case p == nil:
		return q
	case q == nil:
		return p
	}
	return pathsOf(append(slices.Clone(p.nodes), q.nodes...))
}

// Values returns the values of config at secret locations, for a Redactor.
// A secret object or array contributes each of its leaves. Strings are
// returned as their text and numbers as written; booleans, nulls and empty
// strings are left out, since masking them would hide nothing. The result
// holds no duplicates, longer values first: a value comes before any value
// that is its prefix. A config that is not JSON gives nil.
func (p *Paths) Values(config json.RawMessage) []string {
	if p == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []string
	p.collect(v, &out)
	slices.SortFunc(out, longestFirst)
	return slices.Compact(out)
}

// longestFirst orders longer strings first, then alphabetically.
func longestFirst(a, b string) int {
	if len(a) != len(b) {
		return len(b) - len(a)
	}
	return strings.Compare(a, b)
}

func (p *Paths) collect(v any, out *[]string) {
	if p == nil {
		return
	}
	if p.Secret() {
		leaves(v, out)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			p.Key(k).collect(c, out)
		}
	case []any:
		for i, c := range v {
			p.Index(i).collect(c, out)
		}
	}
}

func leaves(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		if v != "" {
			*out = append(*out, v)
		}
	case json.Number:
		*out = append(*out, v.String())
	case map[string]any:
		for _, c := range v {
			leaves(c, out)
		}
	case []any:
		for _, c := range v {
			leaves(c, out)
		}
	}
}

// maxConfigDepth bounds the nesting Marked follows.
const maxConfigDepth = 4 * maxDepth

// Marked returns the paths of the values in config for which isSecret
// holds: the store uses it to keep a value it encrypted secret whatever a
// later spec says. Values inside a marked value are not visited.
func Marked(config json.RawMessage, isSecret func(v json.RawMessage) bool) (*Paths, error) {
	b := &builder{}
	root := b.newNode()
	if err := b.mark(root, config, isSecret, 0); err != nil {
		return nil, err
	}
	b.markLive()
	return pathsOf([]*node{root}), nil
}

func (b *builder) mark(n *node, v json.RawMessage, isSecret func(json.RawMessage) bool, depth int) error {
	if depth > maxConfigDepth {
		return errors.New("config nested too deep")
	}
	if isSecret(v) {
		n.secret = true
		return nil
	}
	switch kind(v) {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		for k, c := range m {
			if n.props == nil {
				n.props = make(map[string]*node)
			}
			n.props[k] = b.newNode()
			if err := b.mark(n.props[k], c, isSecret, depth+1); err != nil {
				return err
			}
		}
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		for _, c := range a {
			if n.items == nil {
				n.items = b.newNode()
			}
			if err := b.mark(n.items, c, isSecret, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

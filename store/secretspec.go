package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// secretTree marks where a connector spec declares secrets. It merges every
// branch of oneOf, anyOf and allOf into one node, so a field that is secret
// in any branch is treated as secret whatever branch a config uses, as
// Airbyte's JsonSecretsProcessor does; the conditional subschemas (then,
// else, dependentSchemas, dependencies) are merged the same way, and local
// "$ref"s ("#/definitions/x") are followed. "*" stands for any key
// (additionalProperties, patternProperties).
type secretTree struct {
	secret bool
	props  map[string]*secretTree
	items  *secretTree
}

// maxSchemaDepth bounds recursion on hostile specs.
const maxSchemaDepth = 64

// parseSecretTree reads the secret paths of a spec. spec may be a whole
// ConnectorSpecification (its connectionSpecification is used) or the JSON
// Schema itself. An empty spec has no secrets.
func parseSecretTree(spec json.RawMessage) (*secretTree, error) {
	t := &secretTree{}
	if len(bytes.TrimSpace(spec)) == 0 || string(spec) == "null" {
		return t, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(spec, &top); err != nil {
		return nil, invalid("spec", "not a JSON object")
	}
	schema := spec
	if cs, ok := top["connectionSpecification"]; ok {
		schema = cs
	}
	if err := t.addIn(schema, schema, 0); err != nil {
		return nil, err
	}
	t.prune()
	return t, nil
}

type schemaNode struct {
	Secret               json.RawMessage            `json:"airbyte_secret"`
	Properties           map[string]json.RawMessage `json:"properties"`
	PatternProperties    map[string]json.RawMessage `json:"patternProperties"`
	AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	Items                json.RawMessage            `json:"items"`
	PrefixItems          []json.RawMessage          `json:"prefixItems"`
	OneOf                []json.RawMessage          `json:"oneOf"`
	AnyOf                []json.RawMessage          `json:"anyOf"`
	AllOf                []json.RawMessage          `json:"allOf"`
	Then                 json.RawMessage            `json:"then"`
	Else                 json.RawMessage            `json:"else"`
	DependentSchemas     map[string]json.RawMessage `json:"dependentSchemas"`
	Dependencies         map[string]json.RawMessage `json:"dependencies"` // draft-07; array values are skipped
	Ref                  string                     `json:"$ref"`
}

// resolveRef returns the subschema a local "$ref" (a JSON pointer into
// root, such as "#/definitions/x") names, or nil when it names none.
func resolveRef(root json.RawMessage, ref string) json.RawMessage {
	if !strings.HasPrefix(ref, "#") {
		return nil // remote references are not fetched
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var m map[string]json.RawMessage
		if kindOf(cur) != '{' || json.Unmarshal(cur, &m) != nil {
			return nil
		}
		if cur = m[tok]; cur == nil {
			return nil
		}
	}
	return cur
}

// addIn adds the secrets of schema, a subschema of root, to t.
func (t *secretTree) addIn(root, schema json.RawMessage, depth int) error {
	if depth > maxSchemaDepth {
		return invalid("spec", "schema nested deeper than %d levels", maxSchemaDepth)
	}
	if kindOf(schema) != '{' {
		return nil // a boolean schema, or junk where a schema may be absent
	}
	var n schemaNode
	if err := json.Unmarshal(schema, &n); err != nil {
		return invalid("spec", "malformed schema: %s", jsonErrText(err))
	}
	if string(bytes.TrimSpace(n.Secret)) == "true" {
		t.secret = true
	}
	for k, sub := range n.Properties {
		if err := t.child(k).addIn(root, sub, depth+1); err != nil {
			return err
		}
	}
	for _, sub := range n.PatternProperties {
		if err := t.child("*").addIn(root, sub, depth+1); err != nil {
			return err
		}
	}
	if err := t.child("*").addIn(root, n.AdditionalProperties, depth+1); err != nil {
		return err
	}
	items := n.PrefixItems
	switch kindOf(n.Items) {
	case '{':
		items = append(items, n.Items)
	case '[': // draft-07 tuple form
		es, err := arrayElems(n.Items)
		if err != nil {
			return invalid("spec", "malformed items")
		}
		items = append(items, es...)
	}
	for _, sub := range items {
		if t.items == nil {
			t.items = &secretTree{}
		}
		if err := t.items.addIn(root, sub, depth+1); err != nil {
			return err
		}
	}
	conds := []json.RawMessage{n.Then, n.Else}
	for _, m := range []map[string]json.RawMessage{n.DependentSchemas, n.Dependencies} {
		for _, sub := range m {
			conds = append(conds, sub)
		}
	}
	// A recursive "$ref" would recurse to the depth bound; stop following
	// refs short of it, so such a spec is still accepted.
	if n.Ref != "" && depth < maxSchemaDepth-8 {
		conds = append(conds, resolveRef(root, n.Ref))
	}
	for _, branches := range [][]json.RawMessage{n.OneOf, n.AnyOf, n.AllOf, conds} {
		for _, b := range branches {
			if err := t.addIn(root, b, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// addEnvelopes marks as secret every location where stored, a stored
// config, holds an encrypted value, and prunes t again. A value that was
// encrypted stays a secret whatever a later spec says: a new spec that drops
// an airbyte_secret flag, or a definition whose cached spec was cleared,
// must not write the plaintext into the database, and an update sending
// the mask back for such a field keeps the stored value.
func (t *secretTree) addEnvelopes(stored json.RawMessage) error {
	if err := t.markEnvelopes(stored, 0); err != nil {
		return err
	}
	t.prune()
	return nil
}

func (t *secretTree) markEnvelopes(v json.RawMessage, depth int) error {
	if depth > maxSchemaDepth*4 {
		return errors.New("stored config nested too deep")
	}
	if _, ok := envelopeText(v); ok {
		t.secret = true
		return nil
	}
	switch kindOf(v) {
	case '{':
		if !bytes.Contains(v, []byte(envelopePrefix)) {
			return nil
		}
		ms, err := objectMembers(v)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := t.child(m.Key).markEnvelopes(m.Value, depth+1); err != nil {
				return err
			}
		}
	case '[':
		if !bytes.Contains(v, []byte(envelopePrefix)) {
			return nil
		}
		es, err := arrayElems(v)
		if err != nil {
			return err
		}
		for _, e := range es {
			if t.items == nil {
				t.items = &secretTree{}
			}
			if err := t.items.markEnvelopes(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *secretTree) child(k string) *secretTree {
	if t.props == nil {
		t.props = make(map[string]*secretTree)
	}
	c, ok := t.props[k]
	if !ok {
		c = &secretTree{}
		t.props[k] = c
	}
	return c
}

// prune drops the branches without secrets and reports whether t has any.
func (t *secretTree) prune() bool {
	if t == nil {
		return false
	}
	for k, c := range t.props {
		if !c.prune() {
			delete(t.props, k)
		}
	}
	if !t.items.prune() {
		t.items = nil
	}
	return t.secret || len(t.props) > 0 || t.items != nil
}

// rewrite returns v with every value at a secret location replaced by
// fn(path, value, peer), where peer is the value at the same location in
// another document (nil when absent or when no peer document is given).
// Null values are left alone: there is nothing to hide.
func (t *secretTree) rewrite(v, peer json.RawMessage, path jsonPath, fn func(path jsonPath, v, peer json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if t == nil {
		return v, nil
	}
	if t.secret {
		if kindOf(v) == 'n' {
			return v, nil
		}
		return fn(path, v, peer)
	}
	switch kindOf(v) {
	case '{':
		if len(t.props) == 0 {
			return v, nil
		}
		ms, err := objectMembers(v)
		if err != nil {
			return nil, err
		}
		peers := map[string]json.RawMessage{}
		if kindOf(peer) == '{' {
			pms, err := objectMembers(peer)
			if err != nil {
				return nil, err
			}
			for _, m := range pms {
				peers[m.Key] = m.Value
			}
		}
		for i := range ms {
			c := t.props[ms[i].Key]
			if c == nil {
				c = t.props["*"]
			}
			k := ms[i].Key
			if ms[i].Value, err = c.rewrite(ms[i].Value, peers[k], path.key(k), fn); err != nil {
				return nil, err
			}
		}
		return buildObject(ms), nil
	case '[':
		if t.items == nil {
			return v, nil
		}
		es, err := arrayElems(v)
		if err != nil {
			return nil, err
		}
		var pes []json.RawMessage
		if kindOf(peer) == '[' {
			if pes, err = arrayElems(peer); err != nil {
				return nil, err
			}
		}
		for i := range es {
			var p json.RawMessage
			if i < len(pes) {
				p = pes[i]
			}
			if es[i], err = t.items.rewrite(es[i], p, path.index(i), fn); err != nil {
				return nil, err
			}
		}
		return buildArray(es), nil
	}
	return v, nil
}

// jsonErrText shortens a JSON error for users.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return err.Error()
}

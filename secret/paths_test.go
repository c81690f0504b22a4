package secret

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/secret/secrettest"
)

// moreConstructs are cases beyond secrettest.Cases: corners of the
// constructs that only the finder needs to know about.
var moreConstructs = []secrettest.Case{
	{Name: "whole ConnectorSpecification",
		Spec:    `{"documentationUrl":"x","connectionSpecification":{"properties":{"pw":{"airbyte_secret":true}}}}`,
		Config:  `{"pw":"S-spec","other":"plain"}`,
		Secrets: []string{"S-spec"}},
	{Name: "$ref through $defs and an escaped pointer",
		Spec:    `{"properties":{"auth":{"$ref":"#/$defs/a~1b"}},"$defs":{"a/b":{"properties":{"pw":{"airbyte_secret":true}}}}}`,
		Config:  `{"auth":{"pw":"S-ref2"}}`,
		Secrets: []string{"S-ref2"}},
	{Name: "$ref into an array",
		Spec:    `{"properties":{"auth":{"$ref":"#/definitions/all/1"}},"definitions":{"all":[{},{"properties":{"pw":{"airbyte_secret":true}}}]}}`,
		Config:  `{"auth":{"pw":"S-refarr"}}`,
		Secrets: []string{"S-refarr"}},
	{Name: "$ref cycle without a schema",
		Spec:    `{"properties":{"a":{"$ref":"#/$defs/x"},"pw":{"airbyte_secret":true}},"$defs":{"x":{"$ref":"#/$defs/y"},"y":{"$ref":"#/$defs/x"}}}`,
		Config:  `{"a":"plain","pw":"S-cycle"}`,
		Secrets: []string{"S-cycle"}},
	{Name: "$ref to the root",
		Spec:    `{"properties":{"pw":{"airbyte_secret":true},"next":{"$ref":"#"}}}`,
		Config:  `{"pw":"S-root1","next":{"pw":"S-root2","x":"plain","next":{"pw":"S-root3"}}}`,
		Secrets: []string{"S-root1", "S-root2", "S-root3"}},
	{Name: "patternProperties on a declared key",
		Spec:    `{"properties":{"pw_x":{"type":"string"}},"patternProperties":{"^pw_":{"airbyte_secret":true}}}`,
		Config:  `{"pw_x":"S-patdecl","name":"plain"}`,
		Secrets: []string{"S-patdecl"}},
	{Name: "a pattern Go cannot compile matches every key, declared or not",
		Spec:    `{"properties":{"host":{}},"patternProperties":{"(?<=x)pw":{"airbyte_secret":true}}}`,
		Config:  `{"host":"S-badpat1","anything":"S-badpat2"}`,
		Secrets: []string{"S-badpat1", "S-badpat2"}},
	{Name: "draft-07 tuple items, positions merged, and additionalItems",
		Spec:    `{"properties":{"a":{"items":[{},{"airbyte_secret":true}],"additionalItems":{"properties":{"pw":{"airbyte_secret":true}}}}}}`,
		Config:  `{"a":["S-tuple1","S-tuple2",{"pw":"S-additems"}]}`,
		Secrets: []string{"S-additems", "S-tuple1", "S-tuple2"}},
	{Name: "secret object and number",
		Spec:    `{"properties":{"creds":{"type":"object","airbyte_secret":true},"pin":{"type":"integer","airbyte_secret":true},"on":{"airbyte_secret":true}}}`,
		Config:  `{"creds":{"id":"S-obj1","list":["S-obj2",true,null,""]},"pin":12345678901234567890,"on":true}`,
		Secrets: []string{"12345678901234567890", "S-obj1", "S-obj2"}},
	{Name: "$ref inside oneOf inside items",
		Spec:    `{"properties":{"l":{"items":{"oneOf":[{"$ref":"#/definitions/k"}]}}},"definitions":{"k":{"properties":{"pw":{"airbyte_secret":true}}}}}`,
		Config:  `{"l":[{"pw":"S-deep"}]}`,
		Secrets: []string{"S-deep"}},
}

// TestFindEachConstruct checks that a secret declared behind each
// construct is found, and nothing else.
func TestFindEachConstruct(t *testing.T) {
	for _, tc := range append(slices.Clone(secrettest.Cases), moreConstructs...) {
		t.Run(tc.Name, func(t *testing.T) {
			p, err := Find(json.RawMessage(tc.Spec))
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			want := slices.SortedFunc(slices.Values(tc.Secrets), longestFirst)
			if diff := cmp.Diff(want, p.Values(json.RawMessage(tc.Config))); diff != "" {
				t.Errorf("Values (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFindMalformed checks that a malformed spec is an error, while the
// secrets declared in its well-formed parts are still found for redaction.
func TestFindMalformed(t *testing.T) {
	for _, tc := range []struct{ name, spec, wantErr string }{
		{"not an object", `[1]`, "not a JSON object"},
		{"not JSON", `{"properties":`, "malformed spec"},
		{"properties not an object", `{"properties":{"pw":{"airbyte_secret":true},"x":{"properties":"no"}}}`, "malformed schema at #/properties/x"},
		{"too deep", `{"properties":{"pw":{"airbyte_secret":true},"x":` + strings.Repeat(`{"properties":{"a":`, 70) + `{}` + strings.Repeat(`}}`, 70) + `}}`, "nested deeper than 64 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Find(json.RawMessage(tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(tc.spec, "airbyte_secret") {
				if got := p.Values(json.RawMessage(`{"pw":"S-still"}`)); len(got) != 1 || got[0] != "S-still" {
					t.Errorf("the well-formed part lost its secret: %q", got)
				}
			}
		})
	}
}

// TestFindNoSecrets checks specs that declare nothing: empty, null, and
// schemas whose references dangle or point outside the spec.
func TestFindNoSecrets(t *testing.T) {
	for _, spec := range []string{``, `null`, `{}`, `{"properties":{"a":{"type":"string"}}}`,
		`{"properties":{"a":{"$ref":"#/definitions/none"}}}`, `{"properties":{"a":{"$ref":"other.json#/x"}}}`,
		`{"properties":{"a":{"airbyte_secret":false}}}`} {
		p, err := Find(json.RawMessage(spec))
		if err != nil {
			t.Errorf("%s: %v", spec, err)
		}
		if p != nil || p.Secret() || p.Key("a") != nil || p.Values(json.RawMessage(`{"a":"x"}`)) != nil {
			t.Errorf("%s: found secrets in a spec that declares none", spec)
		}
	}
}

// TestMarkedUnion checks that locations marked in a stored config add to
// the secrets of a spec.
func TestMarkedUnion(t *testing.T) {
	spec, err := Find(json.RawMessage(`{"properties":{"pw":{"airbyte_secret":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	isEnvelope := func(v json.RawMessage) bool { return strings.HasPrefix(string(v), `{"_secret"`) }
	marked, err := Marked(json.RawMessage(`{"old":{"_secret":"x"},"l":[{"k":{"_secret":"y"}}],"plain":"p"}`), isEnvelope)
	if err != nil {
		t.Fatal(err)
	}
	got := spec.Union(marked).Values(json.RawMessage(`{"pw":"S-1","old":"S-2","l":[{"k":"S-3","j":"plain"}],"plain":"plain"}`))
	if diff := cmp.Diff([]string{"S-1", "S-2", "S-3"}, got); diff != "" { // same length: alphabetical
		t.Errorf("Values (-want +got):\n%s", diff)
	}
	if m, err := Marked(json.RawMessage(`{"a":1}`), isEnvelope); err != nil || m != nil {
		t.Errorf("nothing marked: got %v, %v; want nil", m, err)
	}
}

// TestValuesLenient checks that Values never fails: a malformed config
// gives nothing, a malformed spec what could be read.
func TestValuesLenient(t *testing.T) {
	if got := Values(json.RawMessage(`{"properties":{"pw":{"airbyte_secret":true}}}`), json.RawMessage(`{"pw":`)); got != nil {
		t.Errorf("malformed config: got %q", got)
	}
	if got := Values(json.RawMessage(`{"properties":{"pw":{"airbyte_secret":true},"x":{"oneOf":3}}}`), json.RawMessage(`{"pw":"S-x"}`)); len(got) != 1 {
		t.Errorf("malformed spec: got %q, want [S-x]", got)
	}
}

// TestFindLongRefChain follows a chain of references longer than the
// nesting bound: references are read one after another, not nested.
func TestFindLongRefChain(t *testing.T) {
	var defs []string
	const n = 2000
	for i := range n {
		defs = append(defs, fmt.Sprintf(`"d%d":{"$ref":"#/definitions/d%d"}`, i, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"d%d":{"properties":{"pw":{"airbyte_secret":true}}}`, n))
	spec := `{"properties":{"a":{"$ref":"#/definitions/d0"}},"definitions":{` + strings.Join(defs, ",") + `}}`
	p, err := Find(json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Values(json.RawMessage(`{"a":{"pw":"S-far"}}`)); len(got) != 1 || got[0] != "S-far" {
		t.Errorf("got %q, want [S-far]", got)
	}
}

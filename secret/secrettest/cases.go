// Package secrettest holds connector specs that declare a secret behind
// each schema construct secret.Find follows, with configs that use them.
// The tests of every path a secret can leave Ferry by (the store, the
// runner's logs and errors, ferry sync) run over the same cases.
package secrettest

import "strings"

// Case is a spec with a secret behind one construct, and a config that
// fills it.
type Case struct {
	Name string
	// Spec is a connectionSpecification (a JSON Schema).
	Spec string
	// Config holds the values in Secrets at secret locations, and plain
	// values (host, user, ...) that are not secret.
	Config string
	// Secrets are the secret values of Config.
	Secrets []string
}

// Cases covers every construct: each secret value starts with "S3CRET-",
// is unique, and appears nowhere else in its case.
var Cases = []Case{
	{"property",
		`{"type":"object","properties":{"password":{"type":"string","airbyte_secret":true},"host":{"type":"string"}}}`,
		`{"password":"S3CRET-prop","host":"db.example"}`,
		[]string{"S3CRET-prop"}},
	{"$ref",
		`{"type":"object","properties":{"auth":{"$ref":"#/definitions/auth"}},"definitions":{"auth":{"type":"object","properties":{"user":{"type":"string"},"password":{"type":"string","airbyte_secret":true}}}}}`,
		`{"auth":{"user":"alice","password":"S3CRET-ref"}}`,
		[]string{"S3CRET-ref"}},
	{"recursive $ref",
		`{"$ref":"#/$defs/hop","$defs":{"hop":{"type":"object","properties":{"key":{"type":"string","airbyte_secret":true},"next":{"$ref":"#/$defs/hop"}}}}}`,
		`{"key":"S3CRET-hop1","next":{"key":"S3CRET-hop2"}}`,
		[]string{"S3CRET-hop1", "S3CRET-hop2"}},
	{"oneOf",
		`{"type":"object","properties":{"credentials":{"type":"object","oneOf":[{"properties":{"auth_type":{"const":"oauth"},"client_secret":{"type":"string","airbyte_secret":true}}},{"properties":{"auth_type":{"const":"key"},"api_key":{"type":"string","airbyte_secret":true}}}]}}}`,
		`{"credentials":{"auth_type":"key","api_key":"S3CRET-oneof"}}`,
		[]string{"S3CRET-oneof"}},
	{"anyOf",
		`{"type":"object","properties":{"token":{"anyOf":[{"type":"null"},{"type":"string","airbyte_secret":true}]}}}`,
		`{"token":"S3CRET-anyof"}`,
		[]string{"S3CRET-anyof"}},
	{"allOf",
		`{"type":"object","allOf":[{"properties":{"user":{"type":"string"}}},{"properties":{"password":{"type":"string","airbyte_secret":true}}}]}`,
		`{"user":"alice","password":"S3CRET-allof"}`,
		[]string{"S3CRET-allof"}},
	{"then",
		`{"type":"object","properties":{"ssl":{"type":"boolean"}},"if":{"properties":{"ssl":{"const":true}}},"then":{"properties":{"ssl_key":{"type":"string","airbyte_secret":true}}}}`,
		`{"ssl":true,"ssl_key":"S3CRET-then"}`,
		[]string{"S3CRET-then"}},
	{"else",
		`{"type":"object","properties":{"ssl":{"type":"boolean"}},"if":{"properties":{"ssl":{"const":true}}},"else":{"properties":{"password":{"type":"string","airbyte_secret":true}}}}`,
		`{"ssl":false,"password":"S3CRET-else"}`,
		[]string{"S3CRET-else"}},
	{"dependencies",
		`{"type":"object","properties":{"user":{"type":"string"}},"dependencies":{"user":{"properties":{"password":{"type":"string","airbyte_secret":true}}}}}`,
		`{"user":"alice","password":"S3CRET-dep"}`,
		[]string{"S3CRET-dep"}},
	{"dependentSchemas",
		`{"type":"object","properties":{"user":{"type":"string"}},"dependentSchemas":{"user":{"properties":{"password":{"type":"string","airbyte_secret":true}}}}}`,
		`{"user":"alice","password":"S3CRET-depschema"}`,
		[]string{"S3CRET-depschema"}},
	{"patternProperties",
		`{"type":"object","properties":{"host":{"type":"string"}},"patternProperties":{"^secret_":{"type":"string","airbyte_secret":true}}}`,
		`{"host":"db.example","secret_a":"S3CRET-pat"}`,
		[]string{"S3CRET-pat"}},
	{"additionalProperties",
		`{"type":"object","properties":{"host":{"type":"string"}},"additionalProperties":{"type":"string","airbyte_secret":true}}`,
		`{"host":"db.example","x_token":"S3CRET-addprops"}`,
		[]string{"S3CRET-addprops"}},
	{"array items",
		`{"type":"object","properties":{"tunnels":{"type":"array","items":{"type":"object","properties":{"host":{"type":"string"},"key":{"type":"string","airbyte_secret":true}}}}}}`,
		`{"tunnels":[{"host":"bastion1","key":"S3CRET-items1"},{"host":"bastion2","key":"S3CRET-items2"}]}`,
		[]string{"S3CRET-items1", "S3CRET-items2"}},
	{"prefixItems",
		`{"type":"object","properties":{"keys":{"type":"array","prefixItems":[{"type":"string","airbyte_secret":true}]}}}`,
		`{"keys":["S3CRET-tuple"]}`,
		[]string{"S3CRET-tuple"}},
}

// Refreshed returns c with every secret value changed, as a connector's
// CONTROL message carries a refreshed credential: each "S3CRET-" becomes
// "R3FRSH-".
func (c Case) Refreshed() Case {
	r := c
	r.Config = strings.ReplaceAll(c.Config, "S3CRET-", "R3FRSH-")
	r.Secrets = make([]string, len(c.Secrets))
	for i, s := range c.Secrets {
		r.Secrets[i] = strings.ReplaceAll(s, "S3CRET-", "R3FRSH-")
	}
	return r
}

// ConnectorSpecification returns c's spec as a whole ConnectorSpecification.
func (c Case) ConnectorSpecification() string {
	return `{"documentationUrl":"https://example.com","connectionSpecification":` + c.Spec + `}`
}

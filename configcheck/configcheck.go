// Package configcheck checks a connector's config against the
// connectionSpecification of its spec, as Airbyte's platform does before it
// runs a connector: `ferry sync` and the daemon refuse a config its spec
// rejects before read and write start.
package configcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ferrysync/ferry/secret"
)

// specSchemaURL names a connection specification inside the compiler; it
// is never fetched (refuseLoader).
const specSchemaURL = "https://ferry.invalid/connection-specification.json"

// refuseLoader refuses external $refs: a spec must not make Ferry read a
// file or call out.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external $ref %s is not allowed in a connector spec", url)
}

// Check checks a config against its connector's connectionSpecification
// before the sync starts: a wrong config refused here never reaches read
// or write, where a connector might fail half-way or, worse, write with
// defaults. The error names the first wrong field
// (configuration.credentials.password) and is masked by red, since a
// schema error may quote the rejected value. An empty connSpec checks
// nothing.
func Check(connSpec json.RawMessage, config []byte, red *secret.Redactor) error {
	if len(bytes.TrimSpace(connSpec)) == 0 {
		return nil // a connector without a spec: nothing to check against
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(connSpec))
	if err != nil {
		return fmt.Errorf("its spec's connectionSpecification is not valid JSON")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7) // Airbyte specs are draft-07, often without $schema
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(specSchemaURL, doc); err != nil {
		return fmt.Errorf("its spec: %v", err)
	}
	sch, err := c.Compile(specSchemaURL)
	if err != nil {
		return fmt.Errorf("its spec's connectionSpecification is not a valid JSON Schema: %s", red.Redact(err.Error()))
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(config))
	if err != nil {
		return errors.New("it is not valid JSON")
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); !errors.As(err, &ve) {
		return err
	}
	leaf, _ := deepestCause(ve)
	field, msg := Describe(leaf)
	return fmt.Errorf("%s %s", field, red.Redact(msg))
}

// deepestCause is the cause that points deepest into the config: for a
// oneOf that matched nothing, the branch that got furthest, usually the
// one meant.
func deepestCause(e *jsonschema.ValidationError) (*jsonschema.ValidationError, int) {
	if len(e.Causes) == 0 {
		d := len(e.InstanceLocation)
		if _, ok := e.ErrorKind.(*kind.Required); ok {
			d++ // the missing property is one level below
		}
		return e, d
	}
	best, depth := (*jsonschema.ValidationError)(nil), -1
	for _, c := range e.Causes {
		if l, d := deepestCause(c); d > depth {
			best, depth = l, d
		}
	}
	return best, depth
}

var schemaText = message.NewPrinter(language.English)

// Describe names a leaf schema violation's config field, as the API
// names fields (configuration.hosts[0].port), and says what is wrong.
func Describe(e *jsonschema.ValidationError) (field, msg string) {
	path := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return configPath(append(path[:len(path):len(path)], k.Missing[0])), "is required"
	case *kind.AdditionalProperties:
		return configPath(append(path[:len(path):len(path)], k.Properties[0])), "is not a property of this connector's configuration"
	case *kind.FalseSchema:
		return configPath(path), "is not allowed"
	}
	return configPath(path), e.ErrorKind.LocalizedString(schemaText)
}

// configPath names a config location as the API does:
// configuration.credentials.password, configuration.hosts[0].
func configPath(tokens []string) string {
	var b strings.Builder
	b.WriteString("configuration")
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		b.WriteString("." + t)
	}
	return b.String()
}

// CheckSpec is Check against a whole ConnectorSpecification document (as
// a definition caches it): its connectionSpecification member. A nil
// spec checks nothing.
func CheckSpec(spec json.RawMessage, config []byte, red *secret.Redactor) error {
	if len(bytes.TrimSpace(spec)) == 0 {
		return nil
	}
	var s struct {
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(spec, &s); err != nil {
		return errors.New("its cached spec is not valid JSON")
	}
	return Check(s.ConnectionSpecification, config, red)
}

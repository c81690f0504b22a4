package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/ferrysync/ferry/configcheck"
	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// specURL names the connection specification inside the compiler. It is
// never fetched: the loader below refuses every URL, so a spec cannot make
// Ferry read a file or call out with a $ref.
const specURL = "https://ferry.invalid/connection-specification.json"

// noLoader refuses external $refs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external $ref %s is not allowed in a connector spec", url)
}

// validateConfig checks a plaintext config against the connectionSpecification
// of a ConnectorSpecification, as Airbyte's platform does before saving.
// It returns a *store.ValidationError naming the first wrong field
// ("configuration.port"), its message masked by red, since a schema error
// may quote the value it rejected.
func validateConfig(spec, config json.RawMessage, red *secret.Redactor) error {
	sch, inst, err := compileConfig(spec, config, red)
	if err != nil {
		return err
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	leaf, _ := deepest(ve)
	field, msg := describe(leaf)
	return &store.ValidationError{Field: field, Message: red.Redact(msg)}
}

// compileConfig compiles the connectionSpecification of spec and parses
// config, for validateConfig and the UI's form, which lists every
// violation (form_validate.go).
func compileConfig(spec, config json.RawMessage, red *secret.Redactor) (*jsonschema.Schema, any, error) {
	var cs struct {
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(spec, &cs); err != nil || len(cs.ConnectionSpecification) == 0 {
		return nil, nil, &store.ValidationError{Field: "definitionId", Message: "the definition's spec has no connectionSpecification"}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(cs.ConnectionSpecification))
	if err != nil {
		return nil, nil, &store.ValidationError{Field: "definitionId", Message: "the definition's spec is not valid JSON"}
	}
	c := jsonschema.NewCompiler()
	// Airbyte connector specs are draft-07 and often omit $schema.
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(noLoader{})
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, nil, fmt.Errorf("add connector spec: %w", err)
	}
	sch, err := c.Compile(specURL)
	if err != nil {
		return nil, nil, &store.ValidationError{Field: "definitionId",
			Message: "the definition's connectionSpecification is not a valid JSON Schema: " + red.Redact(err.Error())}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(config))
	if err != nil {
		return nil, nil, &store.ValidationError{Field: "configuration", Message: "is not valid JSON"}
	}
	return sch, inst, nil
}

// deepest finds the most specific cause: the leaf that points deepest
// into the config, the first one among equals. For a oneOf that matched
// nothing this is the branch that got furthest, usually the one meant.
func deepest(e *jsonschema.ValidationError) (*jsonschema.ValidationError, int) {
	if len(e.Causes) == 0 {
		d := len(e.InstanceLocation)
		if _, ok := e.ErrorKind.(*kind.Required); ok {
			d++ // the missing property is one level below
		}
		return e, d
	}
	best, bestDepth := (*jsonschema.ValidationError)(nil), -1
	for _, c := range e.Causes {
		if l, d := deepest(c); d > bestDepth {
			best, bestDepth = l, d
		}
	}
	return best, bestDepth
}

// describe names a leaf error's field and says what is wrong with it, as
// ferry sync and the daemon's check before an attempt do.
func describe(e *jsonschema.ValidationError) (field, msg string) { return configcheck.Describe(e) }

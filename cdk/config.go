package cdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ferrysync/ferry/protocol"
)

// Request is what every command hands the connector: its config, already
// validated against the spec, and a logger whose records become LOG
// messages with secrets redacted.
type Request struct {
	// Config is the connector config as the user wrote it.
	Config json.RawMessage
	// Log writes LOG messages to stdout.
	Log *slog.Logger
}

// DecodeConfig unmarshals the config into v. A failure is a config error.
func (r *Request) DecodeConfig(v any) error {
	dec := json.NewDecoder(bytes.NewReader(r.Config))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return ConfigError("config: %v", err)
	}
	return nil
}

// maxConfigProblems caps how many schema violations one message lists.
const maxConfigProblems = 5

// validateConfig checks config against the spec's connectionSpecification
// and returns the decoded config. Violations come back as one config error
// that names each offending field.
func validateConfig(spec *protocol.Spec, config []byte) (any, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(config))
	if err != nil {
		return nil, ConfigError("config is not valid JSON: %v", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, ConfigError("config must be a JSON object")
	}
	sch, err := compileSpec(spec)
	if err != nil {
		return nil, err
	}
	err = sch.Validate(doc)
	var verr *jsonschema.ValidationError
	if errors.As(err, &verr) {
		problems := configProblems(verr)
		if len(problems) > maxConfigProblems {
			problems = append(problems[:maxConfigProblems], fmt.Sprintf("and %d more", len(problems)-maxConfigProblems))
		}
		return nil, ConfigError("invalid config: %s", strings.Join(problems, "; "))
	}
	if err != nil {
		return nil, SystemError("validate config: %v", err)
	}
	return doc, nil
}

// compileSpec compiles connectionSpecification. Airbyte specs are draft-07;
// the kit never fetches a remote schema.
func compileSpec(spec *protocol.Spec) (*jsonschema.Schema, error) {
	schemaDoc, err := specSchema(spec)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	const url = "ferry:///connectionSpecification.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		return nil, SystemError("spec: connectionSpecification: %v", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, SystemError("spec: connectionSpecification does not compile: %v", err)
	}
	return sch, nil
}

func specSchema(spec *protocol.Spec) (any, error) {
	if spec == nil || len(spec.ConnectionSpecification) == 0 {
		return nil, SystemError("spec has no connectionSpecification")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.ConnectionSpecification))
	if err != nil {
		return nil, SystemError("spec: connectionSpecification is not JSON: %v", err)
	}
	return doc, nil
}

var printer = message.NewPrinter(language.English)

// configProblems flattens a validation error tree into one line per leaf,
// each naming the field as a dotted path.
func configProblems(verr *jsonschema.ValidationError) []string {
	seen := make(map[string]bool)
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		var p string
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range req.Missing {
				p = fmt.Sprintf("field %q is required", fieldPath(append(e.InstanceLocation[:len(e.InstanceLocation):len(e.InstanceLocation)], m)))
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
			return
		}
		p = fmt.Sprintf("field %q: %s", fieldPath(e.InstanceLocation), e.ErrorKind.LocalizedString(printer))
		if len(e.InstanceLocation) == 0 {
			p = "config: " + e.ErrorKind.LocalizedString(printer)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	walk(verr)
	return out
}

// fieldPath renders an instance location as a.b[2].c.
func fieldPath(loc []string) string {
	var b strings.Builder
	for i, tok := range loc {
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

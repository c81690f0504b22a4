// Package protocoltest helps the tests of every package that speaks the
// protocol. It checks messages against the official Airbyte protocol
// schema, reads and checks golden files, and makes benchmark records.
//
// The schema is not part of the repository: it is
// ../shared/spec/airbyte_protocol.yaml relative to the repository root
// (CI provides it beside the clone), or the file named by
// FERRY_AIRBYTE_PROTOCOL_YAML. Without it, validation skips the test with a
// message saying where it looked, or fails it when FERRY_REQUIRE_SPEC=1
// (CI sets it, so a missing schema cannot pass unnoticed).
package protocoltest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// SchemaEnv names an environment variable that overrides the schema path.
const SchemaEnv = "FERRY_AIRBYTE_PROTOCOL_YAML"

// ErrNoSchema is returned by Schema when the schema file is absent.
var ErrNoSchema = errors.New("airbyte_protocol.yaml not found")

var (
	once      sync.Once
	schemas   map[string]*jsonschema.Schema
	schemaErr error
)

// definitions are the schema definitions Ferry validates against.
var definitions = []string{"AirbyteMessage", "ConfiguredAirbyteCatalog", "AirbyteCatalog", "AirbyteStateMessage"}

// SchemaPath returns where the schema is looked for: $FERRY_AIRBYTE_PROTOCOL_YAML,
// else ../shared/spec/airbyte_protocol.yaml next to the directory holding
// go.mod, found by walking up from the working directory (a test's package
// directory).
func SchemaPath() (string, error) {
	if p := os.Getenv(SchemaEnv); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "spec", "airbyte_protocol.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Schema returns the compiled schema of one definition of the protocol
// (for example "AirbyteMessage"). It wraps ErrNoSchema when the file is
// absent.
func Schema(definition string) (*jsonschema.Schema, error) {
	once.Do(load)
	if schemaErr != nil {
		return nil, schemaErr
	}
	s, ok := schemas[definition]
	if !ok {
		return nil, fmt.Errorf("protocoltest: definition %q is not compiled; have %v", definition, definitions)
	}
	return s, nil
}

func load() {
	path, err := SchemaPath()
	if err != nil {
		schemaErr = fmt.Errorf("%w: %v", ErrNoSchema, err)
		return
	}
	y, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		schemaErr = fmt.Errorf("%w at %s", ErrNoSchema, path)
		return
	}
	if err != nil {
		schemaErr = err
		return
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		schemaErr = fmt.Errorf("%s: %w", path, err)
		return
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		schemaErr = fmt.Errorf("%s: %w", path, err)
		return
	}
	c := jsonschema.NewCompiler()
	const url = "airbyte_protocol.json"
	if err := c.AddResource(url, doc); err != nil {
		schemaErr = fmt.Errorf("%s: %w", path, err)
		return
	}
	schemas = make(map[string]*jsonschema.Schema, len(definitions))
	for _, d := range definitions {
		s, err := c.Compile(url + "#/definitions/" + d)
		if err != nil {
			schemaErr = fmt.Errorf("%s: compiling %s: %w", path, d, err)
			return
		}
		schemas[d] = s
	}
}

// Validate checks one JSON document against a definition of the protocol
// schema. It wraps ErrNoSchema when the schema file is absent.
func Validate(definition string, doc []byte) error {
	s, err := Schema(definition)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(inst)
}

// RequireEnv names the variable that, set to 1, makes a missing schema
// fail the tests that need it instead of skipping them.
const RequireEnv = "FERRY_REQUIRE_SPEC"

// SkipNoSchema skips t because the schema is missing (err says where it
// was looked for), or fails it under FERRY_REQUIRE_SPEC=1.
func SkipNoSchema(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("the Airbyte protocol schema is required (%s=1): %v (set %s)", RequireEnv, err, SchemaEnv)
	}
	t.Skipf("skipping Airbyte schema validation: %v (set %s or put the file beside the clone)", err, SchemaEnv)
}

// ValidateMessage fails t unless line is a valid AirbyteMessage, and skips
// t when the schema file is absent.
func ValidateMessage(t testing.TB, line []byte) {
	t.Helper()
	ValidateDefinition(t, "AirbyteMessage", line)
}

// ValidateDefinition is ValidateMessage for another definition, such as
// "ConfiguredAirbyteCatalog".
func ValidateDefinition(t testing.TB, definition string, doc []byte) {
	t.Helper()
	err := Validate(definition, doc)
	if errors.Is(err, ErrNoSchema) {
		SkipNoSchema(t, err)
	}
	if err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			err = fmt.Errorf("%#v", ve) // every failing keyword, not just the first line
		}
		t.Errorf("%.300s\ndoes not validate against #/definitions/%s: %v", doc, definition, err)
	}
}

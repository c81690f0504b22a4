// Package cdktest holds test helpers for the kit and the connectors built
// on it: validation of connector output against the official protocol
// schema, and building connector binaries once per test run.
package cdktest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// SchemaEnv overrides where the protocol schema is looked for.
const SchemaEnv = "FERRY_PROTOCOL_SCHEMA"

var (
	schemaOnce sync.Once
	schemaMsg  *jsonschema.Schema
	schemaErr  error
	schemaPath string
)

// findSchema looks for shared/spec/airbyte_protocol.yaml beside the module
// root (the repository is checked out next to shared/).
func findSchema() string {
	if p := os.Getenv(SchemaEnv); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "spec", "airbyte_protocol.yaml")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// MessageSchema returns the compiled #/definitions/AirbyteMessage of the
// official protocol schema. It skips the test when the file is absent.
func MessageSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		schemaPath = findSchema()
		raw, err := os.ReadFile(schemaPath)
		if err != nil {
			schemaErr = err
			return
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		const url = "ferry:///airbyte_protocol.json"
		if schemaErr = c.AddResource(url, doc); schemaErr != nil {
			return
		}
		schemaMsg, schemaErr = c.Compile(url + "#/definitions/AirbyteMessage")
	})
	if os.IsNotExist(schemaErr) {
		t.Skipf("protocol schema not found at %s; set %s", schemaPath, SchemaEnv)
	}
	if schemaErr != nil {
		t.Fatalf("load protocol schema %s: %v", schemaPath, schemaErr)
	}
	return schemaMsg
}

// ValidateOutput checks that every line of a connector's stdout is an
// AirbyteMessage that validates against the official schema.
func ValidateOutput(t testing.TB, stdout []byte) {
	t.Helper()
	sch := MessageSchema(t)
	for i, line := range strings.Split(strings.TrimRight(string(stdout), "\n"), "\n") {
		if line == "" {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Errorf("line %d is not JSON: %v: %.200s", i+1, err, line)
			continue
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("line %d does not validate: %v\n%.500s", i+1, err, line)
		}
	}
}

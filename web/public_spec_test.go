package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// Airbyte's public API document is reference data kept beside the
// repository, not in it: ../shared/spec/airbyte_public_api.yaml next to
// the directory that holds go.mod, or the file $FERRY_AIRBYTE_PUBLIC_API_YAML
// names. Without it the contract tests skip, unless FERRY_REQUIRE_SPEC=1.

const publicSpecEnv = "FERRY_AIRBYTE_PUBLIC_API_YAML"

// publicSpec is the loaded document: as JSON for walking, and compiled
// for validating against its schemas.
type publicSpec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

const publicSpecURL = "https://ferry.invalid/airbyte_public_api.json"

var (
	specOnce sync.Once
	specDoc  *publicSpec
	specErr  error
)

// loadPublicSpec returns the document, skipping t when it is absent and
// FERRY_REQUIRE_SPEC is not 1.
func loadPublicSpec(t *testing.T) *publicSpec {
	t.Helper()
	specOnce.Do(func() { specDoc, specErr = readPublicSpec() })
	if errors.Is(specErr, os.ErrNotExist) {
		if os.Getenv("FERRY_REQUIRE_SPEC") == "1" {
			t.Fatalf("Airbyte's public API document is required (FERRY_REQUIRE_SPEC=1): %v; set %s", specErr, publicSpecEnv)
		}
		t.Skipf("skipping the contract test: %v (set %s, or put the file at ../shared/spec/ beside the clone)", specErr, publicSpecEnv)
	}
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDoc
}

func readPublicSpec() (*publicSpec, error) {
	path := os.Getenv(publicSpecEnv)
	if path == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if parent := filepath.Dir(dir); parent != dir {
				dir = parent
				continue
			}
			return nil, fmt.Errorf("no go.mod above the working directory: %w", os.ErrNotExist)
		}
		path = filepath.Join(dir, "..", "shared", "spec", "airbyte_public_api.yaml")
	}
	y, err := os.ReadFile(path)
	if err != nil {
		return nil, err // wraps os.ErrNotExist when absent
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1 schemas are JSON Schema 2020-12
	if err := c.AddResource(publicSpecURL, inst); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &publicSpec{doc: doc, compiler: c}, nil
}

// operation returns the document's operation object for method and path
// (a template such as /sources/{sourceId}).
func (p *publicSpec) operation(t *testing.T, method, path string) map[string]any {
	t.Helper()
	paths, _ := p.doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Fatalf("the document has no operation %s %s", method, path)
	}
	return op
}

// responseSchema compiles the JSON schema of an operation's response with
// status, or returns nil when that response has no JSON body.
func (p *publicSpec) responseSchema(t *testing.T, method, path string, status int) *jsonschema.Schema {
	t.Helper()
	op := p.operation(t, method, path)
	responses, _ := op["responses"].(map[string]any)
	resp, _ := responses[fmt.Sprint(status)].(map[string]any)
	if resp == nil {
		t.Fatalf("%s %s: the document has no %d response", method, path, status)
	}
	content, _ := resp["content"].(map[string]any)
	if _, ok := content["application/json"]; !ok {
		return nil
	}
	ptr := "#/paths/" + escapePointer(path) + "/" + strings.ToLower(method) + "/responses/" + fmt.Sprint(status) +
		"/content/application~1json/schema"
	s, err := p.compiler.Compile(publicSpecURL + ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	return s
}

// requestExamples returns the values of an operation's request body
// examples.
func (p *publicSpec) requestExamples(t *testing.T, method, path string) []any {
	t.Helper()
	body, _ := p.operation(t, method, path)["requestBody"].(map[string]any)
	content, _ := body["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	var out []any
	examples, _ := media["examples"].(map[string]any)
	for _, ex := range examples {
		if v, ok := ex.(map[string]any)["value"]; ok {
			out = append(out, v)
		}
	}
	return out
}

// queryExamples returns the examples the document gives for an
// operation's query parameters, as a query string.
func (p *publicSpec) queryExamples(t *testing.T, method, path string) string {
	t.Helper()
	params, _ := p.operation(t, method, path)["parameters"].([]any)
	var q []string
	for _, x := range params {
		param, _ := x.(map[string]any)
		if param["in"] != "query" || param["example"] == nil {
			continue
		}
		q = append(q, fmt.Sprintf("%s=%v", param["name"], jsonScalar(param["example"])))
	}
	return strings.Join(q, "&")
}

func jsonScalar(v any) string {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return strings.ReplaceAll(fmt.Sprint(v), "|", "%7C")
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// validate checks a response body against schema.
func validate(t *testing.T, what string, schema *jsonschema.Schema, body []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s: the body is not JSON: %v: %.300s", what, err, body)
		return
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("%s: the response does not validate against Airbyte's document: %v\n%.600s", what, err, body)
	}
}

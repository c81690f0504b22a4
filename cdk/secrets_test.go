package cdk

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecretValues finds secrets at the top level, inside oneOf branches,
// in array items and in additionalProperties, and nothing else.
func TestSecretValues(t *testing.T) {
	schema := decode(t, `{
  "type": "object",
  "properties": {
    "host": {"type": "string"},
    "token": {"type": "string", "airbyte_secret": true},
    "port": {"type": "integer", "airbyte_secret": true},
    "auth": {"oneOf": [
      {"properties": {"password": {"type": "string", "airbyte_secret": true}}},
      {"properties": {"key": {"type": "object", "airbyte_secret": true}}}
    ]},
    "replicas": {"type": "array", "items": {"properties": {"pw": {"airbyte_secret": true}}}},
    "headers": {"type": "object", "additionalProperties": {"type": "string", "airbyte_secret": true}}
  }
}`)
	config := decode(t, `{
  "host": "db.example.com",
  "token": "tok-123",
  "port": 5432,
  "auth": {"password": "hunter2", "key": {"a": "k1", "b": ["k2"]}},
  "replicas": [{"pw": "r1"}, {"pw": "r2"}],
  "headers": {"X-Api": "h1"}
}`)
	got := SecretValues(schema, config)
	sort.Strings(got)
	want := []string{"5432", "h1", "hunter2", "k1", "k2", "r1", "r2", "tok-123"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secrets mismatch (-want +got):\n%s", diff)
	}
}

// TestRedactor masks raw and JSON-escaped forms, longest first.
func TestRedactor(t *testing.T) {
	r := NewRedactor([]string{"abc", "abcdef", `p"w\d`, ""})
	tests := []struct{ in, want string }{
		{"key=abcdef end", "key=" + SecretMask + " end"},
		{"key=abc", "key=" + SecretMask},
		{`raw p"w\d`, "raw " + SecretMask},
		{`json "p\"w\\d"`, `json "` + SecretMask + `"`},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	var nilR *Redactor
	if got := nilR.Redact("abc"); got != "abc" {
		t.Errorf("nil redactor: got %q, want %q", got, "abc")
	}
}

// TestValidateConfigNamesField checks that schema violations name the
// offending fields.
func TestValidateConfigNamesField(t *testing.T) {
	tests := []struct {
		config string
		want   []string
	}{
		{`{}`, []string{`field "count" is required`}},
		{`{"count": "ten"}`, []string{`field "count"`, "want integer"}},
		{`{"count": 0}`, []string{`field "count"`, "minimum"}},
		{`[1]`, []string{"must be a JSON object"}},
		{`{"count": 1`, []string{"not valid JSON"}},
	}
	for _, tt := range tests {
		_, err := validateConfig(testSpec, []byte(tt.config))
		if err == nil {
			t.Errorf("config %s: got no error, want one", tt.config)
			continue
		}
		if !IsConfigError(err) {
			t.Errorf("config %s: got failure type %s, want config_error", tt.config, FailureType(err))
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("config %s: got %q, want it to contain %q", tt.config, err, w)
			}
		}
	}
	if _, err := validateConfig(testSpec, []byte(`{"count": 3, "auth": {"method": "none"}}`)); err != nil {
		t.Errorf("valid config: got %v, want no error", err)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeAny([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

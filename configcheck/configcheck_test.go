package configcheck

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/secret"
)

const connSpec = `{
  "type": "object",
  "required": ["host", "credentials"],
  "additionalProperties": false,
  "properties": {
    "host": {"type": "string"},
    "port": {"type": "integer", "minimum": 1},
    "hosts": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
    "credentials": {"oneOf": [
      {"type": "object", "required": ["method", "password"], "properties": {
        "method": {"const": "password"},
        "password": {"type": "string", "airbyte_secret": true, "pattern": "^[0-9]+$"}}},
      {"type": "object", "required": ["method", "key"], "properties": {
        "method": {"const": "key"}, "key": {"type": "string"}}}
    ]}
  }
}`

// TestCheck: each wrong config is refused with the field it names, a
// secret quoted by the schema's error is masked, and a right one passes.
func TestCheck(t *testing.T) {
	const pw = "hunter2-SECRET"
	red := secret.NewRedactor([]string{pw})
	for _, tc := range []struct {
		config, want string
	}{
		{`{"host":"h","credentials":{"method":"key","key":"k"}}`, ""},
		{`{"credentials":{"method":"key","key":"k"}}`, "configuration.host is required"},
		{`{"host":"h","port":0,"credentials":{"method":"key","key":"k"}}`, "configuration.port "},
		{`{"host":"h","hosts":["ok","BAD"],"credentials":{"method":"key","key":"k"}}`, "configuration.hosts[1] "},
		{`{"host":"h","colour":"red","credentials":{"method":"key","key":"k"}}`, "configuration.colour is not a property"},
		{`{"host":"h","credentials":{"method":"password"}}`, "configuration.credentials.password is required"},
		{`{"host":"h","credentials":{"method":"password","password":"` + pw + `"}}`, "configuration.credentials.password "},
		{`{"host":`, "it is not valid JSON"},
	} {
		err := Check(json.RawMessage(connSpec), []byte(tc.config), red)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: got %v, want it accepted", tc.config, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.config, err, tc.want)
		case err != nil && strings.Contains(err.Error(), pw):
			t.Errorf("%s: error %q shows the secret", tc.config, err)
		}
	}
}

// TestCheckSpec reads the connectionSpecification out of a whole spec; no
// spec, or a spec without one, checks nothing.
func TestCheckSpec(t *testing.T) {
	spec := `{"documentationUrl":"https://example.com","connectionSpecification":` + connSpec + `}`
	if err := CheckSpec(json.RawMessage(spec), []byte(`{}`), nil); err == nil || !strings.Contains(err.Error(), "configuration.") {
		t.Errorf("empty config: got %v, want a missing field named", err)
	}
	if err := CheckSpec(nil, []byte(`{}`), nil); err != nil {
		t.Errorf("no spec: got %v, want nothing checked", err)
	}
	if err := CheckSpec(json.RawMessage(`{"documentationUrl":"x"}`), []byte(`{}`), nil); err != nil {
		t.Errorf("no connectionSpecification: got %v, want nothing checked", err)
	}
	if err := CheckSpec(json.RawMessage(`{"connectionSpecification":{"type":"object","properties":{"n":{"$ref":"https://example.com/s.json"}}}}`), []byte(`{}`), nil); err == nil {
		t.Errorf("external $ref: got nil, want it refused")
	}
}

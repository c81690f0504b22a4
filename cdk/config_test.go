package cdk

import (
	"strings"
	"testing"
)

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

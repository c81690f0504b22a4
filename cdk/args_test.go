package cdk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseArgs checks the command line forms Airbyte uses and the errors.
func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    invocation
		wantErr bool
	}{
		{"spec", []string{"spec"}, invocation{cmd: "spec"}, false},
		{"check", []string{"check", "--config", "c.json"}, invocation{cmd: "check", config: "c.json"}, false},
		{"equals form and debug", []string{"discover", "--debug", "--config=c.json"}, invocation{cmd: "discover", config: "c.json"}, false},
		{"read with state", []string{"read", "--config", "c", "--catalog", "k", "--state", "s"}, invocation{cmd: "read", config: "c", catalog: "k", state: "s"}, false},
		{"write", []string{"write", "--config", "c", "--catalog", "k"}, invocation{cmd: "write", config: "c", catalog: "k"}, false},
		{"no command", nil, invocation{}, true},
		{"unknown command", []string{"sync"}, invocation{}, true},
		{"missing config", []string{"check"}, invocation{}, true},
		{"missing catalog", []string{"read", "--config", "c"}, invocation{}, true},
		{"state on write", []string{"write", "--config", "c", "--catalog", "k", "--state", "s"}, invocation{}, true},
		{"flag without value", []string{"check", "--config"}, invocation{}, true},
		{"stray argument", []string{"check", "c.json"}, invocation{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(invocation{})); diff != "" {
				t.Errorf("invocation mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

// ferryResult is one run of the CLI.
type ferryResult struct {
	code           int
	stdout, stderr string
}

// runFerry runs the CLI in-process with the given environment and args.
func runFerry(t *testing.T, vars map[string]string, args ...string) ferryResult {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	code := run(t.Context(), e, args)
	return ferryResult{code, out.String(), errOut.String()}
}

// TestDispatch verifies the global usage, help and unknown-command paths.
func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command", nil, exitUsage, "Usage: ferry [flags] COMMAND"},
		{"help", []string{"-h"}, exitOK, "connector"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"bad log level", []string{"-log-level", "loud", "connector"}, exitUsage, `log level "loud"`},
		{"bad log format", []string{"-log-format", "xml", "connector"}, exitUsage, `log format "xml"`},
		{"subcommand help", []string{"connector", "-h"}, exitOK, "Usage: ferry connector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runFerry(t, nil, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("got exit %d, stderr %q; want exit %d, stderr containing %q", r.code, r.stderr, tc.wantCode, tc.wantStderr)
			}
		})
	}
}

// TestCommandsHaveSummaries verifies every subcommand shows in the usage.
func TestCommandsHaveSummaries(t *testing.T) {
	usage := runFerry(t, nil).stderr
	for name, c := range commands {
		if c.summary == "" || c.run == nil || !strings.Contains(usage, name) {
			t.Errorf("command %q: want a summary, a run function and a line in the usage", name)
		}
	}
}

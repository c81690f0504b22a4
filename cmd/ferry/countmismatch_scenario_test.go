package main

import (
	"io"
	"strings"
	"testing"
)

// TestSyncFailOnCountMismatchFlag: `ferry sync --fail-on-count-mismatch`
// turns the switch on; without it the switch is off (a warning).
func TestSyncFailOnCountMismatchFlag(t *testing.T) {
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--source", "s", "--destination", "d"}, false},
		{[]string{"--source", "s", "--destination", "d", "--fail-on-count-mismatch"}, true},
	} {
		f, err := parseSyncFlags(e, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.failOnCountMismatch != tc.want {
			t.Errorf("%v: failOnCountMismatch %v, want %v", tc.args, f.failOnCountMismatch, tc.want)
		}
	}
}

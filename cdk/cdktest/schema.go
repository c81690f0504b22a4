// Package cdktest holds test helpers for the kit and the connectors built
// on it: validation of a connector's whole stdout against the official
// protocol schema, and building connector binaries once per test run.
package cdktest

import (
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol/protocoltest"
)

// ValidateOutput checks that every line of a connector's stdout is an
// AirbyteMessage that validates against the official schema
// (protocoltest); it skips the test when the schema file is absent.
func ValidateOutput(t testing.TB, stdout []byte) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(string(stdout), "\n"), "\n") {
		if line != "" {
			protocoltest.ValidateMessage(t, []byte(line))
		}
	}
}

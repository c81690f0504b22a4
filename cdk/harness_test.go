package cdk

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/cdk/cdktest"
	"github.com/ferrysync/ferry/protocol"
)

// result is one in-process command run.
type result struct {
	code   int
	stdout string
	stderr string
	msgs   []*protocol.Message
}

var fixedNow = func() time.Time { return time.UnixMilli(1700000000000) }

// runCmd runs c in-process on args with the given stdin.
func runCmd(t *testing.T, c Connector, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), c, args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb}, fixedNow)
	res := result{code: code, stdout: out.String(), stderr: errb.String()}
	for _, line := range strings.Split(strings.TrimRight(res.stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		m, err := protocol.Decode([]byte(line))
		if err != nil {
			t.Fatalf("stdout line does not decode: %v: %s", err, line)
		}
		res.msgs = append(res.msgs, m)
	}
	return res
}

// ofType returns the messages of type typ.
func (r result) ofType(typ protocol.Type) []*protocol.Message {
	var out []*protocol.Message
	for _, m := range r.msgs {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// errorTraces returns the ERROR traces.
func (r result) errorTraces() []*protocol.ErrorTrace {
	var out []*protocol.ErrorTrace
	for _, m := range r.ofType(protocol.TypeTrace) {
		if m.Trace.Error != nil {
			out = append(out, m.Trace.Error)
		}
	}
	return out
}

// statuses returns "stream:STATUS" for every stream status trace.
func (r result) statuses() []string {
	var out []string
	for _, m := range r.ofType(protocol.TypeTrace) {
		if s := m.Trace.StreamStatus; s != nil {
			out = append(out, s.StreamDescriptor.Name+":"+s.Status)
		}
	}
	return out
}

// writeFile writes content to a file in a temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// validate checks a run's stdout against the official schema.
func (r result) validate(t *testing.T) {
	t.Helper()
	cdktest.ValidateOutput(t, []byte(r.stdout))
}

// testSpec has a required integer, a nested secret inside a oneOf, and a
// top-level secret.
var testSpec = &protocol.Spec{
	DocumentationURL: "https://example.com/docs",
	ConnectionSpecification: json.RawMessage(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["count"],
  "properties": {
    "count": {"type": "integer", "minimum": 1},
    "api_key": {"type": "string", "airbyte_secret": true},
    "auth": {"oneOf": [
      {"type": "object", "properties": {"method": {"const": "password"}, "password": {"type": "string", "airbyte_secret": true}}},
      {"type": "object", "properties": {"method": {"const": "none"}}}
    ]}
  }
}`),
}

// configuredCatalog builds a catalog file for streams in full refresh or
// incremental mode with the given destination mode.
func configuredCatalog(t *testing.T, syncMode, destMode string, names ...string) string {
	t.Helper()
	cat := protocol.ConfiguredCatalog{}
	for _, n := range names {
		cat.Streams = append(cat.Streams, protocol.ConfiguredStream{
			Stream: protocol.Stream{Name: n, JSONSchema: json.RawMessage(`{"type":"object"}`),
				SupportedSyncModes:  []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
				SourceDefinedCursor: true, DefaultCursorField: []string{"id"}},
			SyncMode: syncMode, DestinationSyncMode: destMode,
		})
	}
	return writeFile(t, "catalog.json", mustJSON(t, cat))
}

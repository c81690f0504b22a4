// Command destination-jsonl is Ferry's counterpart of Airbyte's local-json
// destination: one <stream>.jsonl file per stream under the local root,
// each line {"_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"}.
// It supports append, overwrite and append_dedup; an overwrite goes to a
// temporary file that replaces the old one only when the stream's COMPLETE
// status arrives, and every acknowledged state is fsynced first.
package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

func main() { cdk.Main(destination{}) }

var spec = &protocol.Spec{
	DocumentationURL: "https://docs.airbyte.com/integrations/destinations/local-json",
	ConnectionSpecification: json.RawMessage(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Local JSON Destination Spec",
  "type": "object",
  "required": ["destination_path"],
  "additionalProperties": false,
  "properties": {
    "destination_path": {
      "title": "Destination Path",
      "description": "Directory the .jsonl files are written to, inside the local mount /local. A path outside /local is taken relative to it (/json_data is /local/json_data); a path that leaves /local is refused.",
      "type": "string",
      "examples": ["/local/json_data"]
    }
  }
}`),
	SupportsIncremental:           ptr(true),
	SupportedDestinationSyncModes: []string{protocol.DestAppend, protocol.DestOverwrite, protocol.DestAppendDedup},
	ProtocolVersion:               "0.2.0",
}

func ptr[T any](v T) *T { return &v }

type config struct {
	DestinationPath string `json:"destination_path"`
}

// dir resolves the configured directory on this machine (see
// cdk.LocalPath for the /local rules and FERRY_LOCAL_ROOT).
func dir(req *cdk.Request) (string, error) {
	var c config
	if err := req.DecodeConfig(&c); err != nil {
		return "", err
	}
	return cdk.LocalPath(c.DestinationPath)
}

type destination struct{}

func (destination) Spec() *protocol.Spec { return spec }

// Check creates the directory and writes and removes a probe file in it.
func (destination) Check(ctx context.Context, req *cdk.Request) error {
	d, err := dir(req)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return cdk.ConfigError("cannot create the destination directory: %v", err)
	}
	probe, err := os.CreateTemp(d, ".ferry-check-*")
	if err != nil {
		return cdk.ConfigError("cannot write to the destination directory: %v", err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func (destination) Open(ctx context.Context, req *cdk.WriteRequest) (cdk.Writer, error) {
	d, err := dir(req.Request)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, cdk.ConfigError("cannot create the destination directory: %v", err)
	}
	// Make the directory's own entry durable, in case MkdirAll made it.
	if err := syncDir(filepath.Dir(d)); err != nil {
		return nil, err
	}
	ids, err := newIDSource()
	if err != nil {
		return nil, err
	}
	return &writer{dir: d, ids: ids, log: req.Log}, nil
}

// fileName is the stream's file: "<stream>.jsonl", or
// "<namespace>_<stream>.jsonl", with unsafe characters replaced.
func fileName(d protocol.StreamDescriptor) string {
	name := d.Name
	if d.Namespace != "" {
		name = d.Namespace + "_" + d.Name
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte("_"), b...)
	}
	return filepath.Clean(string(b)) + ".jsonl"
}

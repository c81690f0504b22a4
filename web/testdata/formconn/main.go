// Command formconn is the source the web UI's end-to-end test sets up in
// the browser. Its spec has what the spec form must handle in one
// connector: a top-level secret, a oneOf with a const discriminator whose
// variant holds a secret, an array of objects with a secret in each row,
// and a secret behind a $ref. Its check accepts only the api_token the
// test types (wantToken) and says exactly what is wrong otherwise,
// quoting the token it got, so the test sees Ferry mask it; read logs
// every secret on stderr for the same reason.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// wantToken is the only api_token check accepts. The test plants it.
const wantToken = "sntl-token&3f9a<7c"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := cdk.Run(ctx, connector{}, os.Args[1:], cdk.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}

type config struct {
	APIToken    string `json:"api_token"`
	Credentials struct {
		AuthType string `json:"auth_type"`
		APIKey   string `json:"api_key"`
	} `json:"credentials"`
	Endpoints []struct {
		URL   string `json:"url"`
		Token string `json:"token"`
	} `json:"endpoints"`
	Tunnel struct {
		Key string `json:"key"`
	} `json:"tunnel"`
	Records int `json:"records"`
}

type connector struct{}

func (connector) Spec() *protocol.Spec {
	return &protocol.Spec{DocumentationURL: "https://example.com/formconn", ConnectionSpecification: json.RawMessage(specJSON)}
}

func (connector) Check(ctx context.Context, req *cdk.Request) error {
	var c config
	if err := req.DecodeConfig(&c); err != nil {
		return err
	}
	switch {
	case c.APIToken != wantToken:
		return cdk.ConfigError("the API refused token %q (HTTP 401)", c.APIToken)
	case c.Credentials.AuthType == "key" && c.Credentials.APIKey == "":
		return cdk.ConfigError("credentials: an API key is required")
	}
	for i, e := range c.Endpoints {
		if e.Token == "" {
			return cdk.ConfigError("endpoint %d (%s) has no token", i+1, e.URL)
		}
	}
	return nil
}

func (connector) Streams(ctx context.Context, req *cdk.Request) ([]cdk.Stream, error) {
	var c config
	if err := req.DecodeConfig(&c); err != nil {
		return nil, err
	}
	return []cdk.Stream{stream{c}}, nil
}

type stream struct{ c config }

func (s stream) Describe() protocol.Stream {
	return protocol.Stream{Name: "items", JSONSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"}}}`),
		SupportedSyncModes: []string{protocol.SyncFullRefresh}}
}

func (s stream) Read(ctx context.Context, req *cdk.ReadRequest, out *cdk.Emitter) error {
	// Careless logging on purpose: Ferry must mask these in its logs.
	fmt.Fprintf(os.Stderr, "connecting with token %s, key %s, tunnel key %s\n", s.c.APIToken, s.c.Credentials.APIKey, s.c.Tunnel.Key)
	for _, e := range s.c.Endpoints {
		fmt.Fprintf(os.Stderr, "endpoint %s token %s\n", e.URL, e.Token)
	}
	n := max(s.c.Records, 1)
	for i := 1; i <= n; i++ {
		if err := out.Record([]byte(fmt.Sprintf(`{"id":%d}`, i))); err != nil {
			return err
		}
	}
	return out.Checkpoint(json.RawMessage(fmt.Sprintf(`{"id":%d}`, n)))
}

const specJSON = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Form test source",
  "type": "object",
  "required": ["api_token", "credentials"],
  "additionalProperties": false,
  "definitions": {"tunnel_key": {"type": "string", "title": "Tunnel key", "airbyte_secret": true}},
  "properties": {
    "api_token": {"type": "string", "title": "API token", "airbyte_secret": true, "order": 0},
    "credentials": {"type": "object", "title": "Authentication", "order": 1, "oneOf": [
      {"title": "No authentication", "type": "object", "required": ["auth_type"], "properties": {"auth_type": {"type": "string", "const": "none"}}},
      {"title": "API key", "type": "object", "required": ["auth_type", "api_key"], "properties": {
        "auth_type": {"type": "string", "const": "key"},
        "api_key": {"type": "string", "title": "API key", "airbyte_secret": true}}}]},
    "endpoints": {"type": "array", "title": "Endpoints", "order": 2, "items": {"type": "object", "required": ["url"],
      "additionalProperties": false, "properties": {
        "url": {"type": "string", "title": "URL", "examples": ["https://api.example.com"]},
        "token": {"type": "string", "title": "Endpoint token", "airbyte_secret": true}}}},
    "tunnel": {"type": "object", "title": "Tunnel", "order": 3, "properties": {"key": {"$ref": "#/definitions/tunnel_key"}}},
    "records": {"type": "integer", "title": "Records", "minimum": 1, "maximum": 1000, "default": 3, "order": 4}
  }
}`

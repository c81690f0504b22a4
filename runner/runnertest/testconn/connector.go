package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// script is the connector-mode config: what to print and how to exit. Its
// zero value answers like a healthy connector.
type script struct {
	// Stdout, when set, replaces the default answer line by line.
	Stdout []json.RawMessage `json:"stdout"`
	// RawStdout lines are written verbatim (for garbage and non-JSON).
	RawStdout []string `json:"raw_stdout"`
	Stderr    string   `json:"stderr"`
	Sleep     string   `json:"sleep"`
	Exit      int      `json:"exit"`
}

const specLine = `{"type":"SPEC","spec":{"documentationUrl":"https://example.com/testconn",` +
	`"connectionSpecification":{"type":"object","required":["host"],"properties":{` +
	`"host":{"type":"string","title":"Host","description":"Where to connect"},` +
	`"api_key":{"type":"string","airbyte_secret":true},` +
	`"stdout":{"type":"array","description":"Lines to print instead of the answer"}}}}}`

const catalogLine = `{"type":"CATALOG","catalog":{"streams":[{"name":"items",` +
	`"json_schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}},` +
	`"supported_sync_modes":["full_refresh","incremental"],"source_defined_cursor":true,` +
	`"default_cursor_field":["id"],"source_defined_primary_key":[["id"]]}]}}`

// connector runs spec, check or discover and returns the exit code.
func connector(args []string) int {
	var s script
	if len(args) == 3 && args[1] == "--config" {
		b, err := os.ReadFile(args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "testconn:", err)
			return 2
		}
		if err := json.Unmarshal(b, &s); err != nil {
			fmt.Fprintln(os.Stderr, "testconn: config:", err)
			return 2
		}
	} else if args[0] != "spec" {
		fmt.Fprintf(os.Stderr, "testconn: usage: %s --config FILE\n", args[0])
		return 2
	}
	if s.Stdout == nil && s.RawStdout == nil {
		switch args[0] {
		case "spec":
			s.RawStdout = []string{specLine}
		case "check":
			s.RawStdout = []string{`{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}`}
		case "discover":
			s.RawStdout = []string{catalogLine}
		}
	}
	fmt.Fprintln(os.Stdout, `{"type":"LOG","log":{"level":"INFO","message":"testconn `+args[0]+`"}}`)
	for _, line := range s.Stdout {
		fmt.Fprintln(os.Stdout, string(line))
	}
	for _, line := range s.RawStdout {
		fmt.Fprintln(os.Stdout, line)
	}
	if s.Stderr != "" {
		fmt.Fprintln(os.Stderr, s.Stderr)
	}
	if d, err := time.ParseDuration(s.Sleep); err == nil {
		time.Sleep(d)
	}
	return s.Exit
}

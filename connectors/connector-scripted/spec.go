package main

import (
	"encoding/json"

	"github.com/ferrysync/ferry/protocol"
)

// spec documents the scenario config. It is the reference for tests that
// drive this connector.
var spec = &protocol.Spec{
	DocumentationURL: "https://github.com/ferrysync/ferry/tree/main/connectors/connector-scripted",
	ConnectionSpecification: json.RawMessage(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Scripted Test Connector",
  "description": "A test-only connector whose behaviour is a scenario in its config. As a source (read) it emits records {\"id\": i, \"stream\": name} with i from 1 on every configured stream, resuming after the cursor of its state; as a destination (write) it appends every record line it receives to output_path and acknowledges states as the scenario says.",
  "type": "object",
  "additionalProperties": false,
  "definitions": {
    "tunnel": {"type": "object", "description": "A secret behind a $ref.", "properties": {"ssh_key": {"type": "string", "airbyte_secret": true}}}
  },
  "properties": {
    "streams": {"type": "array", "items": {"type": "string"}, "description": "Stream names that discover offers. Default [\"items\"]."},
    "secret": {"type": "string", "airbyte_secret": true, "description": "A secret that must never appear in any output."},
    "echo_config": {"type": "boolean", "description": "Echo the whole config, as it is, JSON-quoted once and twice, \\u-escaped, URL-encoded and base64, in LOG messages and stderr (check, discover, read), in every stream's discovered schema (a description and a property name), in every state, and in the check_error and error_message texts. For the test that no secret leaks."},
    "auth": {"type": "object", "description": "A oneOf with a secret in one variant.", "oneOf": [
      {"title": "None", "type": "object", "required": ["method"], "properties": {"method": {"const": "none"}}},
      {"title": "API key", "type": "object", "required": ["method", "api_key"], "properties": {"method": {"const": "api_key"}, "api_key": {"type": "string", "airbyte_secret": true}}}
    ]},
    "hosts": {"type": "array", "description": "Rows with a secret in each.", "items": {"type": "object", "properties": {"host": {"type": "string"}, "password": {"type": "string", "airbyte_secret": true}}}},
    "tunnel": {"$ref": "#/definitions/tunnel"},
    "check_error": {"type": "string", "description": "When set, check fails with this message."},
    "source": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "records": {"type": "integer", "minimum": 0, "description": "Records per configured stream (ids 1..records). Default 10."},
        "state_every": {"type": "integer", "minimum": 0, "description": "Emit a state after every K records of a stream; 0 only at the end of each stream."},
        "state_type": {"enum": ["STREAM", "GLOBAL", "LEGACY"], "description": "The kind of state to emit. Default STREAM. LEGACY states carry the whole blob {stream: cursor}."},
        "omit_source_stats": {"type": "boolean", "description": "Emit states without sourceStats.recordCount."},
        "no_cursor": {"type": "boolean", "description": "Discover every stream as full_refresh only, without a cursor or primary key, as sources with LEGACY state often do; a default configured catalog then syncs them full refresh overwrite."},
        "resume_in_full_refresh": {"type": "boolean", "description": "Resume after the cursor of an incoming LEGACY state even in a full_refresh stream, as some real sources do (the kit hands a full refresh stream no STREAM state); by default a full refresh starts at id 1."},
        "record_bytes": {"type": "integer", "minimum": 0, "description": "Pad each record's data with a \"pad\" string to about this many bytes."},
        "data_lines": {"type": "string", "description": "JSONL: when set, each configured stream emits one record per line, with the line as its data, byte for byte, instead of the numbered records (records and record_bytes are ignored). For tests that compare what destinations receive."},
        "sleep_before_ms": {"type": "integer", "minimum": 0, "description": "Sleep before the first output."},
        "hang_before": {"type": "boolean", "description": "Never start: block until terminated."},
        "stderr_bytes": {"type": "integer", "minimum": 0, "description": "Write this many bytes of log lines to stderr before reading."},
        "garbage_lines": {"type": "integer", "minimum": 0, "description": "Print this many non-JSON lines on stdout before the first record."},
        "huge_line_bytes": {"type": "integer", "minimum": 0, "description": "Print one RECORD line of about this many bytes (e.g. 31457280 for 30 MB) after record huge_line_after_record of the first stream."},
        "huge_line_after_record": {"type": "integer", "minimum": 0, "description": "See huge_line_bytes. Default 1."},
        "foreign_stream": {"type": "string", "description": "After the first record, emit one record of this stream, which is not in the catalog."},
        "sleep_after_record": {"type": "integer", "minimum": 0, "description": "After this record of the first stream, sleep sleep_ms."},
        "sleep_ms": {"type": "integer", "minimum": 0, "description": "See sleep_after_record."},
        "pace_ms": {"type": "integer", "minimum": 0, "description": "Throttle: after every record of every stream, flush and sleep this long."},
        "log_input_state": {"type": "boolean", "description": "Log the state each stream starts from (input state of <stream>: <state JSON or none>), so a test can tell where a retry resumed."},
        "hang_after_record": {"type": "integer", "minimum": 0, "description": "After this record of the first stream (and its state, if one is due), block until terminated."},
        "exit_after_record": {"type": "integer", "minimum": 0, "description": "After this record of the first stream, flush stdout and exit with exit_code."},
        "exit_code": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Exit code after exit_after_record, or at the end when that is 0."},
        "error_message": {"type": "string", "description": "Emit an ERROR trace with this message before a non-zero exit."},
        "config_error_after_record": {"type": "integer", "minimum": 0, "description": "After this record of the first stream, fail with a config_error (not retried) whose message is error_message."}
      }
    },
    "destination": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "output_path": {"type": "string", "description": "File under /local that every received RECORD line is appended to, fsynced before each acknowledgement."},
        "ack": {"enum": ["all", "every_nth", "none", "out_of_order", "forged_unknown_id", "regressing_id", "foreign_stream"], "description": "How states are acknowledged once releasable: all; every ack_every-th; none; out_of_order (pairs swapped); forged_unknown_id (id + 1000000); regressing_id (each ack followed by the previous one again); foreign_stream (STREAM acks renamed to a stream not in the catalog). Default all."},
        "ack_every": {"type": "integer", "minimum": 1, "description": "See every_nth. Default 2."},
        "crash_after_records": {"type": "integer", "minimum": 0, "description": "Exit with exit_code once this many records arrived."},
        "crash_after_ack": {"type": "integer", "minimum": 0, "description": "Exit with exit_code right after writing the N-th acknowledgement."},
        "stop_reading_after_records": {"type": "integer", "minimum": 0, "description": "Stop reading stdin once this many records arrived, until terminated."},
        "hang_after_eof": {"type": "boolean", "description": "Never exit after the end of input: block until terminated."},
        "exit_code": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Exit code of the crashes above. Default 1."}
      }
    }
  }
}`),
	SupportsIncremental:           ptr(true),
	SupportedDestinationSyncModes: []string{protocol.DestAppend, protocol.DestOverwrite, protocol.DestAppendDedup},
	ProtocolVersion:               "0.2.0",
}

func ptr[T any](v T) *T { return &v }

// config is the scenario.
type config struct {
	Streams     []string    `json:"streams"`
	Secret      string      `json:"secret"`
	EchoConfig  bool        `json:"echo_config"`
	CheckError  string      `json:"check_error"`
	Source      sourceCfg   `json:"source"`
	Destination destination `json:"destination"`

	raw []byte // the config as read, for echo_config
}

type sourceCfg struct {
	Records             *int64 `json:"records"`
	StateEvery          int64  `json:"state_every"`
	StateType           string `json:"state_type"`
	OmitSourceStats     bool   `json:"omit_source_stats"`
	NoCursor            bool   `json:"no_cursor"`
	ResumeInFullRefresh bool   `json:"resume_in_full_refresh"`
	RecordBytes         int    `json:"record_bytes"`
	DataLines           string `json:"data_lines"`
	SleepBeforeMS       int64  `json:"sleep_before_ms"`
	HangBefore          bool   `json:"hang_before"`
	StderrBytes         int64  `json:"stderr_bytes"`
	GarbageLines        int    `json:"garbage_lines"`
	HugeLineBytes       int    `json:"huge_line_bytes"`
	HugeLineAfterRecord int64  `json:"huge_line_after_record"`
	ForeignStream       string `json:"foreign_stream"`
	SleepAfterRecord    int64  `json:"sleep_after_record"`
	SleepMS             int64  `json:"sleep_ms"`
	PaceMS              int64  `json:"pace_ms"`
	HangAfterRecord     int64  `json:"hang_after_record"`
	ExitAfterRecord     int64  `json:"exit_after_record"`
	ExitCode            int    `json:"exit_code"`
	ErrorMessage        string `json:"error_message"`
	ConfigErrorAfter    int64  `json:"config_error_after_record"`
	LogInputState       bool   `json:"log_input_state"`
}

type destination struct {
	OutputPath              string `json:"output_path"`
	Ack                     string `json:"ack"`
	AckEvery                int64  `json:"ack_every"`
	CrashAfterRecords       int64  `json:"crash_after_records"`
	CrashAfterAck           int64  `json:"crash_after_ack"`
	StopReadingAfterRecords int64  `json:"stop_reading_after_records"`
	HangAfterEOF            bool   `json:"hang_after_eof"`
	ExitCode                *int   `json:"exit_code"`
}

func (d *destination) exitCode() int {
	if d.ExitCode == nil {
		return 1
	}
	return *d.ExitCode
}

package main

import (
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"

	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"
)

// echo is the whole config written in each way a careless connector could
// print it: as it is, quoted once and twice as a JSON string (a config in a
// log message, that message in a trace), with every non-ASCII character
// \u-escaped (Python's json.dumps), URL-encoded (a DSN in an error) and
// base64 (an Authorization header). The secrets test plants values in the
// config and expects none to survive in anything Ferry stores or shows.
func echo(raw []byte) string {
	once, _ := json.Marshal(string(raw))
	twice, _ := json.Marshal(string(once))
	return strings.Join([]string{
		"config " + string(raw),
		"quoted " + string(once),
		"twice " + string(twice),
		"ascii " + asciiEscape(string(once)),
		"url " + url.QueryEscape(string(raw)),
		"base64 " + base64.StdEncoding.EncodeToString(raw),
	}, " | ")
}

// asciiEscape writes every non-ASCII rune of s as \uXXXX (a surrogate pair
// beyond the BMP), as Python's json.dumps does by default.
func asciiEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// echoes reports whether the scenario echoes its config, and when it does,
// prints it to stderr, labelled with what the connector was doing.
func (c *config) echoStderr(what string) {
	if c.EchoConfig {
		fmt.Fprintf(os.Stderr, "scripted: %s with %s\n", what, echo(c.raw))
	}
}

// echoSchema is streamSchema with the config in its description and as the
// name of one more property, so the discovered catalog carries the config
// in a string and in an object key.
func (c *config) echoSchema() json.RawMessage {
	e := echo(c.raw)
	b, _ := json.Marshal(map[string]any{
		"type":        "object",
		"description": "discovered with " + e,
		"properties": map[string]any{
			"id": map[string]any{"type": "integer"}, "stream": map[string]any{"type": "string"},
			"pad": map[string]any{"type": "string"}, e: map[string]any{"type": "string"},
		},
	})
	return b
}

// The kit masks the secrets it knows of in the LOG messages, traces and
// statuses it writes, as a well-behaved connector should; a careless one
// (most are not written with this kit) does not. The echo bypasses the kit
// so that Ferry, not the kit, is what the secrets test proves.

// rawLine encodes m as one line, unmasked.
func rawLine(m *protocol.Message) []byte {
	b, _ := json.Marshal(m)
	return b
}

// echoStdout writes a LOG message quoting the config straight to stdout,
// before the kit's own output of the command (check, discover).
func (c *config) echoStdout(what string) {
	if c.EchoConfig {
		os.Stdout.Write(append(rawLine(protocol.NewLog(protocol.LevelInfo, what+" with "+echo(c.raw))), '\n'))
	}
}

// failCheckRaw ends a check with an ERROR trace and a FAILED status whose
// texts are msg, unmasked.
func failCheckRaw(msg string) {
	at := protocol.Millis(time.Now().UnixMilli())
	os.Stdout.Write(append(rawLine(protocol.NewErrorTrace(msg, "internal: "+msg, protocol.FailureConfig, at)), '\n'))
	os.Stdout.Write(append(rawLine(&protocol.Message{Type: protocol.TypeConnectionStatus,
		ConnectionStatus: &protocol.ConnectionStatus{Status: protocol.StatusFailed, Message: msg}}), '\n'))
	os.Exit(0)
}

// failReadRaw ends a read with an unmasked config_error trace.
func failReadRaw(out *cdk.Emitter, msg string) {
	at := protocol.Millis(time.Now().UnixMilli())
	_ = out.WriteRaw(rawLine(protocol.NewErrorTrace(msg, "internal: "+msg, protocol.FailureConfig, at)))
	_ = out.Flush()
	fmt.Fprintf(os.Stderr, "scripted: failed with %s\n", msg)
	os.Exit(1)
}

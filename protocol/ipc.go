package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Transports and serializations of Airbyte's connectorIPCOptions, as
// Airbyte spells them. DATA_CHANNEL_MEDIUM carries a transport and
// DATA_CHANNEL_FORMAT a serialization to the connectors.
const (
	TransportSocket = "SOCKET"
	TransportStdio  = "STDIO"
	FormatJSONL     = "JSONL"
	FormatProtobuf  = "PROTOBUF"
)

// Data channel modes of an attempt (docs/design.md, mode selection). Stdio and
// socket are Airbyte's; bridged is Ferry's own: Ferry reads the source's
// sockets and writes one stdio stream into the destination.
const (
	ModeStdio   = "stdio"
	ModeSocket  = "socket"
	ModeBridged = "bridged"
)

// IPCOptions is Airbyte's connectorIPCOptions: the data channels a
// connector speaks. Nil options mean a legacy connector, STDIO and JSONL
// only.
type IPCOptions struct {
	DataChannel DataChannel `json:"dataChannel"`
}

// DataChannel describes one data channel version. The lists hold the
// names as the connector wrote them: Airbyte parses them
// case-insensitively, and so do the Supports methods.
type DataChannel struct {
	Version                string   `json:"version"`
	SupportedSerialization []string `json:"supportedSerialization"`
	SupportedTransport     []string `json:"supportedTransport"`
}

// IPCOptionsError names the member of IPC options that is wrong. Field is
// the path under the API's ipcOptions member, so a store can report it as
// it reports any other invalid field.
type IPCOptionsError struct {
	Field   string
	Message string
}

// Error reads like the store's validation errors: "invalid <field>: <message>".
func (e *IPCOptionsError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
}

func ipcInvalid(field, format string, args ...any) error {
	return &IPCOptionsError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ParseIPCOptions reads IPC options from JSON, such as the value of an
// image label, and validates them. Errors are *IPCOptionsError.
func ParseIPCOptions(b []byte) (*IPCOptions, error) {
	var o IPCOptions
	if err := json.Unmarshal(b, &o); err != nil {
		// Name where the syntax breaks, as the store does for every JSON
		// input it rejects.
		msg := err.Error()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			msg = fmt.Sprintf("syntax error at byte %d", se.Offset)
		}
		return nil, ipcInvalid("ipcOptions", "not valid JSON: %s", msg)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// Validate checks the version and the transport and serialization names.
// It is stricter than Airbyte: names must be spelled in capitals, so that
// stored options read the same everywhere. Errors are *IPCOptionsError.
func (o *IPCOptions) Validate() error {
	dc := o.DataChannel
	if dc.Version == "" {
		return ipcInvalid("ipcOptions.dataChannel.version", "is required")
	}
	if len(dc.SupportedSerialization) == 0 {
		return ipcInvalid("ipcOptions.dataChannel.supportedSerialization", "must not be empty")
	}
	for _, s := range dc.SupportedSerialization {
		if s != FormatJSONL && s != FormatProtobuf {
			return ipcInvalid("ipcOptions.dataChannel.supportedSerialization", "unknown serialization %q", s)
		}
	}
	if len(dc.SupportedTransport) == 0 {
		return ipcInvalid("ipcOptions.dataChannel.supportedTransport", "must not be empty")
	}
	for _, s := range dc.SupportedTransport {
		if s != TransportSocket && s != TransportStdio {
			return ipcInvalid("ipcOptions.dataChannel.supportedTransport", "unknown transport %q", s)
		}
	}
	return nil
}

// Supports reports whether the options list the transport, ignoring case.
// Nil options (a legacy connector) support STDIO only.
func (o *IPCOptions) Supports(transport string) bool {
	if o == nil {
		return strings.EqualFold(transport, TransportStdio)
	}
	return containsFold(o.DataChannel.SupportedTransport, transport)
}

// SupportsSerialization reports whether the data channel lists the
// serialization, ignoring case.
func (d DataChannel) SupportsSerialization(format string) bool {
	return containsFold(d.SupportedSerialization, format)
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}

package store

import (
	"encoding/json"
	"fmt"
	"slices"
)

// IPC transports and serializations of Airbyte's connectorIPCOptions.
const (
	TransportSocket    = "SOCKET"
	TransportStdio     = "STDIO"
	SerializationJSONL = "JSONL"
	SerializationProto = "PROTOBUF"
)

// IPCLabel is the image label that carries a connector's IPC options.
const IPCLabel = "io.ferry.ipc-options"

// IPCOptions is Airbyte's connectorIPCOptions: what data channels a
// connector speaks. A definition without them is a legacy connector (STDIO
// and JSONL only).
type IPCOptions struct {
	DataChannel DataChannel `json:"dataChannel"`
}

// DataChannel describes one data channel version.
type DataChannel struct {
	Version                string   `json:"version"`
	SupportedSerialization []string `json:"supportedSerialization"`
	SupportedTransport     []string `json:"supportedTransport"`
}

// ParseIPCOptions reads IPC options from JSON, such as the value of the
// io.ferry.ipc-options image label, and validates them. It returns a
// *ValidationError for bad input.
func ParseIPCOptions(b []byte) (*IPCOptions, error) {
	var o IPCOptions
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, invalid("ipcOptions", "not valid JSON: %s", jsonErrText(err))
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// Validate checks the version and the known transport and serialization
// names. It returns a *ValidationError.
func (o *IPCOptions) Validate() error {
	dc := o.DataChannel
	if dc.Version == "" {
		return invalid("ipcOptions.dataChannel.version", "is required")
	}
	if len(dc.SupportedSerialization) == 0 {
		return invalid("ipcOptions.dataChannel.supportedSerialization", "must not be empty")
	}
	for _, s := range dc.SupportedSerialization {
		if s != SerializationJSONL && s != SerializationProto {
			return invalid("ipcOptions.dataChannel.supportedSerialization", "unknown serialization %q", s)
		}
	}
	if len(dc.SupportedTransport) == 0 {
		return invalid("ipcOptions.dataChannel.supportedTransport", "must not be empty")
	}
	for _, s := range dc.SupportedTransport {
		if s != TransportSocket && s != TransportStdio {
			return invalid("ipcOptions.dataChannel.supportedTransport", "unknown transport %q", s)
		}
	}
	return nil
}

// Supports reports whether the options list the transport. Nil options
// (a legacy connector) support STDIO only.
func (o *IPCOptions) Supports(transport string) bool {
	if o == nil {
		return transport == TransportStdio
	}
	return slices.Contains(o.DataChannel.SupportedTransport, transport)
}

func marshalIPC(o *IPCOptions) (any, error) {
	if o == nil {
		return nil, nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode ipc options: %w", err)
	}
	return string(b), nil
}

func unmarshalIPC(s *string) (*IPCOptions, error) {
	if s == nil {
		return nil, nil
	}
	var o IPCOptions
	if err := json.Unmarshal([]byte(*s), &o); err != nil {
		return nil, fmt.Errorf("decode stored ipc options: %w", err)
	}
	return &o, nil
}

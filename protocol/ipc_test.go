package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestIPCOptionsJSONShape: options decode from and encode to Airbyte's
// connectorIPCOptions shape unchanged, the form stored and shown by the API.
func TestIPCOptionsJSONShape(t *testing.T) {
	const in = `{"dataChannel":{"version":"0.0.2","supportedSerialization":["JSONL","PROTOBUF"],"supportedTransport":["SOCKET","STDIO"]}}`
	o, err := ParseIPCOptions([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("re-encoded as\n%s\nwant\n%s", out, in)
	}
}

// TestParseIPCOptionsErrors: each invalid input names the member at fault.
func TestParseIPCOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		in, field, msg string
	}{
		{`{"dataChannel":{"version":1}}`, "ipcOptions", "not valid JSON: json: cannot unmarshal number into Go struct field DataChannel.dataChannel.version of type string"},
		{`{"dataChannel":x}`, "ipcOptions", "not valid JSON: syntax error at byte 16"},
		{`{}`, "ipcOptions.dataChannel.version", "is required"},
		{`{"dataChannel":{"version":"0.0.2","supportedTransport":["STDIO"]}}`, "ipcOptions.dataChannel.supportedSerialization", "must not be empty"},
		{`{"dataChannel":{"version":"0.0.2","supportedSerialization":["jsonl"],"supportedTransport":["STDIO"]}}`,
			"ipcOptions.dataChannel.supportedSerialization", `unknown serialization "jsonl"`},
		{`{"dataChannel":{"version":"0.0.2","supportedSerialization":["JSONL"]}}`, "ipcOptions.dataChannel.supportedTransport", "must not be empty"},
		{`{"dataChannel":{"version":"0.0.2","supportedSerialization":["JSONL"],"supportedTransport":["PIGEON"]}}`,
			"ipcOptions.dataChannel.supportedTransport", `unknown transport "PIGEON"`},
	} {
		_, err := ParseIPCOptions([]byte(tc.in))
		var ie *IPCOptionsError
		if !errors.As(err, &ie) || ie.Field != tc.field || ie.Message != tc.msg {
			t.Errorf("ParseIPCOptions(%s) = %v; want field %q, message %q", tc.in, err, tc.field, tc.msg)
			continue
		}
		if want := "invalid " + tc.field + ": " + tc.msg; err.Error() != want {
			t.Errorf("error text %q; want %q", err, want)
		}
	}
}

// TestIPCOptionsSupports: matching ignores case, as Airbyte's enum parsing
// does, and nil options are a legacy connector that speaks STDIO only.
func TestIPCOptionsSupports(t *testing.T) {
	var legacy *IPCOptions
	if !legacy.Supports(TransportStdio) || legacy.Supports(TransportSocket) {
		t.Error("nil options: want STDIO only")
	}
	o := &IPCOptions{DataChannel{Version: "0.0.2", SupportedSerialization: []string{"protobuf"}, SupportedTransport: []string{"socket"}}}
	if !o.Supports(TransportSocket) || o.Supports(TransportStdio) {
		t.Errorf("%+v: want SOCKET only", o.DataChannel.SupportedTransport)
	}
	if !o.DataChannel.SupportsSerialization(FormatProtobuf) || o.DataChannel.SupportsSerialization(FormatJSONL) {
		t.Errorf("%+v: want PROTOBUF only", o.DataChannel.SupportedSerialization)
	}
}

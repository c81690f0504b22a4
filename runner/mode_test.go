package runner

import (
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

func ipc(version string, formats, transports []string) *protocol.IPCOptions {
	o := &protocol.IPCOptions{}
	o.DataChannel.Version = version
	o.DataChannel.SupportedSerialization = formats
	o.DataChannel.SupportedTransport = transports
	return o
}

// TestChooseMode covers every rule of the mode selection.
func TestChooseMode(t *testing.T) {
	both := []string{"JSONL", "PROTOBUF"}
	sock := []string{"SOCKET", "STDIO"}
	full := ipc("0.0.2", both, sock)
	for _, tc := range []struct {
		name    string
		req     ModeRequest
		want    Mode
		wantErr string
	}{
		{name: "legacy connectors", req: ModeRequest{}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "forced stdio", req: ModeRequest{Source: full, Destination: full, ForceStdio: true}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "field selection", req: ModeRequest{Source: full, Destination: full, FieldSelection: true}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "both socket, protobuf preferred", req: ModeRequest{Source: full, Destination: full}, want: Mode{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 2}},
		{name: "case-insensitive enums", req: ModeRequest{Source: ipc("0.0.2", []string{"jsonl"}, []string{"socket"}), Destination: full}, want: Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}},
		{name: "empty intersection is an error", req: ModeRequest{Source: ipc("0.0.2", []string{"JSONL"}, sock), Destination: ipc("0.0.2", []string{"PROTOBUF"}, sock)}, wantErr: "share no serialization"},
		{name: "versions differ", req: ModeRequest{Source: full, Destination: ipc("0.0.3", both, sock)}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "only the source: bridged, JSONL", req: ModeRequest{Source: full}, want: Mode{Mode: protocol.ModeBridged, Format: protocol.FormatJSONL, Sockets: 2}},
		{name: "only the source, no bridge", req: ModeRequest{Source: full, NoBridge: "Ferry runs in a container"}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "only the destination: stdio", req: ModeRequest{Destination: full}, want: Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}},
		{name: "cpu limits", req: ModeRequest{Source: full, Destination: full, SourceCPUs: 4, DestinationCPUs: 2.5}, want: Mode{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 4}},
		{name: "format override", req: ModeRequest{Source: full, Destination: full, Format: "jsonl"}, want: Mode{Mode: protocol.ModeSocket, Format: protocol.FormatJSONL, Sockets: 2}},
		{name: "bridged on request", req: ModeRequest{Source: full, Destination: full, PreferBridged: true, Format: "PROTOBUF"}, want: Mode{Mode: protocol.ModeBridged, Format: protocol.FormatProtobuf, Sockets: 2}},
		{name: "override", req: ModeRequest{Source: full, Destination: full, SocketCount: 8}, want: Mode{Mode: protocol.ModeSocket, Format: protocol.FormatProtobuf, Sockets: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChooseMode(tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %+v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Reason = ""
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

package runner

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/ferrysync/ferry/protocol"
)

// bridgedAvailable gates bridged mode.
var bridgedAvailable = true

// IPCLabel is the image label that carries a connector's IPC options.
const IPCLabel = "io.ferry.ipc-options"

// IPCFromLabels reads IPC options from image labels; nil when absent. It
// only decodes them: ChooseMode reads the names case-insensitively, as
// Airbyte does, while a definition's stored options are validated
// (protocol.ParseIPCOptions).
func IPCFromLabels(labels map[string]string) (*protocol.IPCOptions, error) {
	v, ok := labels[IPCLabel]
	if !ok || v == "" {
		return nil, nil
	}
	var o protocol.IPCOptions
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		return nil, fmt.Errorf("label %s: %v", IPCLabel, err)
	}
	return &o, nil
}

// ModeRequest is what the data channel of a sync is chosen from.
type ModeRequest struct {
	Source, Destination *protocol.IPCOptions
	// ForceStdio is the connection's setting.
	ForceStdio bool
	// FieldSelection is set when records must be rewritten (deselected
	// fields): only stdio can do that, as Airbyte's mappers force STDIO.
	FieldSelection bool
	// NoBridge, when set, says why bridged mode cannot run here (Ferry
	// reaches no directory the source shares, and the relay's image is
	// missing: ResolveBridge); only-source socket support then gives stdio.
	NoBridge string
	// Format, when set, overrides the serialization choice (Airbyte's flag
	// platform.socket-format); it must still be supported by the sockets'
	// users.
	Format string
	// PreferBridged bridges even when the destination speaks SOCKET, for
	// comparisons; socket mode is otherwise always preferred.
	PreferBridged bool
	// SocketCount overrides the computed count when > 0.
	SocketCount int
	// SourceCPUs and DestinationCPUs are the CPU limits; 0 counts as 1.
	SourceCPUs, DestinationCPUs float64
}

// Mode is the chosen data channel.
type Mode struct {
	Mode    string // protocol.ModeStdio, protocol.ModeSocket or protocol.ModeBridged
	Format  string // protocol.FormatJSONL or protocol.FormatProtobuf on the sockets
	Sockets int
	// Bridge is how Ferry reaches the source's sockets in bridged mode:
	// BridgeDirect (a shared directory, the default) or BridgeRelay (the
	// relay container); see ResolveBridge.
	Bridge string
	// Reason says why, for the attempt log.
	Reason string
}

// ChooseMode picks the data channel (docs/design.md, mode selection):
//  1. stdio when forced, when records must be rewritten, or when the
//     source does not speak SOCKET;
//  2. socket when both sides speak SOCKET with the same data-channel
//     version: the serialization is the intersection, PROTOBUF over JSONL,
//     and an empty intersection is a configuration error, never a silent
//     fallback;
//  3. bridged when only the source speaks SOCKET: Ferry reads the source's
//     sockets and writes one stdio stream into the destination;
//  4. sockets = min(source CPUs, destination CPUs) x 2, a missing limit
//     counting as 1, unless overridden.
func ChooseMode(r ModeRequest) (Mode, error) {
	stdio := func(reason string) (Mode, error) {
		return Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL, Reason: reason}, nil
	}
	switch {
	case r.ForceStdio:
		return stdio("the connection forces stdio")
	case r.FieldSelection:
		return stdio("field selection rewrites records, which needs stdio")
	case !r.Source.Supports(protocol.TransportSocket):
		return stdio("the source does not speak SOCKET")
	}
	sockets := socketCount(r)
	src := r.Source.DataChannel
	if !r.Destination.Supports(protocol.TransportSocket) && (!bridgedAvailable || r.NoBridge != "") {
		return stdio("only the source speaks SOCKET, and bridged mode is not available: " + r.NoBridge)
	}
	if !r.Destination.Supports(protocol.TransportSocket) || r.PreferBridged {
		// Ferry reads JSONL cheapest: it forwards the lines as they are.
		format := protocol.FormatJSONL
		switch {
		case r.Format != "":
			if !src.SupportsSerialization(r.Format) {
				return Mode{}, fmt.Errorf("the source does not support %s", r.Format)
			}
			format = strings.ToUpper(r.Format)
		case src.SupportsSerialization(protocol.FormatJSONL):
		case src.SupportsSerialization(protocol.FormatProtobuf):
			format = protocol.FormatProtobuf
		default:
			return Mode{}, fmt.Errorf("the source supports no serialization Ferry reads (want JSONL or PROTOBUF, got %v)", src.SupportedSerialization)
		}
		reason := "only the source speaks SOCKET: Ferry bridges its sockets into the destination's stdin"
		if r.PreferBridged {
			reason = "bridged mode was asked for"
		}
		return Mode{Mode: protocol.ModeBridged, Format: format, Sockets: sockets, Reason: reason}, nil
	}
	dst := r.Destination.DataChannel
	if src.Version != dst.Version {
		return stdio(fmt.Sprintf("data channel versions differ (source %s, destination %s)", src.Version, dst.Version))
	}
	var format string
	prefs := []string{protocol.FormatProtobuf, protocol.FormatJSONL}
	if r.Format != "" {
		prefs = []string{strings.ToUpper(r.Format)}
	}
	for _, f := range prefs {
		if src.SupportsSerialization(f) && dst.SupportsSerialization(f) {
			format = f
			break
		}
	}
	if format == "" {
		return Mode{}, fmt.Errorf("the source (%v) and the destination (%v) share no serialization for socket mode",
			src.SupportedSerialization, dst.SupportedSerialization)
	}
	return Mode{Mode: protocol.ModeSocket, Format: format, Sockets: sockets, Reason: "both connectors speak SOCKET"}, nil
}

func socketCount(r ModeRequest) int {
	if r.SocketCount > 0 {
		return min(r.SocketCount, 1024)
	}
	cpus := func(c float64) int {
		if c <= 0 {
			return 1
		}
		return int(math.Min(math.Max(math.Floor(c), 1), 1024))
	}
	return min(cpus(r.SourceCPUs), cpus(r.DestinationCPUs)) * 2
}

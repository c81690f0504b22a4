package cdk

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

// The data channel a read or write uses (docs/protocol.md 1.6, 5). Ferry picks
// it per sync and tells both connectors through identical environment
// variables; the connector CLI does not change.
const (
	// EnvMedium is STDIO (the default) or SOCKET.
	EnvMedium = "DATA_CHANNEL_MEDIUM"
	// EnvFormat is JSONL (the default) or PROTOBUF. It only matters with
	// SOCKET: stdout is always JSONL.
	EnvFormat = "DATA_CHANNEL_FORMAT"
	// EnvSocketPaths is the comma-joined list of socket paths, identical
	// on both sides.
	EnvSocketPaths = "DATA_CHANNEL_SOCKET_PATHS"
	// EnvSocketTimeout bounds how long a source waits for the destination
	// to connect, and how long a destination polls for the source's
	// sockets: a Go duration ("90s", "15m") or a whole number of seconds.
	// Airbyte's client gives up after 15 minutes; so does the kit.
	EnvSocketTimeout = "FERRY_SOCKET_CONNECT_TIMEOUT"
	// EnvCompleteOnStdin, "true" for a socket-mode destination that Ferry
	// runs, says that Ferry confirms the end of each stream on stdin: a
	// COMPLETE status there, sent only once the source exited 0, is what
	// lets a stream be finalised, not the source's COMPLETE on a socket
	// (dest_confirm.go). Other platforms do not set it, and the
	// destination then trusts the sockets, as Airbyte's do.
	EnvCompleteOnStdin = "FERRY_COMPLETE_ON_STDIN"
)

// Media and formats, as Airbyte spells them (defined once, in protocol).
const (
	MediumStdio    = protocol.TransportStdio
	MediumSocket   = protocol.TransportSocket
	FormatJSONL    = protocol.FormatJSONL
	FormatProtobuf = protocol.FormatProtobuf
)

// DefaultSocketTimeout is the socket connection timeout without
// EnvSocketTimeout.
const DefaultSocketTimeout = 15 * time.Minute

// channelConfig is the data channel of one command.
type channelConfig struct {
	medium  string
	format  string
	paths   []string
	timeout time.Duration
	// confirm: a stream completes only on Ferry's COMPLETE on stdin
	// (EnvCompleteOnStdin).
	confirm bool
}

// socket reports whether records travel over sockets.
func (c *channelConfig) socket() bool { return c.medium == MediumSocket }

// protobuf reports whether the sockets carry protobuf frames.
func (c *channelConfig) protobuf() bool { return c.format == FormatProtobuf }

// getenv is os.Getenv; tests replace it to run both roles in one process
// with different settings.
var getenv = os.Getenv

// channelFromEnv reads the data channel settings. Values are matched
// case-insensitively, as Airbyte parses them. An unset or empty medium is
// STDIO, so a connector run by hand or by an older Ferry behaves exactly
// as before.
func channelFromEnv() (*channelConfig, error) {
	c := &channelConfig{medium: MediumStdio, format: FormatJSONL, timeout: DefaultSocketTimeout}
	if m := strings.ToUpper(strings.TrimSpace(getenv(EnvMedium))); m != "" {
		c.medium = m
	}
	if f := strings.ToUpper(strings.TrimSpace(getenv(EnvFormat))); f != "" {
		c.format = f
	}
	switch c.medium {
	case MediumStdio:
		return c, nil
	case MediumSocket:
	default:
		return nil, SystemError("%s=%q: want %s or %s", EnvMedium, c.medium, MediumStdio, MediumSocket)
	}
	if c.format != FormatJSONL && c.format != FormatProtobuf {
		return nil, SystemError("%s=%q: want %s or %s", EnvFormat, c.format, FormatJSONL, FormatProtobuf)
	}
	for _, p := range strings.Split(getenv(EnvSocketPaths), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.paths = append(c.paths, p)
		}
	}
	if len(c.paths) == 0 {
		return nil, SystemError("%s=%s needs %s: a comma-separated list of socket paths", EnvMedium, MediumSocket, EnvSocketPaths)
	}
	seen := make(map[string]bool, len(c.paths))
	for _, p := range c.paths {
		if seen[p] {
			return nil, SystemError("%s lists %s twice", EnvSocketPaths, p)
		}
		seen[p] = true
	}
	if v := strings.TrimSpace(getenv(EnvSocketTimeout)); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			return nil, SystemError("%s=%q: %v", EnvSocketTimeout, v, err)
		}
		c.timeout = d
	}
	if v := strings.TrimSpace(getenv(EnvCompleteOnStdin)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, SystemError("%s=%q: want true or false", EnvCompleteOnStdin, v)
		}
		c.confirm = b
	}
	return c, nil
}

// parseTimeout reads a Go duration or a whole number of seconds.
func parseTimeout(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("want a positive timeout")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 90s or 15m, or seconds")
	}
	if d <= 0 {
		return 0, fmt.Errorf("want a positive timeout")
	}
	return d, nil
}

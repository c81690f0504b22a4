// Package cdk is Ferry's connector kit: it implements the connector side of
// the Airbyte protocol (docs/protocol.md) so that a connector author writes only
// streams (a Source) or a writer (a Destination).
//
// A connector's main is one line:
//
//	func main() { cdk.Main(mySource{}) }
//
// The kit parses the command line (spec, check, discover, read, write),
// validates the config against the spec's JSON Schema, redacts secret values
// from every message it emits, maps errors to ERROR traces and exit codes,
// buffers stdout, and on the destination side decides when a state may be
// acknowledged (see CheckpointManager).
//
// Data channel (docs/protocol.md 5). Ferry chooses it per sync through the
// environment: DATA_CHANNEL_MEDIUM (STDIO, the default, or SOCKET),
// DATA_CHANNEL_FORMAT (JSONL or PROTOBUF) and DATA_CHANNEL_SOCKET_PATHS
// (comma-joined, identical for both sides); FERRY_SOCKET_CONNECT_TIMEOUT
// bounds the wait for the other side (default 15 minutes). Unset, a
// connector behaves exactly as in stdio mode.
//
// In socket mode the source is the server: it listens on every path,
// accepts one destination connection per socket, and reads its streams as
// partitions (a Partitioned stream splits itself; other streams are read
// one after the other), one socket per running partition. Records go only
// to the sockets, each with its partition's partition_id; every state gets
// an id (per stream for STREAM, one counter for GLOBAL), the partition_id
// of the records it covers and their count, and goes to stdout for Ferry's
// bookkeeper and to the socket for the destination. Stream statuses travel
// both ways too. An idle socket gets a probe.
//
// The destination is the client: it polls for the sockets, connects, reads
// them all concurrently and feeds the same write pipeline as stdio mode
// through a socket Intake. The CheckpointManager keys states by the
// source's id and partition_id and releases them in id order once their
// records are flushed. Records come under the source's names; the kit
// maps them with the file NAMESPACE_MAPPING_CONFIG_PATH names before the
// writer sees them. Under Ferry (FERRY_COMPLETE_ON_STDIN) the source's
// COMPLETE statuses on the sockets are provisional: a stream is finalised
// only on Ferry's COMPLETE on stdin, sent once the source exited 0. Stdin
// carries nothing else.
package cdk

// Package cdk is Ferry's connector kit: it implements the connector side of
// the Airbyte protocol (PROTOCOL.md) so that a connector author writes only
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
// Data channel: this version speaks stdio only. Sources write through an
// Emitter and destinations read through an Intake, so a socket channel can be
// added beside the stdio one without changing either interface.
package cdk

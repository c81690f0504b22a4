// Command destination-null discards every record but checks and
// acknowledges states exactly as a real destination does: a state is
// echoed only after every state before it and all of its records, with
// the counts checked against sourceStats. It is Ferry's benchmark sink:
// records are never decoded, only their envelope is scanned (and in
// PROTOBUF socket mode only their header).
package main

import (
	"context"
	"encoding/json"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

func main() { cdk.Main(destination{}) }

var spec = &protocol.Spec{
	DocumentationURL: "https://docs.airbyte.com/integrations/destinations/dev-null",
	ConnectionSpecification: json.RawMessage(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Null Destination Spec",
  "description": "Discards every record. Takes no settings.",
  "type": "object",
  "properties": {}
}`),
	SupportsIncremental:           ptr(true),
	SupportedDestinationSyncModes: []string{protocol.DestAppend, protocol.DestOverwrite, protocol.DestAppendDedup},
	ProtocolVersion:               "0.2.0",
}

func ptr[T any](v T) *T { return &v }

type destination struct{}

func (destination) Spec() *protocol.Spec { return spec }

// Check has nothing to reach.
func (destination) Check(ctx context.Context, req *cdk.Request) error { return nil }

func (destination) Open(ctx context.Context, req *cdk.WriteRequest) (cdk.Writer, error) {
	return writer{}, nil
}

// writer discards. Flushing is free, so it is durable at once.
type writer struct{}

func (writer) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (cdk.StreamWriter, error) {
	return stream{}, nil
}

func (writer) Close(ctx context.Context) error { return nil }

// ProtobufRecords takes PROTOBUF records as they arrive: the sink never
// reads them, so the kit need not convert them to JSON.
func (writer) ProtobufRecords() bool { return true }

// RecordsUnread: the sink never reads a record's bytes, so the kit need
// not copy them either; it still checks and counts every record.
func (writer) RecordsUnread() bool { return true }

type stream struct{}

func (stream) Write(ctx context.Context, batch []cdk.Record) error { return nil }
func (stream) Flush(ctx context.Context) error                     { return nil }
func (stream) Finish(ctx context.Context, complete bool) error     { return nil }

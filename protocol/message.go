// Package protocol is the Airbyte protocol (v0, release 0.18.0) as Ferry
// speaks it: the message model and the JSONL codec that works at the
// envelope level. The protobuf codec of socket mode is package
// protocol/protobuf; the secret fields of a connector config are found and
// masked by package secret.
//
// Every model type keeps the JSON members it does not declare in an Extra
// map and writes them back on encode, because the schema allows additional
// properties everywhere and forwarders must preserve them (docs/protocol.md 2.0).
// Opaque blobs (record data, state, config, schemas) are json.RawMessage so
// numbers larger than 2^53 survive untouched.
package protocol

import "encoding/json"

// Type is an AirbyteMessage type.
type Type string

// The message types of protocol v0.
const (
	TypeRecord             Type = "RECORD"
	TypeState              Type = "STATE"
	TypeLog                Type = "LOG"
	TypeSpec               Type = "SPEC"
	TypeConnectionStatus   Type = "CONNECTION_STATUS"
	TypeCatalog            Type = "CATALOG"
	TypeTrace              Type = "TRACE"
	TypeControl            Type = "CONTROL"
	TypeDestinationCatalog Type = "DESTINATION_CATALOG"
)

// Known reports whether t is a message type of protocol v0.
func (t Type) Known() bool {
	switch t {
	case TypeRecord, TypeState, TypeLog, TypeSpec, TypeConnectionStatus,
		TypeCatalog, TypeTrace, TypeControl, TypeDestinationCatalog:
		return true
	}
	return false
}

// Message is the AirbyteMessage envelope. Exactly one payload goes with Type.
type Message struct {
	Type               Type              `json:"type"`
	Log                *Log              `json:"log,omitempty"`
	Spec               *Spec             `json:"spec,omitempty"`
	ConnectionStatus   *ConnectionStatus `json:"connectionStatus,omitempty"`
	Catalog            *Catalog          `json:"catalog,omitempty"`
	Record             *Record           `json:"record,omitempty"`
	State              *State            `json:"state,omitempty"`
	Trace              *Trace            `json:"trace,omitempty"`
	Control            *Control          `json:"control,omitempty"`
	DestinationCatalog json.RawMessage   `json:"destination_catalog,omitempty"`
	Extra              Extra             `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra. It is hand-written
// (decode.go) because every line goes through it.
func (m *Message) UnmarshalJSON(b []byte) error {
	var n Message
	if err := decodeMessage(&n, b); err != nil {
		return err
	}
	*m = n
	return nil
}

// MarshalJSON writes Extra back.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	return marshalWithExtra(plain(m), m.Extra)
}

// Record is an AirbyteRecordMessage.
type Record struct {
	Namespace     string          `json:"namespace,omitempty"`
	Stream        string          `json:"stream"`
	Data          json.RawMessage `json:"data"`
	EmittedAt     Millis          `json:"emitted_at"`
	Meta          *RecordMeta     `json:"meta,omitempty"`
	FileReference json.RawMessage `json:"file_reference,omitempty"`
	// PartitionID is undeclared in the schema; sources set it in socket mode.
	PartitionID string `json:"partition_id,omitempty"`
	Extra       Extra  `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra. It is hand-written
// (decode.go) because every record goes through it.
func (r *Record) UnmarshalJSON(b []byte) error {
	var n Record
	if err := decodeRecord(&n, b); err != nil {
		return err
	}
	*r = n
	return nil
}

// MarshalJSON writes Extra back.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	return marshalWithExtra(plain(r), r.Extra)
}

// Descriptor returns the record's stream descriptor.
func (r *Record) Descriptor() StreamDescriptor {
	return StreamDescriptor{Name: r.Stream, Namespace: r.Namespace}
}

// RecordMeta is AirbyteRecordMessageMeta.
type RecordMeta struct {
	Changes []RecordChange `json:"changes,omitempty"`
	Extra   Extra          `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (r *RecordMeta) UnmarshalJSON(b []byte) error {
	type plain RecordMeta
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*r = RecordMeta(p)
	r.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (r RecordMeta) MarshalJSON() ([]byte, error) {
	type plain RecordMeta
	return marshalWithExtra(plain(r), r.Extra)
}

// RecordChange is one AirbyteRecordMessageMetaChange.
type RecordChange struct {
	Field  string `json:"field"`
	Change string `json:"change"` // NULLED or TRUNCATED
	Reason string `json:"reason"` // e.g. SOURCE_RECORD_SIZE_LIMITATION
	Extra  Extra  `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (c *RecordChange) UnmarshalJSON(b []byte) error {
	type plain RecordChange
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = RecordChange(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c RecordChange) MarshalJSON() ([]byte, error) {
	type plain RecordChange
	return marshalWithExtra(plain(c), c.Extra)
}

// Change kinds of a RecordChange.
const (
	ChangeNulled    = "NULLED"
	ChangeTruncated = "TRUNCATED"
)

// RecordChangeReasons lists the reasons of protocol 0.18.0 in schema order,
// which is also their protobuf enum number.
var RecordChangeReasons = []string{
	"SOURCE_RECORD_SIZE_LIMITATION",
	"DESTINATION_RECORD_SIZE_LIMITATION",
	"PLATFORM_RECORD_SIZE_LIMITATION",
	"SOURCE_FIELD_SIZE_LIMITATION",
	"DESTINATION_FIELD_SIZE_LIMITATION",
	"PLATFORM_FIELD_SIZE_LIMITATION",
	"SOURCE_SERIALIZATION_ERROR",
	"DESTINATION_SERIALIZATION_ERROR",
	"PLATFORM_SERIALIZATION_ERROR",
	"SOURCE_RETRIEVAL_ERROR",
	"DESTINATION_TYPECAST_ERROR",
}

// StreamDescriptor names a stream. An empty Namespace and a null one are the
// same stream. It is a comparable value used as a map key throughout Ferry,
// so unlike the other model types it keeps no Extra: undeclared members of
// a descriptor do not survive a full decode and encode (forwarded lines keep
// their original bytes).
type StreamDescriptor struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// String returns "namespace.name", or "name" without a namespace.
func (d StreamDescriptor) String() string {
	if d.Namespace == "" {
		return d.Name
	}
	return d.Namespace + "." + d.Name
}

// Log is an AirbyteLogMessage.
type Log struct {
	Level      string `json:"level"`
	Message    string `json:"message"`
	StackTrace string `json:"stack_trace,omitempty"`
	Extra      Extra  `json:"-"`
}

// Log levels.
const (
	LevelFatal = "FATAL"
	LevelError = "ERROR"
	LevelWarn  = "WARN"
	LevelInfo  = "INFO"
	LevelDebug = "DEBUG"
	LevelTrace = "TRACE"
)

// UnmarshalJSON keeps undeclared members in Extra.
func (l *Log) UnmarshalJSON(b []byte) error {
	type plain Log
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*l = Log(p)
	l.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (l Log) MarshalJSON() ([]byte, error) {
	type plain Log
	return marshalWithExtra(plain(l), l.Extra)
}

// ConnectionStatus is an AirbyteConnectionStatus.
type ConnectionStatus struct {
	Status  string `json:"status"` // SUCCEEDED or FAILED
	Message string `json:"message,omitempty"`
	Extra   Extra  `json:"-"`
}

// Connection status values.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

// UnmarshalJSON keeps undeclared members in Extra.
func (c *ConnectionStatus) UnmarshalJSON(b []byte) error {
	type plain ConnectionStatus
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = ConnectionStatus(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c ConnectionStatus) MarshalJSON() ([]byte, error) {
	type plain ConnectionStatus
	return marshalWithExtra(plain(c), c.Extra)
}

// Control is an AirbyteControlMessage.
type Control struct {
	Type            string                  `json:"type"` // CONNECTOR_CONFIG
	EmittedAt       Millis                  `json:"emitted_at"`
	ConnectorConfig *ControlConnectorConfig `json:"connectorConfig,omitempty"`
	Extra           Extra                   `json:"-"`
}

// ControlConnectorConfig carries a replacement connector config.
type ControlConnectorConfig struct {
	Config json.RawMessage `json:"config"`
	Extra  Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (c *ControlConnectorConfig) UnmarshalJSON(b []byte) error {
	type plain ControlConnectorConfig
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = ControlConnectorConfig(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c ControlConnectorConfig) MarshalJSON() ([]byte, error) {
	type plain ControlConnectorConfig
	return marshalWithExtra(plain(c), c.Extra)
}

// ControlConnectorConfigType is the only control type of protocol v0.
const ControlConnectorConfigType = "CONNECTOR_CONFIG"

// UnmarshalJSON keeps undeclared members in Extra.
func (c *Control) UnmarshalJSON(b []byte) error {
	type plain Control
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = Control(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c Control) MarshalJSON() ([]byte, error) {
	type plain Control
	return marshalWithExtra(plain(c), c.Extra)
}

package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sync modes (source side).
const (
	SyncFullRefresh = "full_refresh"
	SyncIncremental = "incremental"
)

// Destination sync modes.
const (
	DestAppend      = "append"
	DestOverwrite   = "overwrite"
	DestAppendDedup = "append_dedup"
	DestUpdate      = "update"
	DestSoftDelete  = "soft_delete"
	// DestOverwriteDedup is the platform's overwrite-dedup; it is not in the
	// protocol enum and is rewritten before a catalog reaches a destination.
	DestOverwriteDedup = "overwrite_dedup"
)

// Spec is a ConnectorSpecification.
type Spec struct {
	DocumentationURL              string          `json:"documentationUrl,omitempty"`
	ChangelogURL                  string          `json:"changelogUrl,omitempty"`
	ConnectionSpecification       json.RawMessage `json:"connectionSpecification"`
	SupportsIncremental           *bool           `json:"supportsIncremental,omitempty"`
	SupportsNormalization         *bool           `json:"supportsNormalization,omitempty"`
	SupportsDBT                   *bool           `json:"supportsDBT,omitempty"`
	SupportedDestinationSyncModes []string        `json:"supported_destination_sync_modes,omitempty"`
	AuthSpecification             json.RawMessage `json:"authSpecification,omitempty"`
	AdvancedAuth                  json.RawMessage `json:"advanced_auth,omitempty"`
	ProtocolVersion               string          `json:"protocol_version,omitempty"`
	Extra                         Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = Spec(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s Spec) MarshalJSON() ([]byte, error) {
	type plain Spec
	return marshalWithExtra(plain(s), s.Extra)
}

// Catalog is an AirbyteCatalog.
type Catalog struct {
	Streams []Stream `json:"streams"`
	Extra   Extra    `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (c *Catalog) UnmarshalJSON(b []byte) error {
	type plain Catalog
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = Catalog(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c Catalog) MarshalJSON() ([]byte, error) {
	type plain Catalog
	if c.Streams == nil {
		c.Streams = []Stream{}
	}
	return marshalWithExtra(plain(c), c.Extra)
}

// Stream is an AirbyteStream.
type Stream struct {
	Name                    string          `json:"name"`
	JSONSchema              json.RawMessage `json:"json_schema"`
	SupportedSyncModes      []string        `json:"supported_sync_modes"`
	SourceDefinedCursor     bool            `json:"source_defined_cursor,omitempty"`
	DefaultCursorField      []string        `json:"default_cursor_field,omitempty"`
	SourceDefinedPrimaryKey [][]string      `json:"source_defined_primary_key,omitempty"`
	Namespace               string          `json:"namespace,omitempty"`
	IsResumable             *bool           `json:"is_resumable,omitempty"`
	IsFileBased             *bool           `json:"is_file_based,omitempty"`
	Extra                   Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *Stream) UnmarshalJSON(b []byte) error {
	type plain Stream
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = Stream(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s Stream) MarshalJSON() ([]byte, error) {
	type plain Stream
	return marshalWithExtra(plain(s), s.Extra)
}

// Descriptor returns the stream's descriptor.
func (s *Stream) Descriptor() StreamDescriptor {
	return StreamDescriptor{Name: s.Name, Namespace: s.Namespace}
}

// Supports reports whether the stream lists the given sync mode.
func (s *Stream) Supports(mode string) bool {
	for _, m := range s.SupportedSyncModes {
		if m == mode {
			return true
		}
	}
	return false
}

// DefaultConfigured configures every stream in its default mode:
// incremental append when the stream supports incremental and has a cursor,
// full refresh overwrite otherwise; the source-defined primary key is kept.
func (c *Catalog) DefaultConfigured() *ConfiguredCatalog {
	out := &ConfiguredCatalog{}
	for _, s := range c.Streams {
		cs := ConfiguredStream{Stream: s, SyncMode: SyncFullRefresh, DestinationSyncMode: DestOverwrite}
		if s.Supports(SyncIncremental) && (s.SourceDefinedCursor || len(s.DefaultCursorField) > 0) {
			cs.SyncMode, cs.DestinationSyncMode = SyncIncremental, DestAppend
			cs.CursorField = s.DefaultCursorField
		}
		cs.PrimaryKey = s.SourceDefinedPrimaryKey
		out.Streams = append(out.Streams, cs)
	}
	return out
}

// ConfiguredCatalog is a ConfiguredAirbyteCatalog.
type ConfiguredCatalog struct {
	Streams []ConfiguredStream `json:"streams"`
	Extra   Extra              `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (c *ConfiguredCatalog) UnmarshalJSON(b []byte) error {
	type plain ConfiguredCatalog
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*c = ConfiguredCatalog(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (c ConfiguredCatalog) MarshalJSON() ([]byte, error) {
	type plain ConfiguredCatalog
	if c.Streams == nil {
		c.Streams = []ConfiguredStream{}
	}
	return marshalWithExtra(plain(c), c.Extra)
}

// Find returns the configured stream with descriptor d, or nil.
func (c *ConfiguredCatalog) Find(d StreamDescriptor) *ConfiguredStream {
	for i := range c.Streams {
		if c.Streams[i].Stream.Descriptor() == d {
			return &c.Streams[i]
		}
	}
	return nil
}

// Validate checks the rules of docs/protocol.md 2.7: modes are known, an
// incremental stream has a cursor, a dedup stream has a primary key, and no
// stream appears twice.
func (c *ConfiguredCatalog) Validate() error {
	seen := make(map[StreamDescriptor]bool, len(c.Streams))
	for i := range c.Streams {
		s := &c.Streams[i]
		d := s.Stream.Descriptor()
		if d.Name == "" {
			return fmt.Errorf("configured catalog: stream %d has no name", i)
		}
		if seen[d] {
			return fmt.Errorf("configured catalog: stream %s appears twice", d)
		}
		seen[d] = true
		if err := s.Validate(); err != nil {
			return fmt.Errorf("configured catalog: stream %s: %w", d, err)
		}
	}
	return nil
}

// ConfiguredStream is a ConfiguredAirbyteStream.
type ConfiguredStream struct {
	Stream                Stream     `json:"stream"`
	SyncMode              string     `json:"sync_mode"`
	DestinationSyncMode   string     `json:"destination_sync_mode"`
	CursorField           []string   `json:"cursor_field,omitempty"`
	PrimaryKey            [][]string `json:"primary_key,omitempty"`
	GenerationID          *int64     `json:"generation_id,omitempty"`
	MinimumGenerationID   *int64     `json:"minimum_generation_id,omitempty"`
	SyncID                *int64     `json:"sync_id,omitempty"`
	DestinationObjectName string     `json:"destination_object_name,omitempty"`
	IncludeFiles          *bool      `json:"include_files,omitempty"`
	Extra                 Extra      `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *ConfiguredStream) UnmarshalJSON(b []byte) error {
	type plain ConfiguredStream
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = ConfiguredStream(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s ConfiguredStream) MarshalJSON() ([]byte, error) {
	type plain ConfiguredStream
	return marshalWithExtra(plain(s), s.Extra)
}

// Cursor returns the effective cursor field: the source-defined one, else
// the configured one, else the default (docs/protocol.md 2.7).
func (s *ConfiguredStream) Cursor() []string {
	if s.Stream.SourceDefinedCursor && len(s.Stream.DefaultCursorField) > 0 {
		return s.Stream.DefaultCursorField
	}
	if len(s.CursorField) > 0 {
		return s.CursorField
	}
	return s.Stream.DefaultCursorField
}

// Keys returns the effective primary key: the configured one, else the
// source-defined one.
func (s *ConfiguredStream) Keys() [][]string {
	if len(s.PrimaryKey) > 0 {
		return s.PrimaryKey
	}
	return s.Stream.SourceDefinedPrimaryKey
}

// Truncates reports whether the destination must drop older generations:
// minimum_generation_id equals generation_id and is non-zero, or the legacy
// overwrite mode.
func (s *ConfiguredStream) Truncates() bool {
	if s.GenerationID != nil && s.MinimumGenerationID != nil && *s.MinimumGenerationID > 0 {
		return *s.MinimumGenerationID == *s.GenerationID
	}
	return s.DestinationSyncMode == DestOverwrite
}

// Validate checks one configured stream.
func (s *ConfiguredStream) Validate() error {
	switch s.SyncMode {
	case SyncFullRefresh:
	case SyncIncremental:
		if !s.Stream.SourceDefinedCursor && len(s.Cursor()) == 0 {
			return errors.New("incremental sync needs a cursor field")
		}
	default:
		return fmt.Errorf("unknown sync_mode %q", s.SyncMode)
	}
	switch s.DestinationSyncMode {
	case DestAppend, DestOverwrite, DestUpdate, DestSoftDelete:
	case DestAppendDedup, DestOverwriteDedup:
		if len(s.Keys()) == 0 {
			return fmt.Errorf("%s needs a primary key", s.DestinationSyncMode)
		}
	default:
		return fmt.Errorf("unknown destination_sync_mode %q", s.DestinationSyncMode)
	}
	return nil
}

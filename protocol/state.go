package protocol

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/protocol/internal/jsonscan"
)

// StateType is an AirbyteStateType. The empty value means LEGACY: a state
// without a type is a legacy state (docs/protocol.md 2.3).
type StateType string

// State types.
const (
	StateStream StateType = "STREAM"
	StateGlobal StateType = "GLOBAL"
	StateLegacy StateType = "LEGACY"
)

// State is an AirbyteStateMessage. ID and PartitionID are undeclared in the
// schema: Ferry sets ID in stdio mode, sources set both in socket mode.
type State struct {
	Type             StateType       `json:"type,omitempty"`
	Stream           *StreamState    `json:"stream,omitempty"`
	Global           *GlobalState    `json:"global,omitempty"`
	Data             json.RawMessage `json:"data,omitempty"`
	SourceStats      *StateStats     `json:"sourceStats,omitempty"`
	DestinationStats *StateStats     `json:"destinationStats,omitempty"`
	ID               *int64          `json:"id,omitempty"`
	PartitionID      string          `json:"partition_id,omitempty"`
	Extra            Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra. It also accepts "global_"
// for "global": CDK 0.1.72 echoes GLOBAL states under that key (a pydantic
// alias bug, docs/protocol.md section 3). The alias is folded away, so it is
// never written back.
func (s *State) UnmarshalJSON(b []byte) error {
	type plain State
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	if raw, ok := extra["global_"]; ok {
		if p.Global == nil && string(raw) != "null" {
			var g GlobalState
			if err := json.Unmarshal(raw, &g); err != nil {
				return fmt.Errorf("global_: %w", err)
			}
			p.Global = &g
		}
		delete(extra, "global_")
		if len(extra) == 0 {
			extra = nil
		}
	}
	*s = State(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State
	return marshalWithExtra(plain(s), s.Extra)
}

// Kind returns the state's effective type: LEGACY when Type is empty.
func (s *State) Kind() StateType {
	if s.Type == "" {
		return StateLegacy
	}
	return s.Type
}

// Validate checks that the payload matches the type.
func (s *State) Validate() error {
	switch s.Kind() {
	case StateStream:
		if s.Stream == nil {
			return errors.New("STREAM state without stream")
		}
		if s.Stream.StreamDescriptor.Name == "" {
			return errors.New("STREAM state without stream_descriptor.name")
		}
	case StateGlobal:
		if s.Global == nil {
			return errors.New("GLOBAL state without global")
		}
	case StateLegacy:
		if len(s.Data) == 0 {
			return errors.New("LEGACY state without data")
		}
	default:
		return fmt.Errorf("unknown state type %q", s.Type)
	}
	return nil
}

// StreamState is an AirbyteStreamState. A null StreamState blob means
// "reset this stream".
type StreamState struct {
	StreamDescriptor StreamDescriptor `json:"stream_descriptor"`
	StreamState      json.RawMessage  `json:"stream_state,omitempty"`
	Extra            Extra            `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *StreamState) UnmarshalJSON(b []byte) error {
	type plain StreamState
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = StreamState(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s StreamState) MarshalJSON() ([]byte, error) {
	type plain StreamState
	return marshalWithExtra(plain(s), s.Extra)
}

// GlobalState is an AirbyteGlobalState.
type GlobalState struct {
	SharedState  json.RawMessage `json:"shared_state,omitempty"`
	StreamStates []StreamState   `json:"stream_states"`
	Extra        Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (g *GlobalState) UnmarshalJSON(b []byte) error {
	type plain GlobalState
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*g = GlobalState(p)
	g.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (g GlobalState) MarshalJSON() ([]byte, error) {
	type plain GlobalState
	if g.StreamStates == nil {
		g.StreamStates = []StreamState{}
	}
	return marshalWithExtra(plain(g), g.Extra)
}

// StateStats is AirbyteStateStats, used as sourceStats and destinationStats.
type StateStats struct {
	RecordCount         *Count          `json:"recordCount,omitempty"`
	RejectedRecordCount *Count          `json:"rejectedRecordCount,omitempty"`
	AdditionalStats     json.RawMessage `json:"additionalStats,omitempty"`
	Extra               Extra           `json:"-"`
}

// UnmarshalJSON keeps undeclared members in Extra.
func (s *StateStats) UnmarshalJSON(b []byte) error {
	type plain StateStats
	var p plain
	extra, err := unmarshalWithExtra(b, &p)
	if err != nil {
		return err
	}
	*s = StateStats(p)
	s.Extra = extra
	return nil
}

// MarshalJSON writes Extra back.
func (s StateStats) MarshalJSON() ([]byte, error) {
	type plain StateStats
	return marshalWithExtra(plain(s), s.Extra)
}

// NewCount returns a pointer to a Count, for StateStats literals.
func NewCount(n int64) *Count {
	c := Count(n)
	return &c
}

// BookkeepingKeys are the members Ferry and the connectors add to a state
// for bookkeeping. They are stripped before a state is handed back to a
// source in its --state file (docs/protocol.md 1.3).
var BookkeepingKeys = []string{
	"id", "partition_id", "sourceStats", "destinationStats",
	"committedRecordsCount", "committedBytesCount", "rejectedRecordsCount",
}

// Clean returns a copy of s without bookkeeping members, ready to persist
// and to hand back to a source.
func (s *State) Clean() *State {
	c := *s
	c.ID = nil
	c.PartitionID = ""
	c.SourceStats = nil
	c.DestinationStats = nil
	c.Extra = cleanExtra(s.Extra)
	if s.Stream != nil {
		st := *s.Stream
		st.Extra = cleanExtra(st.Extra)
		c.Stream = &st
	}
	if s.Global != nil {
		g := *s.Global
		g.Extra = cleanExtra(g.Extra)
		g.StreamStates = make([]StreamState, len(s.Global.StreamStates))
		for i, ss := range s.Global.StreamStates {
			ss.Extra = cleanExtra(ss.Extra)
			g.StreamStates[i] = ss
		}
		c.Global = &g
	}
	return &c
}

func cleanExtra(e Extra) Extra {
	if len(e) == 0 {
		return nil
	}
	out := make(Extra, len(e))
	for k, v := range e {
		out[k] = v
	}
	for _, k := range BookkeepingKeys {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// StateFile builds the content of a source's --state file from committed
// states (docs/protocol.md 1.3): a JSON array of AirbyteStateMessage for STREAM
// and GLOBAL, and the bare data blob for LEGACY. It returns nil when there
// is no state, in which case the flag must be omitted.
func StateFile(states []*State) ([]byte, error) {
	if len(states) == 0 {
		return nil, nil
	}
	kind := states[0].Kind()
	for _, s := range states[1:] {
		if s.Kind() != kind {
			return nil, fmt.Errorf("state file: cannot mix %s and %s states", kind, s.Kind())
		}
	}
	switch kind {
	case StateLegacy:
		if len(states) != 1 {
			return nil, errors.New("state file: more than one LEGACY state")
		}
		return append(json.RawMessage(nil), states[0].Data...), nil
	case StateGlobal:
		if len(states) != 1 {
			return nil, errors.New("state file: more than one GLOBAL state")
		}
	}
	clean := make([]*State, len(states))
	for i, s := range states {
		clean[i] = s.Clean()
	}
	return json.Marshal(clean)
}

// ParseStateFile reads a --state file in any of its shapes: an array of
// state messages (STREAM or GLOBAL), a single state message object, or a
// bare LEGACY blob.
func ParseStateFile(b []byte) ([]*State, error) {
	b = jsonscan.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '[' {
		var states []*State
		if err := json.Unmarshal(b, &states); err != nil {
			return nil, fmt.Errorf("state file: %w", err)
		}
		for i, s := range states {
			if s == nil {
				return nil, fmt.Errorf("state file: element %d is null", i)
			}
			if err := s.Validate(); err != nil {
				return nil, fmt.Errorf("state file: element %d: %w", i, err)
			}
		}
		return states, nil
	}
	if b[0] != '{' {
		return nil, errors.New("state file: want a JSON array or object")
	}
	// A typed state message object is accepted for convenience; anything
	// else is a LEGACY blob.
	var probe struct {
		Type   StateType       `json:"type"`
		Stream json.RawMessage `json:"stream"`
		Global json.RawMessage `json:"global"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if (probe.Type == StateStream && probe.Stream != nil) || (probe.Type == StateGlobal && probe.Global != nil) {
		var s State
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("state file: %w", err)
		}
		return []*State{&s}, nil
	}
	return []*State{{Type: StateLegacy, Data: append(json.RawMessage(nil), b...)}}, nil
}

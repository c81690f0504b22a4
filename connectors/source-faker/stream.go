package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// genFunc appends record id of a stream to b. r is the record's own
// generator; updated is its updated_at in Unix seconds.
type genFunc func(b []byte, c *config, r *rng, id, updated int64) []byte

// stream is one faker stream: records 1..count, record i updated at
// base+i seconds.
type stream struct {
	name   string
	schema string
	count  int64
	cfg    *config
	base   int64
	gen    genFunc
	// values generates the same records as PROTOBUF values (values.go);
	// nil: the JSON records are converted.
	values *valuesGen
}

func (s *stream) Describe() protocol.Stream {
	return protocol.Stream{
		Name:                    s.name,
		JSONSchema:              json.RawMessage(s.schema),
		SupportedSyncModes:      []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
		SourceDefinedCursor:     true,
		DefaultCursorField:      []string{"updated_at"},
		SourceDefinedPrimaryKey: [][]string{{"id"}},
	}
}

// cursorState is the stream state: the updated_at of the last record.
type cursorState struct {
	UpdatedAt string `json:"updated_at"`
}

// firstID returns the first record after the state's cursor.
func (s *stream) firstID(state json.RawMessage) (int64, error) {
	if len(state) == 0 || string(state) == "null" {
		return 1, nil
	}
	var st cursorState
	if err := json.Unmarshal(state, &st); err != nil {
		return 0, cdk.ConfigError("stream %s: state is not a faker state: %v", s.name, err)
	}
	if st.UpdatedAt == "" {
		return 1, nil
	}
	t, err := time.Parse(time.RFC3339, st.UpdatedAt)
	if err != nil {
		return 0, cdk.ConfigError("stream %s: state updated_at: %v", s.name, err)
	}
	return max(1, t.Unix()-s.base+1), nil
}

func (s *stream) Read(ctx context.Context, req *cdk.ReadRequest, out *cdk.Emitter) error {
	first, err := s.start(req)
	if err != nil {
		return err
	}
	if first > s.count {
		// Nothing new: hand the incoming state back unchanged.
		return out.Checkpoint(req.State)
	}
	var state []byte
	return s.readRange(ctx, out, first, s.count, func(id int64) error {
		state = s.appendState(state[:0], id)
		return out.Checkpoint(state)
	})
}

// start returns the first record to read.
func (s *stream) start(req *cdk.ReadRequest) (int64, error) {
	if !req.Incremental {
		return 1, nil
	}
	return s.firstID(req.State)
}

// appendState appends the state blob of a read done up to record id.
func (s *stream) appendState(b []byte, id int64) []byte {
	b = append(b, `{"updated_at":"`...)
	b = appendTime(b, s.base+id)
	return append(b, `"}`...)
}

// readRange emits records lo..hi, calling checkpoint after every
// records_per_slice-th id and after hi.
func (s *stream) readRange(ctx context.Context, out *cdk.Emitter, lo, hi int64, checkpoint func(id int64) error) error {
	h := fnv.New64a()
	h.Write([]byte(s.name))
	salt := h.Sum64()
	slice := s.cfg.RecordsPerSlice
	buf := make([]byte, 0, 1024+s.cfg.RecordBytes)
	var r rng // outside the loop: gen takes its address, which escapes
	var vw *valueWriter
	if schema := out.ProtoSchema(); schema != nil && s.values != nil && s.cfg.RecordBytes == 0 {
		// Padding depends on the JSON length: padded records are
		// converted from JSON.
		vw = s.values.writer(schema)
	}
	for id := lo; id <= hi; id++ {
		r = newRNG(s.cfg.Seed, salt, id)
		if vw != nil {
			vw.v.Reset()
			s.values.fill(vw, s.cfg, &r, id, s.base+id)
			if err := out.RecordValues(vw.v); err != nil {
				return err
			}
		} else {
			buf = s.gen(buf[:0], s.cfg, &r, id, s.base+id)
			if err := out.Record(buf); err != nil {
				return err
			}
		}
		if id%slice == 0 || id == hi {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := checkpoint(id); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	return nil
}

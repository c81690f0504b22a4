package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// stream emits records {"id": i, "stream": name}, i from 1.
type stream struct {
	c    *connector
	name string
}

func (s *stream) Describe() protocol.Stream {
	schema := streamSchema
	if s.c != nil && s.c.cfg != nil && s.c.cfg.EchoConfig {
		schema = s.c.cfg.echoSchema()
	}
	if s.c != nil && s.c.cfg != nil && s.c.cfg.Source.NoCursor {
		return protocol.Stream{Name: s.name, JSONSchema: schema, SupportedSyncModes: []string{protocol.SyncFullRefresh}}
	}
	return protocol.Stream{
		Name:                    s.name,
		JSONSchema:              schema,
		SupportedSyncModes:      []string{protocol.SyncFullRefresh, protocol.SyncIncremental},
		SourceDefinedCursor:     true,
		DefaultCursorField:      []string{"id"},
		SourceDefinedPrimaryKey: [][]string{{"id"}},
	}
}

var streamSchema = json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"stream":{"type":"string"},"pad":{"type":"string"}}}`)

// cursorState is the STREAM (and GLOBAL entry) state: the last id, and
// the config with echo_config.
type cursorState struct {
	Cursor int64  `json:"cursor"`
	Echo   string `json:"echo,omitempty"`
}

// start returns the last id already delivered, from the incoming state.
func (s *stream) start(req *cdk.ReadRequest) (int64, error) {
	if s.c.cfg.Source.StateType == string(protocol.StateLegacy) {
		if len(req.LegacyState) == 0 {
			return 0, nil
		}
		var blob map[string]int64
		if err := json.Unmarshal(req.LegacyState, &blob); err != nil {
			return 0, fmt.Errorf("legacy state: %w", err)
		}
		return blob[s.name], nil
	}
	if len(req.State) == 0 || string(req.State) == "null" {
		return 0, nil
	}
	var st cursorState
	if err := json.Unmarshal(req.State, &st); err != nil {
		return 0, fmt.Errorf("state: %w", err)
	}
	return st.Cursor, nil
}

func (s *stream) Read(ctx context.Context, req *cdk.ReadRequest, out *cdk.Emitter) error {
	return s.read(ctx, req, out, s.c.claimFirst())
}

// Partitions makes each stream one partition, so that in socket mode the
// streams are read in parallel, each on its own socket. The first stream
// planned (the catalog's first) plays the scenario's cues.
func (s *stream) Partitions(ctx context.Context, req *cdk.ReadRequest, n int) ([]cdk.Partition, error) {
	first := s.c.claimFirst()
	return []cdk.Partition{cdk.PartitionFunc(func(ctx context.Context, out *cdk.Emitter) error {
		return s.read(ctx, req, out, first)
	})}, nil
}

// claimFirst reports whether the caller is the first stream to start.
func (c *connector) claimFirst() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streamsRead++
	return c.streamsRead == 1
}

func (s *stream) read(ctx context.Context, req *cdk.ReadRequest, out *cdk.Emitter, first bool) error {
	cfg := &s.c.cfg.Source
	if first {
		if err := s.prelude(ctx, out); err != nil {
			return err
		}
	}
	last, err := s.start(req)
	if err != nil {
		return err
	}
	if cfg.LogInputState {
		if err := s.logInputState(req, out); err != nil {
			return err
		}
	}
	if !req.Incremental && !cfg.ResumeInFullRefresh {
		last = 0
	}
	d := protocol.StreamDescriptor{Name: s.name}
	s.c.mu.Lock()
	s.c.track(d, last)
	s.c.mu.Unlock()
	total := *cfg.Records
	lines := cfg.dataLines()
	if lines != nil {
		total = int64(len(lines))
	}
	var padded *paddedRecords
	if lines == nil {
		padded = newPaddedRecords(s, cfg.RecordBytes, out.ProtoSchema())
	}
	for i := last + 1; i <= total; i++ {
		var err error
		switch {
		case lines != nil:
			err = out.Record(lines[i-1])
		case padded.vals != nil:
			err = out.RecordValues(padded.values(i))
		default:
			err = out.Record(padded.json(i))
		}
		if err != nil {
			return err
		}
		if first && i == 1 && cfg.ForeignStream != "" {
			foreign := &protocol.Message{Type: protocol.TypeRecord, Record: &protocol.Record{Stream: cfg.ForeignStream,
				Data: json.RawMessage(`{"id":1}`), EmittedAt: protocol.Millis(time.Now().UnixMilli())}}
			if err := out.Emit(foreign); err != nil {
				return err
			}
		}
		if first && cfg.HugeLineBytes > 0 && i == cfg.HugeLineAfterRecord {
			huge := s.record(nil, i, cfg.HugeLineBytes)
			line := `{"type":"RECORD","record":{"stream":` + strconv.Quote(s.name) + `,"data":` + string(huge) + `,"emitted_at":1}}`
			if err := out.WriteRaw([]byte(line)); err != nil {
				return err
			}
		}
		if (cfg.StateEvery > 0 && i%cfg.StateEvery == 0) || i == total {
			if err := s.checkpoint(out, d, i); err != nil {
				return err
			}
		}
		if first {
			if err := s.cue(ctx, out, i); err != nil {
				return err
			}
		}
		if err := s.pace(ctx, out); err != nil {
			return err
		}
	}
	if last >= total {
		return s.checkpoint(out, d, last)
	}
	return nil
}

// logInputState logs the state the stream starts from, as the source
// received it.
func (s *stream) logInputState(req *cdk.ReadRequest, out *cdk.Emitter) error {
	state := "none"
	if len(req.State) > 0 && string(req.State) != "null" {
		state = string(req.State)
	}
	return out.WriteRaw(rawLine(protocol.NewLog(protocol.LevelInfo, "input state of "+s.name+": "+state)))
}

// prelude runs the misbehaviour due before the first record.
func (s *stream) prelude(ctx context.Context, out *cdk.Emitter) error {
	cfg := &s.c.cfg.Source
	s.c.cfg.echoStderr("reading")
	if s.c.cfg.EchoConfig {
		if err := out.WriteRaw(rawLine(protocol.NewLog(protocol.LevelInfo, "reading with "+echo(s.c.cfg.raw)))); err != nil {
			return err
		}
	}
	if cfg.StderrBytes > 0 {
		floodStderr(cfg.StderrBytes)
	}
	if cfg.SleepBeforeMS > 0 {
		if err := sleep(ctx, time.Duration(cfg.SleepBeforeMS)*time.Millisecond); err != nil {
			return err
		}
	}
	if cfg.HangBefore {
		<-ctx.Done()
		return ctx.Err()
	}
	for i := 0; i < cfg.GarbageLines; i++ {
		if err := out.WriteRaw([]byte(fmt.Sprintf("scripted garbage line %d: this is not JSON {", i+1))); err != nil {
			return err
		}
	}
	return nil
}

// pace throttles the source: after every record of every stream it
// flushes and sleeps pace_ms, so counts move in steps a test can watch.
func (s *stream) pace(ctx context.Context, out *cdk.Emitter) error {
	ms := s.c.cfg.Source.PaceMS
	if ms <= 0 {
		return nil
	}
	if err := out.Flush(); err != nil {
		return err
	}
	return sleep(ctx, time.Duration(ms)*time.Millisecond)
}

// cue runs the misbehaviour due after record i of the first stream.
func (s *stream) cue(ctx context.Context, out *cdk.Emitter, i int64) error {
	cfg := &s.c.cfg.Source
	if i == cfg.SleepAfterRecord && cfg.SleepMS > 0 {
		if err := out.Flush(); err != nil {
			return err
		}
		if err := sleep(ctx, time.Duration(cfg.SleepMS)*time.Millisecond); err != nil {
			return err
		}
	}
	if i == cfg.HangAfterRecord {
		if err := out.Flush(); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	if i == cfg.ExitAfterRecord {
		exitNow(out, cfg)
	}
	if i == cfg.ConfigErrorAfter {
		if s.c.cfg.EchoConfig {
			failReadRaw(out, cfg.ErrorMessage+": "+echo(s.c.cfg.raw))
		}
		return cdk.ConfigError("%s", cfg.ErrorMessage)
	}
	return nil
}

// dataLines returns the data_lines records, or nil when there are none.
func (cfg *sourceCfg) dataLines() [][]byte {
	if cfg.DataLines == "" {
		return nil
	}
	var lines [][]byte
	for _, l := range strings.Split(cfg.DataLines, "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			lines = append(lines, []byte(l))
		}
	}
	return lines
}

// padding fills padded records without building a string for each.
var padding = strings.Repeat("x", 64<<10)

// record appends {"id":i,"stream":name} padded to about size bytes.
func (s *stream) record(b []byte, i int64, size int) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i, 10)
	b = append(b, `,"stream":`...)
	b = strconv.AppendQuote(b, s.name)
	if pad := size - len(b) - len(`,"pad":""}`); pad > 0 {
		b = append(b, `,"pad":"`...)
		for pad > 0 {
			n := min(pad, len(padding))
			b = append(b, padding[:n]...)
			pad -= n
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

// checkpoint emits the scenario's kind of state after record i. Streams
// may run in parallel (socket mode) and GLOBAL and LEGACY states carry
// every stream's cursor, so the cursors are updated and the state emitted
// under one lock: the kit numbers states in the order of their blobs.
func (s *stream) checkpoint(out *cdk.Emitter, d protocol.StreamDescriptor, i int64) error {
	cfg := &s.c.cfg.Source
	blob := json.RawMessage(`{"cursor":` + strconv.FormatInt(i, 10) + `}`)
	if s.c.cfg.EchoConfig {
		blob, _ = json.Marshal(cursorState{Cursor: i, Echo: echo(s.c.cfg.raw)})
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.track(d, i)
	switch {
	case cfg.StateType == string(protocol.StateLegacy):
		return out.Emit(&protocol.Message{Type: protocol.TypeState, State: &protocol.State{Data: s.c.legacyBlob()}})
	case !cfg.OmitSourceStats:
		return out.Checkpoint(blob) // STREAM, or GLOBAL composed by the kit
	case cfg.StateType == string(protocol.StateGlobal):
		return out.Emit(&protocol.Message{Type: protocol.TypeState, State: &protocol.State{Type: protocol.StateGlobal, Global: s.c.globalState()}})
	default:
		return out.Emit(&protocol.Message{Type: protocol.TypeState, State: &protocol.State{Type: protocol.StateStream,
			Stream: &protocol.StreamState{StreamDescriptor: d, StreamState: blob}}})
	}
}

// track remembers a stream's cursor for hand-built GLOBAL and LEGACY
// states, which carry every stream. The caller holds c.mu.
func (c *connector) track(d protocol.StreamDescriptor, cursor int64) {
	if c.cursors == nil {
		c.cursors = map[protocol.StreamDescriptor]int64{}
	}
	if _, ok := c.cursors[d]; !ok {
		c.order = append(c.order, d)
	}
	c.cursors[d] = cursor
}

func (c *connector) legacyBlob() json.RawMessage {
	blob := map[string]int64{}
	for _, d := range c.order {
		blob[d.Name] = c.cursors[d]
	}
	b, _ := json.Marshal(blob)
	return b
}

func (c *connector) globalState() *protocol.GlobalState {
	g := &protocol.GlobalState{SharedState: json.RawMessage(`{}`)}
	for _, d := range c.order {
		g.StreamStates = append(g.StreamStates, protocol.StreamState{StreamDescriptor: d,
			StreamState: json.RawMessage(`{"cursor":` + strconv.FormatInt(c.cursors[d], 10) + `}`)})
	}
	return g
}

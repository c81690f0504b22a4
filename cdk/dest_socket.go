package cdk

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/protocol/protobuf"
)

// statsEvery is how often a socket-mode destination reports what it has
// received, as the load CDK's StatsEmitter does: in socket mode records
// never pass through Ferry, so these are its only emitted counts.
var statsEvery = 60 * time.Second

// dummyStats is the record of a stats report (docs/protocol.md 3): a RECORD on
// destination stdout is never data, and this one says so.
type dummyStats struct {
	Namespace string          `json:"namespace,omitempty"`
	Stream    string          `json:"stream"`
	Data      json.RawMessage `json:"data"`
	EmittedAt int64           `json:"emitted_at"`
	IsDummy   bool            `json:"isDummyStatsMessage"`
	Records   int64           `json:"emittedRecordsCount"`
	Bytes     int64           `json:"emittedBytesCount"`
}

// emitStats writes one stats record per stream that has not completed:
// the records and bytes received so far.
func (ws *writeSession) emitStats() error {
	for _, s := range ws.order {
		if s.complete {
			continue
		}
		rec := dummyStats{Namespace: s.desc.Namespace, Stream: s.desc.Name, Data: json.RawMessage(`{}`),
			EmittedAt: ws.r.now().UnixMilli(), IsDummy: true, Records: s.totalN, Bytes: s.totalB}
		line, err := json.Marshal(struct {
			Type   protocol.Type `json:"type"`
			Record dummyStats    `json:"record"`
		}{protocol.TypeRecord, rec})
		if err != nil {
			return err
		}
		if err := ws.r.out.writeLine(line); err != nil {
			return err
		}
	}
	return ws.r.out.flush()
}

// Socket mode on the destination side (docs/protocol.md 6.1, 6.2). A state's
// key is the source's own: its id orders it within its scope and its
// partition_id names the records it covers, whichever socket they came
// on. A record without partition_id, or a STREAM or GLOBAL state without
// both keys or without sourceStats.recordCount, is a hard error, as in
// the load CDK: without them no state could ever be released safely.

// socketState queues a state under the source's keys.
func (ws *writeSession) socketState(ctx context.Context, st *protocol.State) error {
	if st.Kind() == protocol.StateLegacy {
		ws.legacyN++
		if ws.legacyN == 1 {
			ws.r.log.Warn("ignoring LEGACY states: in socket mode a state needs a type, an id and a partition_id; they are never acknowledged")
		}
		return nil
	}
	if st.ID == nil || st.PartitionID == "" {
		return SystemError("a %s state without both id and partition_id (socket mode needs both, docs/protocol.md 6.1)", st.Kind())
	}
	if st.SourceStats == nil || st.SourceStats.RecordCount == nil {
		return SystemError("%s state id %d: sourceStats must be set with recordCount", st.Kind(), *st.ID)
	}
	parts := []string{st.PartitionID}
	switch st.Kind() {
	case protocol.StateStream:
		if ws.slots[st.Stream.StreamDescriptor] == nil {
			return SystemError("state for stream %s, which is not in the configured catalog", st.Stream.StreamDescriptor)
		}
	case protocol.StateGlobal:
		// A CDC snapshot's GLOBAL state also covers the partitions named
		// in its stream entries.
		for _, ss := range st.Global.StreamStates {
			var p string
			if raw, ok := ss.Extra["partition_id"]; ok && json.Unmarshal(raw, &p) == nil && p != "" && !slices.Contains(parts, p) {
				parts = append(parts, p)
			}
		}
	}
	for _, s := range ws.order {
		ws.report(s)
	}
	if err := ws.cp.AddState(st, *st.ID, parts); err != nil {
		return SystemError("%v", err)
	}
	if ws.opts.FlushEveryState {
		return ws.flushAndAck(ctx)
	}
	return nil
}

// connect connects to the source's sockets and returns their intake.
func (ws *writeSession) connect(ctx context.Context, ch *channelConfig, cat *protocol.ConfiguredCatalog) (*socketIntake, error) {
	var pc *protobuf.Catalog
	if ch.protobuf() {
		var err error
		if pc, err = protobuf.NewConfiguredCatalog(cat); err != nil {
			return nil, SystemError("PROTOBUF needs each stream's json_schema: %v", err)
		}
	}
	ws.socket = true
	ws.r.log.Info("connecting to the source's sockets", "sockets", len(ch.paths), "format", ch.format, "timeout", ch.timeout.String())
	// Under Ferry, stdin ends once the source is gone: a source that is
	// gone will never listen, so polling for its sockets until the timeout
	// would only delay the failure.
	var gone <-chan struct{}
	if ws.confirm != nil {
		gone = ws.confirm.done
	}
	conns, err := dialSocketsUntil(ctx, ch.paths, ch.timeout, gone)
	if errors.Is(err, errSourceGone) {
		return nil, SystemError("the source ended before it accepted the destination on its sockets")
	}
	if err != nil {
		return nil, err
	}
	f := socketFormat{cat: pc, maxLine: ws.opts.MaxLineBytes}
	if pr, ok := ws.w.(ProtobufRecords); ok && pc != nil {
		f.keepProto = pr.ProtobufRecords()
	}
	if ru, ok := ws.w.(RecordsUnread); ok {
		f.unread = ru.RecordsUnread()
	}
	return newSocketIntake(conns, ch.paths, f), nil
}

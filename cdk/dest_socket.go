package cdk

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ferrysync/ferry/protocol"
)

// Socket mode on the destination side (PROTOCOL.md 6.1, 6.2). A state's
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
		return SystemError("a %s state without both id and partition_id (socket mode needs both, PROTOCOL.md 6.1)", st.Kind())
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

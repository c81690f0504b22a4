package web

import (
	"github.com/ferrysync/ferry/protocol"
)

// Airbyte's public API names a stream's sync mode with one word for the
// source's read mode and the destination's write mode together
// (docs/protocol.md 7.4); the protocol carries them apart.
var syncModes = []struct {
	name       string
	mode, dest string
}{
	{"full_refresh_overwrite", protocol.SyncFullRefresh, protocol.DestOverwrite},
	{"full_refresh_overwrite_deduped", protocol.SyncFullRefresh, protocol.DestOverwriteDedup},
	{"full_refresh_append", protocol.SyncFullRefresh, protocol.DestAppend},
	{"full_refresh_update", protocol.SyncFullRefresh, protocol.DestUpdate},
	{"full_refresh_soft_delete", protocol.SyncFullRefresh, protocol.DestSoftDelete},
	{"incremental_append", protocol.SyncIncremental, protocol.DestAppend},
	{"incremental_deduped_history", protocol.SyncIncremental, protocol.DestAppendDedup},
	{"incremental_update", protocol.SyncIncremental, protocol.DestUpdate},
	{"incremental_soft_delete", protocol.SyncIncremental, protocol.DestSoftDelete},
}

// splitSyncMode returns the protocol modes of an API sync mode name.
func splitSyncMode(name string) (mode, dest string, ok bool) {
	for _, m := range syncModes {
		if m.name == name {
			return m.mode, m.dest, true
		}
	}
	return "", "", false
}

// joinSyncMode names a pair of protocol modes; an unknown pair is shown as
// "<mode>_<dest>" rather than hidden.
func joinSyncMode(mode, dest string) string {
	for _, m := range syncModes {
		if m.mode == mode && m.dest == dest {
			return m.name
		}
	}
	return mode + "_" + dest
}

// syncModesOf lists the common modes a discovered stream supports: the
// overwrite, append and dedup writes of each read mode it declares. The
// data-activation modes (update, soft delete) are left out of the hint;
// they depend on the destination.
func syncModesOf(s *protocol.Stream) []string {
	out := []string{}
	if s.Supports(protocol.SyncFullRefresh) {
		out = append(out, "full_refresh_overwrite", "full_refresh_append", "full_refresh_overwrite_deduped")
	}
	if s.Supports(protocol.SyncIncremental) {
		out = append(out, "incremental_append", "incremental_deduped_history")
	}
	return out
}

// defaultStream configures a stream the way Airbyte's UI proposes:
// incremental append with the source's cursor where the stream supports
// it, else full refresh overwrite; the source's primary key either way.
func defaultStream(s protocol.Stream) protocol.ConfiguredStream {
	cs := protocol.ConfiguredStream{Stream: s, SyncMode: protocol.SyncFullRefresh,
		DestinationSyncMode: protocol.DestOverwrite, PrimaryKey: s.SourceDefinedPrimaryKey}
	if s.Supports(protocol.SyncIncremental) && len(s.DefaultCursorField) > 0 {
		cs.SyncMode, cs.DestinationSyncMode = protocol.SyncIncremental, protocol.DestAppend
		cs.CursorField = s.DefaultCursorField
	}
	return cs
}

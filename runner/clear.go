package runner

import (
	"context"

	"github.com/ferrysync/ferry/protocol"
)

// Clear empties the streams of cfg.Catalog in the destination: it runs the
// destination alone, in stdio mode, with that catalog and no records, and
// at the end of its input Ferry sends a STREAM_STATUS COMPLETE for every
// stream, as after a sync whose source read nothing (docs/protocol.md 4.4).
// The caller makes the catalog truncate: a new generation_id, with
// minimum_generation_id equal to it (docs/protocol.md 2.7), so a destination
// that supports refreshes drops every older generation once a stream
// completes, and one that does not sees an overwrite with nothing to write.
//
// Stdio, whatever the connectors support: Airbyte runs a clear over stdio
// too (its mode decision puts a clear job before any socket check). In
// socket mode the destination would listen for a source that never comes;
// a clear sends it nothing but the COMPLETE statuses, which stdio carries
// for every destination.
//
// Everything else is Sync's: the attempt log, the destination's failures
// and exit code, timeouts, cancellation, and the Result. cfg.State and the
// source's run are ignored: no source is started and no record is read.
func Clear(ctx context.Context, rt Runtime, cfg Config) (*Result, error) {
	cfg.Mode = Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL,
		Reason: "a clear runs the destination alone over stdio: no source, no records"}
	cfg.State = nil
	cfg.SelectedFields = nil
	cfg.NoCompleteStatus = false
	// Sync wants a source image, and logs it; none is run.
	cfg.Source.Image = "(none: a clear reads nothing)"
	return Sync(ctx, destinationOnly{rt}, cfg)
}

// destinationOnly runs destinations through its Runtime and "runs" a
// source by returning at once with exit code 0, having written nothing:
// to Sync, a source with nothing to read. Embedding the interface, not the
// concrete runtime, hides a PairRuntime's RunPair, so each side is run on
// its own.
type destinationOnly struct{ Runtime }

// Run implements Runtime.
func (r destinationOnly) Run(ctx context.Context, spec ConnectorSpec, stdio Stdio) (ExitStatus, error) {
	if spec.Role == RoleSource {
		return ExitStatus{}, nil
	}
	return r.Runtime.Run(ctx, spec, stdio)
}

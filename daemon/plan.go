package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// The job types (docs/design.md, job types), as the attempt runs them:
//
//   - sync: the connection's catalog from its committed state; overwrite
//     streams start a new generation at the job's first attempt.
//   - refresh: every stream re-read from scratch under a new generation,
//     each stream truncating (minimum_generation_id = generation_id), so
//     the destination drops the old data only when a stream completes. The
//     attempt starts from what the refresh itself committed (nothing at
//     first); the store stages that state and makes it the connection's
//     only when the job succeeds (store/state_refresh.go).
//   - clear (reset): the destination alone, over stdio, with a truncating
//     catalog of the selected streams and no records (runner.Clear); the
//     state of those streams is cleared first.
//
// A job's retries keep its generation, so they resume the same truncate.

// plan is what one attempt runs.
type plan struct {
	catalog            *protocol.ConfiguredCatalog
	mode               runner.Mode
	srcImage, dstImage string
	// intro, when set, is the attempt log's first line.
	intro string
	// prepare runs once the attempt's run is recorded, before the runner.
	prepare func() *planFailure
	run     func(context.Context, runner.Runtime, runner.Config) (*runner.Result, error)
	// warnings are the findings of a succeeded attempt (G11).
	warnings func(context.Context, *runner.Result) []string
}

// planFailure is why an attempt could not start.
type planFailure struct {
	typ       string
	msg       string
	retryable bool
}

// plan builds the attempt of the claimed job.
func (d *Daemon) plan(ctx context.Context, c *store.Claim) (*plan, *planFailure) {
	if pf := checkConfigs(c, c.Job.Type.Clears()); pf != nil {
		return nil, pf
	}
	if c.Job.Type.Clears() {
		return d.clearPlan(ctx, c)
	}
	mode, err := d.chooseDataChannel(ctx, c)
	var engine *runner.BridgeEngineError
	switch {
	case errors.As(err, &engine):
		// The engine failed while the probe asked it how to reach the
		// sockets: the runtime's fault, which a retry may mend.
		return nil, &planFailure{protocol.FailureSystem, "data channel: " + err.Error(), true}
	case err != nil:
		// An empty serialization intersection is a configuration error,
		// never a silent fallback (docs/design.md, mode selection).
		return nil, &planFailure{protocol.FailureConfig, "data channel: " + err.Error(), false}
	}
	refresh := c.Job.Type == store.JobRefresh
	gens := c.Generations
	if c.Attempt.Number == 1 {
		if refresh {
			gens, err = d.db.BumpGenerations(ctx, c.Job.ConnectionID, nil)
		} else {
			gens, err = d.bumpOverwriteGenerations(ctx, c)
		}
		if err != nil {
			return nil, &planFailure{protocol.FailureSystem, "start a new generation: " + err.Error(), true}
		}
	}
	p := &plan{catalog: attemptCatalog(c.Connection.Catalog, c.Job.ID, gens, refresh), mode: mode, run: runner.Sync}
	if p.srcImage, err = d.connectorImage(c.SourceDefinition); err == nil {
		p.dstImage, err = d.connectorImage(c.DestinationDefinition)
	}
	if err != nil {
		return nil, &planFailure{protocol.FailureConfig, err.Error(), false}
	}
	if refresh {
		p.intro = fmt.Sprintf("refresh: every stream is read from scratch under a new generation; the destination replaces its data, and the committed state is replaced, only when the refresh succeeds (attempt %d)", c.Attempt.Number)
	}
	p.warnings = func(ctx context.Context, res *runner.Result) []string {
		return append(honestyWarnings(res), d.emptiedWarnings(ctx, c, p.catalog, res)...)
	}
	return p, nil
}

// clearPlan builds a clear's attempt: the selected streams (the job's, or
// all), each truncating under a new generation, and the destination only.
func (d *Daemon) clearPlan(ctx context.Context, c *store.Claim) (*plan, *planFailure) {
	streams := clearStreams(c.Connection.Catalog, c.Job.Streams)
	gens := c.Generations
	if c.Attempt.Number == 1 && len(streams) > 0 {
		var err error
		if gens, err = d.db.BumpGenerations(ctx, c.Job.ConnectionID, streams); err != nil {
			return nil, &planFailure{protocol.FailureSystem, "start a new generation: " + err.Error(), true}
		}
	}
	dst, err := d.connectorImage(c.DestinationDefinition)
	if err != nil {
		return nil, &planFailure{protocol.FailureConfig, err.Error(), false}
	}
	p := &plan{
		catalog:  clearCatalog(c.Connection.Catalog, streams, c.Job.ID, gens),
		mode:     runner.Mode{Mode: protocol.ModeStdio, Format: protocol.FormatJSONL},
		dstImage: dst,
		intro:    fmt.Sprintf("clear: emptying %d stream(s) in the destination (%s), with no source and no records, and clearing their state", len(streams), streamNames(streams)),
		run:      runner.Clear,
		// A clear commits no state and moves no record: only the runner's
		// own findings are warnings.
		warnings: func(_ context.Context, res *runner.Result) []string { return res.Warnings },
	}
	p.prepare = func() *planFailure {
		// The state goes first: should the destination then fail, the next
		// sync reads the streams from scratch (at worst duplicating what an
		// append stream still holds), where the other order could leave
		// emptied streams with a state that skips their old records.
		clear := c.Job.Streams
		if len(streams) == len(c.Connection.Catalog.Streams) {
			clear = nil // every stream: a LEGACY state can be cleared too
		}
		err := d.db.ClearStateForAttempt(ctx, c.Attempt.ID, clear)
		var ve *store.ValidationError
		switch {
		case errors.As(err, &ve):
			return &planFailure{protocol.FailureConfig, "clear the state: " + ve.Error(), false}
		case err != nil:
			return &planFailure{protocol.FailureSystem, "clear the state: " + err.Error(), true}
		}
		return nil
	}
	if len(streams) == 0 {
		// Nothing left to empty (the named streams left the catalog): the
		// state is all there is to clear.
		p.run = func(context.Context, runner.Runtime, runner.Config) (*runner.Result, error) {
			return &runner.Result{Status: runner.StatusSucceeded, Mode: protocol.ModeStdio, Format: protocol.FormatJSONL}, nil
		}
	}
	return p, nil
}

// clearStreams returns the streams a clear empties: those it names that
// are still in the catalog, or every stream of the catalog.
func clearStreams(cat *protocol.ConfiguredCatalog, named []protocol.StreamDescriptor) []protocol.StreamDescriptor {
	var out []protocol.StreamDescriptor
	for i := range cat.Streams {
		d := cat.Streams[i].Stream.Descriptor()
		if named == nil || containsStream(named, d) {
			out = append(out, d)
		}
	}
	return out
}

func streamNames(ds []protocol.StreamDescriptor) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.String()
	}
	return strings.Join(names, ", ")
}

func containsStream(list []protocol.StreamDescriptor, d protocol.StreamDescriptor) bool {
	for _, s := range list {
		if s == d {
			return true
		}
	}
	return false
}

// clearCatalog is the destination's catalog for a clear: the given streams
// as full refresh overwrites of nothing, each at its current generation
// with minimum_generation_id equal to it (docs/protocol.md 2.7), so a
// destination that supports refreshes drops every generation and one that
// does not replaces the stream with nothing.
func clearCatalog(cat *protocol.ConfiguredCatalog, streams []protocol.StreamDescriptor, jobID int64, gens []store.StreamGeneration) *protocol.ConfiguredCatalog {
	out := &protocol.ConfiguredCatalog{Extra: cat.Extra}
	for _, s := range attemptCatalog(cat, jobID, gens, true).Streams {
		if !containsStream(streams, s.Stream.Descriptor()) {
			continue
		}
		s.SyncMode, s.DestinationSyncMode = protocol.SyncFullRefresh, protocol.DestOverwrite
		s.CursorField = nil
		out.Streams = append(out.Streams, s)
	}
	return out
}

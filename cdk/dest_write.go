package cdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrysync/ferry/protocol"
)

func (r *runner) write(ctx context.Context, dst Destination) error {
	ch, err := channelFromEnv()
	if err != nil {
		return err
	}
	req, err := r.request()
	if err != nil {
		return err
	}
	cat, err := readCatalog(r.inv.catalog)
	if err != nil {
		return err
	}
	// The writer sees the destination's names. In stdio mode the catalog
	// carries them already; in socket mode the kit maps the source's.
	wcat := cat
	if ch.socket() {
		m, err := readNamespaceMapping()
		if err != nil {
			return err
		}
		if wcat, err = m.catalog(cat); err != nil {
			return err
		}
	}
	w, err := dst.Open(ctx, &WriteRequest{Request: req, Catalog: wcat})
	if err != nil {
		return err
	}
	opts := DefaultWriteOptions
	if o, ok := w.(WriteOptioner); ok {
		opts = o.WriteOptions().withDefaults()
	}
	ws := newWriteSession(r, w, opts)
	if err := ws.open(ctx, cat, wcat); err != nil {
		ws.abort(ctx)
		return err
	}
	var in Intake
	if ch.socket() {
		// Records come on the sockets. Stdin carries at most Ferry's
		// confirmations of COMPLETE (dest_confirm.go); without them it is
		// not read, and Ferry only closes it at the end.
		if ch.confirm {
			ws.confirm = readConfirmations(r.stdio.In, opts.MaxLineBytes)
		}
		si, err := ws.connect(ctx, ch, cat)
		if err != nil {
			ws.abort(ctx)
			return err
		}
		defer si.Close()
		in = si
	} else {
		si := NewStdioIntake(r.stdio.In, opts.MaxLineBytes).(*stdioIntake)
		if ru, ok := ws.w.(RecordsUnread); ok {
			si.p.unread = ru.RecordsUnread()
		}
		in = si
	}
	if err := ws.run(ctx, in); err != nil {
		ws.abort(ctx)
		return err
	}
	return nil
}

// writeSession is one write command: a slot per configured stream, the
// checkpoint manager, and the flush clock.
type writeSession struct {
	r     *runner
	w     Writer
	acker StateAcker
	opts  WriteOptions
	cp    *CheckpointManager
	keys  inferredKeys

	slots map[protocol.StreamDescriptor]*slot
	order []*slot
	last  *slot // the previous record's slot: streams come in runs

	lastFlush time.Time
	lastID    int64
	closed    bool
	others    int64 // non-protocol lines seen

	// socket: input comes from sockets. Partitions are the records'
	// partition_ids and states' ids are the source's (dest_socket.go).
	socket  bool
	legacyN int64 // LEGACY states ignored in socket mode
	// confirm, in socket mode under Ferry, reads Ferry's COMPLETE
	// statuses on stdin: only those finalise a stream.
	confirm *confirmations
}

func newWriteSession(r *runner, w Writer, opts WriteOptions) *writeSession {
	ws := &writeSession{r: r, w: w, opts: opts, cp: NewCheckpointManager(),
		slots: make(map[protocol.StreamDescriptor]*slot), lastFlush: r.now()}
	ws.acker, _ = w.(StateAcker)
	return ws
}

// open opens a writer for every configured stream up front, so a stream
// with no records still gets finished (an empty overwrite truncates).
// Input names streams as cat does; the writer gets wcat's stream, the
// same one under its destination name.
func (ws *writeSession) open(ctx context.Context, cat, wcat *protocol.ConfiguredCatalog) error {
	for i := range cat.Streams {
		cs := &wcat.Streams[i]
		sw, err := ws.w.OpenStream(ctx, cs)
		if err != nil {
			return err
		}
		s := &slot{desc: cat.Streams[i].Stream.Descriptor(), dest: cs.Stream.Descriptor(), cs: cs, sw: sw}
		s.key = ws.keys.key(s.desc, 1)
		s.ordinal = 1
		ws.slots[s.desc] = s
		ws.order = append(ws.order, s)
	}
	return nil
}

// run consumes the intake to its end. A pump goroutine reads and parses
// input while this goroutine writes, so the two overlap on two cores.
func (ws *writeSession) run(ctx context.Context, in Intake) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		b   *InputBatch
		err error
	}
	batches := make(chan result, 2)
	go func() {
		for {
			b, err := in.Next(ctx)
			select {
			case batches <- result{b, err}:
			case <-ctx.Done():
				if b != nil {
					b.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var stats <-chan time.Time
	if ws.socket {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		stats = t.C
	}
	for {
		var due <-chan time.Time
		if ws.cp.Pending() > 0 {
			timer.Reset(max(time.Millisecond, ws.opts.FlushInterval-ws.r.now().Sub(ws.lastFlush)))
			due = timer.C
		}
		select {
		case res := <-batches:
			if errors.Is(res.err, io.EOF) {
				return ws.end(ctx)
			}
			if res.err != nil {
				return res.err
			}
			err := ws.handleBatch(ctx, res.b)
			res.b.Release()
			if err != nil {
				return err
			}
			if ws.cp.Pending() > 0 && ws.r.now().Sub(ws.lastFlush) >= ws.opts.FlushInterval {
				if err := ws.flushAndAck(ctx); err != nil {
					return err
				}
			}
		case <-due:
			if err := ws.flushAndAck(ctx); err != nil {
				return err
			}
		case <-stats:
			if err := ws.emitStats(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (ws *writeSession) handleBatch(ctx context.Context, b *InputBatch) error {
	for i := range b.Inputs {
		in := &b.Inputs[i]
		var err error
		switch in.Kind {
		case InputRecord:
			err = ws.record(ctx, &in.Record, in.Partition)
		case InputState:
			err = ws.state(ctx, in.State)
		case InputStreamStatus:
			err = ws.status(ctx, in.Status)
		case InputOther:
			ws.others++
			if ws.others <= 10 {
				ws.r.log.Warn("ignoring input that is not an Airbyte message", "line", string(in.Line))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// end is the end of input: flush everything, acknowledge what can be,
// finish the streams without COMPLETE as incomplete, close the writer, and
// fail if a state can never be acknowledged.
func (ws *writeSession) end(ctx context.Context) error {
	if err := ws.flushAndAck(ctx); err != nil {
		return err
	}
	if ws.confirm != nil {
		if err := ws.confirmComplete(ctx); err != nil {
			return err
		}
	}
	for _, s := range ws.order {
		if s.finished {
			continue
		}
		s.finished = true
		if !s.complete {
			ws.r.log.Info("stream ended without COMPLETE status; finishing it as incomplete", "stream", s.desc.String())
		}
		// Only socket mode gets here with complete set: its COMPLETE
		// statuses wait for the end of every socket (dest_socket.go).
		if err := s.sw.Finish(ctx, s.complete); err != nil {
			return fmt.Errorf("finish stream %s: %w", s.desc, err)
		}
	}
	ws.closed = true
	if err := ws.w.Close(ctx); err != nil {
		return err
	}
	if stalled := ws.cp.Stalled(); len(stalled) > 0 {
		return SystemError("%d states were never acknowledged: %s", ws.cp.Pending(), strings.Join(stalled, "; "))
	}
	return nil
}

// abort releases the writer after a failure. Overwrites are not finalized.
// It runs on a context the failure cannot have cancelled.
func (ws *writeSession) abort(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, s := range ws.order {
		if !s.finished {
			s.finished = true
			if err := s.sw.Finish(ctx, false); err != nil {
				ws.r.log.Warn("finish stream after failure", "stream", s.desc.String(), "error", err)
			}
		}
	}
	if !ws.closed {
		ws.closed = true
		if err := ws.w.Close(ctx); err != nil {
			ws.r.log.Warn("close writer after failure", "error", err)
		}
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferrysync/ferry/cdk"
	"github.com/ferrysync/ferry/protocol"
)

// Open starts the destination role: every received record line goes to
// output_path (under /local), if one is set.
func (c *connector) Open(ctx context.Context, req *cdk.WriteRequest) (cdk.Writer, error) {
	cfg, err := c.load(req.Request)
	if err != nil {
		return nil, err
	}
	w := &writer{cfg: &cfg.Destination}
	if cfg.Destination.OutputPath != "" {
		p, err := cdk.LocalPath(cfg.Destination.OutputPath)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, cdk.ConfigError("create the output directory: %v", err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, cdk.ConfigError("open the output file: %v", err)
		}
		w.f = f
		w.bw = bufio.NewWriterSize(f, 256<<10)
	}
	return w, nil
}

// writer is the destination role. The kit calls it from one goroutine.
type writer struct {
	cfg     *destination
	f       *os.File
	bw      *bufio.Writer
	records int64
	acks    int64
	seen    int64           // released states, for every_nth
	held    *protocol.State // out_of_order: the state waiting for its successor
	prev    *protocol.State // regressing_id: the previous acknowledgement
	emit    func(*protocol.State) error
}

// WriteOptions acknowledges at every state, so scenarios are exact.
func (w *writer) WriteOptions() cdk.WriteOptions { return cdk.WriteOptions{FlushEveryState: true} }

func (w *writer) OpenStream(ctx context.Context, s *protocol.ConfiguredStream) (cdk.StreamWriter, error) {
	return w, nil
}

// Write appends each record line, then plays the record-count cues.
func (w *writer) Write(ctx context.Context, batch []cdk.Record) error {
	for i := range batch {
		w.records++
		if n := w.cfg.StopReadingAfterRecords; n > 0 && w.records > n {
			fmt.Fprintf(os.Stderr, "scripted: stopped reading after %d records\n", n)
			<-ctx.Done()
			return ctx.Err()
		}
		if w.bw != nil {
			w.bw.Write(batch[i].Line)
			w.bw.WriteByte('\n')
		}
		if n := w.cfg.CrashAfterRecords; n > 0 && w.records >= n {
			fmt.Fprintf(os.Stderr, "scripted: crashing after %d records\n", w.records)
			os.Exit(w.cfg.exitCode())
		}
	}
	return nil
}

// Flush makes the output file durable.
func (w *writer) Flush(ctx context.Context) error {
	if w.bw == nil {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *writer) Finish(ctx context.Context, complete bool) error { return nil }

// Close flushes, writes a held out-of-order acknowledgement, and hangs
// when the scenario says so.
func (w *writer) Close(ctx context.Context) error {
	if err := w.Flush(ctx); err != nil {
		return err
	}
	if w.held != nil && w.emit != nil {
		if err := w.ack(w.held); err != nil {
			return err
		}
		w.held = nil
	}
	if w.f != nil {
		w.f.Close()
	}
	if w.cfg.HangAfterEOF {
		fmt.Fprintln(os.Stderr, "scripted: input ended; hanging")
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// AckStates acknowledges released states as the scenario says.
func (w *writer) AckStates(ctx context.Context, released []*protocol.State, emit func(*protocol.State) error) error {
	w.emit = emit
	for _, st := range released {
		w.seen++
		var err error
		switch w.cfg.Ack {
		case "none":
		case "every_nth":
			if w.seen%w.cfg.AckEvery == 0 {
				err = w.ack(st)
			}
		case "out_of_order":
			if w.held == nil {
				w.held = st
				continue
			}
			if err = w.ack(st); err == nil {
				err = w.ack(w.held)
			}
			w.held = nil
		case "forged_unknown_id":
			c := *st
			if st.ID != nil {
				id := *st.ID + 1000000
				c.ID = &id
			}
			err = w.ack(&c)
		case "regressing_id":
			prev := w.prev
			if err = w.ack(st); err == nil && prev != nil {
				err = w.ack(prev)
			}
			w.prev = st
		case "foreign_stream":
			c := *st
			if st.Stream != nil {
				ss := *st.Stream
				ss.StreamDescriptor.Name = "foreign_" + ss.StreamDescriptor.Name
				c.Stream = &ss
			}
			err = w.ack(&c)
		default:
			err = w.ack(st)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ack writes one acknowledgement and plays the crash_after_ack cue.
func (w *writer) ack(st *protocol.State) error {
	if err := w.emit(st); err != nil {
		return err
	}
	w.acks++
	if n := w.cfg.CrashAfterAck; n > 0 && w.acks >= n {
		fmt.Fprintf(os.Stderr, "scripted: crashing after %d acknowledgements\n", w.acks)
		os.Exit(w.cfg.exitCode())
	}
	return nil
}

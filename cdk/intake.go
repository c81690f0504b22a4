package cdk

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/ferrysync/ferry/protocol"
)

// InputKind is the kind of one destination input.
type InputKind int

// Input kinds. Other protocol messages (LOG, other traces) are dropped by
// the intake; lines that are not messages come as InputOther for logging.
const (
	InputRecord InputKind = iota + 1
	InputState
	InputStreamStatus
	InputOther
)

// Input is one message a destination received.
type Input struct {
	Kind InputKind
	// Record is set for InputRecord.
	Record Record
	// State is set for InputState.
	State *protocol.State
	// Status is set for InputStreamStatus.
	Status *protocol.StreamStatus
	// Line is the start of a line that is not a message, for InputOther.
	Line []byte
}

// InputBatch is a run of inputs. Its memory is reused after Release.
type InputBatch struct {
	Inputs []Input
	arena  []byte
	pool   *sync.Pool
}

// Release returns the batch to its intake.
func (b *InputBatch) Release() {
	if b.pool == nil {
		return
	}
	b.Inputs = b.Inputs[:0]
	b.arena = b.arena[:0]
	if cap(b.arena) > 4*intakeBatchBytes {
		b.arena = nil // a huge line grew it; do not pool that much memory
	}
	b.pool.Put(b)
}

// Intake is one channel of destination input: stdin in stdio mode, one
// socket per intake in socket mode. The write pipeline only sees batches
// of Inputs, so another channel plugs in without changing it. Next blocks
// until a batch is ready and returns io.EOF at the end of input.
type Intake interface {
	Next(ctx context.Context) (*InputBatch, error)
}

// Batch bounds. A batch also ends when the reader has nothing buffered, so
// a slow sender's messages are not held back waiting for more.
const (
	intakeBatchInputs = 4096
	intakeBatchBytes  = 1 << 20
	otherLinePrefix   = 1 << 10
)

// stdioIntake reads JSONL messages from a reader with bounded lines.
type stdioIntake struct {
	r    *protocol.Reader
	pool sync.Pool
	eof  bool
}

// NewStdioIntake returns the Intake of stdio mode: newline-delimited JSON
// messages, lines bounded by maxLine bytes (<= 0: protocol.DefaultMaxLineBytes).
// A line over the limit is a fatal error.
func NewStdioIntake(r io.Reader, maxLine int) Intake {
	in := &stdioIntake{r: protocol.NewReader(r, maxLine)}
	in.pool.New = func() any {
		return &InputBatch{arena: make([]byte, 0, intakeBatchBytes+64<<10), pool: &in.pool}
	}
	return in
}

func (in *stdioIntake) Next(ctx context.Context) (*InputBatch, error) {
	if in.eof {
		return nil, io.EOF
	}
	b := in.pool.Get().(*InputBatch)
	for len(b.Inputs) < intakeBatchInputs && len(b.arena) < intakeBatchBytes {
		if len(b.Inputs) > 0 && in.r.Buffered() == 0 {
			break // the next read would block: hand over what we have
		}
		line, err := in.r.ReadLine()
		if err == io.EOF {
			in.eof = true
			break
		}
		if err != nil {
			b.Release()
			var tooLong *protocol.LineTooLongError
			if errors.As(err, &tooLong) {
				return nil, SystemError("input %v", err)
			}
			return nil, SystemError("read stdin: %w", err)
		}
		if err := in.parse(b, line); err != nil {
			b.Release()
			return nil, err
		}
		if ctx.Err() != nil {
			b.Release()
			return nil, ctx.Err()
		}
	}
	if len(b.Inputs) == 0 && in.eof {
		b.Release()
		return nil, io.EOF
	}
	return b, nil
}

// parse classifies one line. Records are only scanned, never decoded.
func (in *stdioIntake) parse(b *InputBatch, line []byte) error {
	if len(line) == 0 {
		return nil
	}
	env, err := protocol.ScanEnvelope(line)
	if err != nil {
		b.Inputs = append(b.Inputs, Input{Kind: InputOther, Line: append([]byte(nil), line[:min(len(line), otherLinePrefix)]...)})
		return nil
	}
	switch env.Type {
	case protocol.TypeRecord:
		if env.Stream == "" {
			return SystemError("input line %d: RECORD without a stream", in.r.LineNumber())
		}
		off := len(b.arena)
		b.arena = append(b.arena, line...)
		b.Inputs = append(b.Inputs, Input{Kind: InputRecord,
			Record: Record{Stream: env.Descriptor(), Line: b.arena[off:len(b.arena):len(b.arena)]}})
	case protocol.TypeState:
		m, err := protocol.Decode(line)
		if err != nil {
			return SystemError("input line %d: bad STATE: %w", in.r.LineNumber(), err)
		}
		if err := m.State.Validate(); err != nil {
			return SystemError("input line %d: %w", in.r.LineNumber(), err)
		}
		b.Inputs = append(b.Inputs, Input{Kind: InputState, State: m.State})
	case protocol.TypeTrace:
		m, err := protocol.Decode(line)
		if err == nil && m.Trace.StreamStatus != nil {
			b.Inputs = append(b.Inputs, Input{Kind: InputStreamStatus, Status: m.Trace.StreamStatus})
		}
	}
	return nil
}

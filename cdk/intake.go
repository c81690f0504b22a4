package cdk

import (
	"context"
	"errors"
	"fmt"
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
	// Partition is the record's partition_id in socket mode.
	Partition string
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
	p    msgParser
	pool sync.Pool
	eof  bool
}

// NewStdioIntake returns the Intake of stdio mode: newline-delimited JSON
// messages, lines bounded by maxLine bytes (<= 0: protocol.DefaultMaxLineBytes).
// A line over the limit is a fatal error.
func NewStdioIntake(r io.Reader, maxLine int) Intake {
	in := &stdioIntake{r: protocol.NewReader(r, maxLine)}
	in.p.where = func() string { return fmt.Sprintf("input line %d", in.r.LineNumber()) }
	in.pool.New = newBatchFunc(&in.pool)
	return in
}

// newBatchFunc is the New of an intake's batch pool. Inputs is made
// whole up front: grown by appends, a full batch of small records left
// twice its size in garbage, whose collections emptied the pools, so
// that batches were made anew (a PROTOBUF destination's peak RSS fell
// from about 120 to 80 MB on 1M records).
func newBatchFunc(pool *sync.Pool) func() any {
	return func() any {
		return &InputBatch{Inputs: make([]Input, 0, intakeBatchInputs), arena: make([]byte, 0, intakeBatchBytes+64<<10), pool: pool}
	}
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
		if err := in.p.line(b, line); err != nil {
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

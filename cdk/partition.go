package cdk

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync/atomic"
)

// Partitioned is implemented by a Stream that can split its read into
// partitions, so that socket mode reads them in parallel, one socket per
// running partition (docs/protocol.md 5.3, 5.6). Without it a stream is one
// partition, and streams without it are read one after another in catalog
// order, exactly as in stdio mode.
//
// In stdio mode the kit ignores Partitions and calls Read: stdout is one
// ordered stream, so there is nothing to gain and Ferry numbers the states.
//
// Implementing Partitioned declares that the partitions may run
// concurrently with each other and with other streams' partitions.
type Partitioned interface {
	// Partitions splits the read described by req. n is the number of
	// sockets, a hint for how many partitions keep them all busy. An
	// empty answer is a stream with nothing to read; it still gets its
	// statuses and a final state.
	Partitions(ctx context.Context, req *ReadRequest, n int) ([]Partition, error)
}

// Partition is one share of a stream's read. It emits records and
// checkpoints through its own Emitter, which it must not share.
//
// Every state of a stream resumes the whole stream, so a partitioned
// stream whose partitions share one cursor must compute each state blob
// and call Checkpoint while holding one lock of its own: the kit numbers
// states as Checkpoint is called, and destinations acknowledge them in
// that order, so the blobs must be in that order too. A blob may only
// claim progress that earlier or same-call checkpoints covered (a low
// water mark across partitions, for example).
//
// A partition should checkpoint after its last record. If it leaves
// records uncovered, the kit checkpoints them with its last blob (the
// stream's incoming state if it never checkpointed).
type Partition interface {
	Read(ctx context.Context, out *Emitter) error
}

// PartitionFunc adapts a function to a Partition.
type PartitionFunc func(ctx context.Context, out *Emitter) error

// Read calls f.
func (f PartitionFunc) Read(ctx context.Context, out *Emitter) error { return f(ctx, out) }

// partitionIDs hands out partition ids: a random four-character prefix
// per read (as Airbyte's partition readers pick), then a counter, so ids
// never repeat within a read. Each state closes its partition and the
// next records get a fresh id: a destination counts records per partition
// id and compares the count with the one state that carries it, so an id
// must never span two states.
type partitionIDs struct {
	prefix string
	n      atomic.Int64
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newPartitionIDs() *partitionIDs {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return &partitionIDs{prefix: string(b[:]) + "-"}
}

func (p *partitionIDs) next() string {
	return p.prefix + strconv.FormatInt(p.n.Add(1), 36)
}

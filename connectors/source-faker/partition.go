package main

import (
	"context"
	"sync"

	"github.com/ferrysync/ferry/cdk"
)

// Partitions splits a stream's ids into up to n contiguous slices for
// socket mode, where the kit reads them in parallel, one socket each. A
// slice is at least records_per_slice records, so small streams (products)
// stay whole.
func (s *stream) Partitions(ctx context.Context, req *cdk.ReadRequest, n int) ([]cdk.Partition, error) {
	first, err := s.start(req)
	if err != nil {
		return nil, err
	}
	if first > s.count {
		return []cdk.Partition{cdk.PartitionFunc(func(ctx context.Context, out *cdk.Emitter) error {
			return out.Checkpoint(req.State) // nothing new
		})}, nil
	}
	total := s.count - first + 1
	k := min(int64(max(n, 1)), (total+s.cfg.RecordsPerSlice-1)/s.cfg.RecordsPerSlice)
	p := &progress{s: s, lo: make([]int64, k), hi: make([]int64, k), done: make([]int64, k)}
	parts := make([]cdk.Partition, k)
	for i := range k {
		lo := first + total*i/k
		hi := first + total*(i+1)/k - 1
		p.lo[i], p.hi[i], p.done[i] = lo, hi, lo-1
		parts[i] = cdk.PartitionFunc(func(ctx context.Context, out *cdk.Emitter) error {
			return s.readRange(ctx, out, lo, hi, func(id int64) error { return p.checkpoint(out, i, id) })
		})
	}
	return parts, nil
}

// progress is what the slices of one stream have checkpointed. Every state
// resumes the whole stream, so its blob is the low-water mark: the last id
// before the first slice that is not done. Blobs are computed and
// checkpointed under one lock, so the kit numbers them in the order they
// were computed and an acknowledged state never claims records that a
// later state covers (cdk.Partition).
type progress struct {
	s      *stream
	mu     sync.Mutex
	lo, hi []int64
	done   []int64 // last checkpointed id of each slice
	state  []byte
}

func (p *progress) checkpoint(out *cdk.Emitter, slice int64, id int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[slice] = id
	mark := p.hi[len(p.hi)-1]
	for i := range p.done {
		if p.done[i] < p.hi[i] {
			mark = p.done[i]
			break
		}
	}
	p.state = p.s.appendState(p.state[:0], mark)
	return out.Checkpoint(p.state)
}

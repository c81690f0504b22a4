package store

import (
	"sync"
	"time"
)

// DefaultLease is how long a claimed attempt stays a replica's without a
// heartbeat.
const DefaultLease = 30 * time.Second

// WithLease sets how long a claim or a renewal holds an attempt.
func WithLease(d time.Duration) Option {
	return func(db *DB) {
		if d > 0 {
			db.leaseTTL = d
		}
	}
}

// leaseBook holds the lease tokens of the attempts this DB claimed.
type leaseBook struct {
	mu     sync.Mutex
	tokens map[int64]string
}

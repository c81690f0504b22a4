package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Leases: a replica that claims an attempt holds it by a lease, a random
// token and an expiry (lease_token, lease_expires_at) that it renews by
// heartbeat (RenewLeases). The DB that claimed an attempt keeps its token
// in its lease book, and every write of the attempt (state commits, stats,
// the run, the end) checks in the same transaction that the row still
// carries that token and that the lease has not expired: a replica paused
// past its lease, or cut off from the database, can no longer commit
// anything once it is back (ErrLeaseLost). An expired lease is never
// renewed; any replica fails the attempt (ExpiredLeases, then
// FinishAttempt with Takeover) and the retry policy resumes its job from
// the committed state.
//
// Lease times come from the lease clock (WithLeaseClock), the wall clock
// by default. Replicas on several machines compare their clocks through
// these times, so keep them in sync (NTP); the lease length is the margin.

// DefaultLease is how long a claimed attempt stays a replica's without a
// heartbeat.
const DefaultLease = 30 * time.Second

// ErrLeaseLost is returned (wrapped, together with ErrConflict) by a write
// of an attempt whose lease this DB no longer holds.
var ErrLeaseLost = errors.New("lease lost")

// WithLease sets how long a claim or a renewal holds an attempt.
func WithLease(d time.Duration) Option {
	return func(db *DB) {
		if d > 0 {
			db.leaseTTL = d
		}
	}
}

// WithLeaseClock sets the clock of leases and replica heartbeats. Tests
// inject one; the store's own clock (WithNow) stamps rows.
func WithLeaseClock(now func() time.Time) Option {
	return func(db *DB) { db.leaseNow = now }
}

type leaseLostError struct{ msg string }

func (e *leaseLostError) Error() string   { return e.msg }
func (e *leaseLostError) Unwrap() []error { return []error{ErrLeaseLost, ErrConflict} }

// leaseBook holds the lease tokens of the attempts this DB claimed.
type leaseBook struct {
	mu     sync.Mutex
	tokens map[int64]string
}

func (b *leaseBook) hold(id int64, token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens == nil {
		b.tokens = map[int64]string{}
	}
	b.tokens[id] = token
}

func (b *leaseBook) token(id int64) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tokens[id]
	return t, ok
}

func (b *leaseBook) drop(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tokens, id)
}

func (b *leaseBook) snapshot() map[int64]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[int64]string, len(b.tokens))
	for id, t := range b.tokens {
		out[id] = t
	}
	return out
}

// Held reports whether this DB holds the lease of attempt id.
func (db *DB) Held(id int64) bool {
	_, ok := db.leases.token(id)
	return ok
}

func (db *DB) leaseTime() time.Time { return db.leaseNow().UTC() }

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// takeLease gives a just-inserted attempt its lease and books the token.
// The token is booked by the caller after the commit.
func takeLease(ctx context.Context, tx *txn, attemptID int64) (token string, expires time.Time, err error) {
	token = newToken()
	expires = tx.db.leaseTime().Add(tx.db.leaseTTL)
	_, err = tx.ExecContext(ctx, `UPDATE attempts SET lease_token = ?, lease_expires_at = ? WHERE id = ?`,
		token, formatTime(expires), attemptID)
	return token, expires, err
}

// checkFence refuses a write of attempt a unless this DB holds its lease
// and the lease is live. takeover is a caller that knows the owner is
// gone (its lease expired, or it was this replica's earlier process): it
// may end the attempt whatever the lease. Attempts from before leases
// (no token) are not fenced.
func (db *DB) checkFence(a *Attempt, takeover bool) error {
	held, ok := db.leases.token(a.ID)
	switch {
	case ok && held != a.leaseToken:
		return &leaseLostError{fmt.Sprintf("attempt %d of job %d: the lease was taken over; this replica's writes are refused", a.Number, a.JobID)}
	case ok && a.LeaseExpiresAt != nil && !a.LeaseExpiresAt.After(db.leaseTime()):
		return &leaseLostError{fmt.Sprintf("attempt %d of job %d: the lease expired at %s; this replica's late writes are refused",
			a.Number, a.JobID, a.LeaseExpiresAt.Format(time.RFC3339Nano))}
	case ok, takeover, a.leaseToken == "":
		return nil
	}
	return &leaseLostError{fmt.Sprintf("attempt %d of job %d is held by replica %s, not by this one", a.Number, a.JobID, a.Owner.InstanceID)}
}

// RenewLeases extends every lease this DB holds by the lease length, in
// one transaction, and returns the attempts whose lease it lost: ended by
// another replica, or expired before this renewal (an expired lease is
// never renewed, whoever asks). Those are dropped from the book; their
// runs must stop, and their writes are refused.
func (db *DB) RenewLeases(ctx context.Context) (lost []int64, err error) {
	held := db.leases.snapshot()
	if len(held) == 0 {
		return nil, nil
	}
	err = db.updateShared(ctx, "renew leases", func(tx *txn) error {
		lost = lost[:0]
		now := db.leaseTime()
		for id, token := range held {
			res, err := tx.ExecContext(ctx, `UPDATE attempts SET lease_expires_at = ?
				WHERE id = ? AND lease_token = ? AND status = 'running' AND lease_expires_at > ?`,
				formatTime(now.Add(db.leaseTTL)), id, token, formatTime(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				lost = append(lost, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range lost {
		db.leases.drop(id)
	}
	return lost, nil
}

// ExpiredLeases returns the running attempts whose lease expired, by the
// lease clock, oldest first: their replica is gone or cut off, and any
// replica may fail them (FinishAttempt with Takeover).
func (db *DB) ExpiredLeases(ctx context.Context) ([]*Attempt, error) {
	var out []*Attempt
	err := db.view(ctx, "list expired leases", func(tx *txn) (err error) {
		out, err = queryAttempts(ctx, tx, `WHERE status = 'running' AND lease_expires_at IS NOT NULL
			AND lease_expires_at <= ? ORDER BY id`, formatTime(db.leaseTime()))
		return err
	})
	return out, err
}

// AcquireLeadership takes or renews the named lease for holder, for ttl,
// and reports whether holder has it: the lease was free, expired, or
// already holder's. One replica at a time holds it (the scheduler's).
func (db *DB) AcquireLeadership(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var won bool
	err := db.update(ctx, "acquire leadership", func(tx *txn) error {
		now := db.leaseTime()
		var cur string
		var expires string
		err := tx.QueryRowContext(ctx, `SELECT holder, expires_at FROM leader_leases WHERE name = ?`, name).Scan(&cur, &expires)
		switch {
		case errNoRows(err):
		case err != nil:
			return err
		case cur != holder && expires > formatTime(now):
			return nil // another replica leads
		}
		won = true
		_, err = tx.ExecContext(ctx, `INSERT INTO leader_leases (name, holder, token, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token,
			expires_at = excluded.expires_at`, name, holder, newToken(), formatTime(now.Add(ttl)))
		return err
	})
	return won, err
}

// ReleaseLeadership gives up the named lease if holder has it, so another
// replica takes over at its next try rather than after the expiry.
func (db *DB) ReleaseLeadership(ctx context.Context, name, holder string) error {
	return db.update(ctx, "release leadership", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leader_leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
}

package secret

import (
	"sync"
	"sync/atomic"
)

// Mask replaces secret values in everything Ferry and its connectors print
// or return. It is the mask Airbyte's API uses (docs/protocol.md 7.5), and an
// update that sends it back for a secret field keeps the stored value.
const Mask = "**********"

// minLen is the shortest value masked: masking "1" or "a" everywhere would
// destroy a log without protecting anything.
const minLen = 3

// Redactor replaces secret values with Mask. Values learned while it is in
// use, such as a refreshed token from a connector's CONTROL message, can be
// added. The zero value and nil mask nothing. It is safe for concurrent
// use: Redact never waits for Add.
type Redactor struct {
	mu     sync.Mutex // serializes Add
	values []string
	cur    atomic.Pointer[matcher]
}

// NewRedactor returns a Redactor for the given secret values (see Values).
func NewRedactor(values []string) *Redactor {
	r := &Redactor{}
	r.Add(values)
	return r
}

// Add masks more values from now on.
func (r *Redactor) Add(values []string) {
	if r == nil || len(values) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, values...)
	r.cur.Store(newMatcher(r.values))
}

// Empty reports whether the redactor masks nothing.
func (r *Redactor) Empty() bool { return r == nil || r.cur.Load() == nil }

// Redact returns s with every secret value masked, in every form it can
// take (see match.go).
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	m := r.cur.Load()
	if m == nil {
		return s
	}
	return m.redact(s)
}

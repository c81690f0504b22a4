package secret

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
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
	cur    atomic.Pointer[strings.Replacer]
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
	r.cur.Store(replacer(r.values))
}

// Empty reports whether the redactor masks nothing.
func (r *Redactor) Empty() bool { return r == nil || r.cur.Load() == nil }

// Redact returns s with every secret value masked.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	rep := r.cur.Load()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// replacer matches each value as written and in its JSON-escaped and
// Go-quoted forms, since messages often quote configs. Longer forms come
// first, so a value is masked whole before any value that is its prefix.
// It returns nil when there is nothing to mask.
func replacer(values []string) *strings.Replacer {
	forms := make(map[string]bool)
	for _, v := range values {
		if len(v) < minLen {
			continue
		}
		forms[v] = true
		q := strconv.Quote(v)
		forms[q[1:len(q)-1]] = true
		b, _ := json.Marshal(v) // a string always marshals
		forms[string(b[1:len(b)-1])] = true
	}
	if len(forms) == 0 {
		return nil
	}
	list := make([]string, 0, len(forms))
	for f := range forms {
		list = append(list, f)
	}
	slices.SortFunc(list, longestFirst)
	pairs := make([]string, 0, 2*len(list))
	for _, f := range list {
		pairs = append(pairs, f, Mask)
	}
	return strings.NewReplacer(pairs...)
}

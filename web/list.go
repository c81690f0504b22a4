package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ferrysync/ferry/store"
)

// List limits, as in Airbyte's public API.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// listResponse is a page of a list, shaped as Airbyte's: the items, and
// full URLs of the next and previous pages (null at either end).
type listResponse[T any] struct {
	Data     []T     `json:"data"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
}

// parsePage reads limit (1-100, default 20) and offset (default 0).
func parsePage(r *http.Request) (store.Page, error) {
	p := store.Page{Limit: defaultLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, badRequest("limit", "limit must be an integer from 1 to %d", maxLimit)
		}
		p.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, badRequest("offset", "offset must be a non-negative integer")
		}
		p.Offset = n
	}
	return p, nil
}

// newList builds a page of total items from the items at p, with the
// links to its neighbours.
func newList[T any](r *http.Request, p store.Page, total int, data []T) listResponse[T] {
	if data == nil {
		data = []T{}
	}
	out := listResponse[T]{Data: data}
	next, prev, hasNext, hasPrev := neighbours(p, total)
	if hasNext {
		u := pageURL(r, p.Limit, next)
		out.Next = &u
	}
	if hasPrev {
		u := pageURL(r, p.Limit, prev)
		out.Previous = &u
	}
	return out
}

// neighbours returns the offsets of the pages before and after p. The
// comparison cannot overflow, whatever offset the client sent, and an
// offset past the end links back to the last page that has items rather
// than to another empty one.
func neighbours(p store.Page, total int) (next, prev int, hasNext, hasPrev bool) {
	if p.Offset < total-p.Limit {
		next, hasNext = p.Offset+p.Limit, true
	}
	if p.Offset > 0 {
		prev, hasPrev = max(0, p.Offset-p.Limit), true
		if total > 0 && prev >= total {
			prev = (total - 1) / p.Limit * p.Limit
		}
	}
	return next, prev, hasNext, hasPrev
}

// pageURL is the request's URL with another limit and offset. The scheme
// is https behind a proxy that says so, since the links are for clients
// to follow as they are.
func pageURL(r *http.Request, limit, offset int) string {
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		u.Scheme = "https"
	}
	return u.String()
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(name, "%s must be true or false", name)
	}
	return b, nil
}

// writeList writes a page of a list. On the public API a missing next or
// previous link is left out: Airbyte's schemas type them as strings.
func writeList[T any](w http.ResponseWriter, r *http.Request, l listResponse[T]) {
	if !isPublic(r) {
		writeJSON(w, http.StatusOK, l)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data     []T     `json:"data"`
		Next     *string `json:"next,omitempty"`
		Previous *string `json:"previous,omitempty"`
	}{l.Data, l.Next, l.Previous})
}

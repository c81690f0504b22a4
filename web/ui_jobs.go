package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// jobRow is a job as lists show it.
type jobRow struct {
	ID           int64      `json:"id"`
	ConnectionID string     `json:"connectionId"`
	Connection   string     `json:"connection"`
	Type         string     `json:"type"`
	Status       string     `json:"status"`
	Trigger      string     `json:"trigger"`
	Created      time.Time  `json:"created"`
	Started      *time.Time `json:"started"`
	Ended        *time.Time `json:"ended"`
	// Duration runs from the first start to the end, or to now while
	// the job runs.
	Duration string `json:"duration"`
	Records  int64  `json:"records"`
	Bytes    int64  `json:"bytes"`
	Attempts int    `json:"attempts"`
	Active   bool   `json:"active"`
	// Reason is a failed job's final failure, for the lists.
	Reason string `json:"reason"`
	// ConnectionGone: the connection was deleted; the job stays.
	ConnectionGone bool `json:"connectionGone"`
}

func newJobRow(j *store.Job, names *nameCache) jobRow {
	out := jobRow{ID: j.ID, ConnectionID: j.ConnectionID, Connection: names.connection(j.ConnectionID),
		Type: string(j.Type), Status: string(j.Status), Trigger: string(j.Trigger), Created: j.CreatedAt,
		Started: j.StartedAt, Ended: j.EndedAt, Records: j.RecordsSynced, Bytes: j.BytesSynced,
		Attempts: j.AttemptCount, Active: !j.Status.Terminal(), ConnectionGone: names.gone(j.ConnectionID)}
	switch {
	case j.StartedAt != nil && j.EndedAt != nil:
		out.Duration = humanDuration(j.EndedAt.Sub(*j.StartedAt))
	case j.StartedAt != nil:
		out.Duration = humanDuration(time.Since(*j.StartedAt))
	}
	return out
}

// jobsPage is the jobs template's data.
type jobsPage struct {
	// Status and ConnectionID are the filter; empty shows all.
	Status       string   `json:"status"`
	ConnectionID string   `json:"connectionId"`
	Statuses     []string `json:"statuses"`
	Jobs         []jobRow `json:"jobs"`
	Pager        pager    `json:"pager"`
}

// statusOrder is the filter's options, in the order a job goes through
// them.
var statusOrder = []string{"pending", "running", "incomplete", "succeeded", "failed", "cancelled"}

// handleJobsPage lists jobs, newest first, filtered by status and
// connection.
func handleJobsPage(st Store, redactor redactorFunc, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := pageOf(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		q := r.URL.Query()
		f := store.JobFilter{Status: store.JobStatus(q.Get("status")), ConnectionID: q.Get("connectionId"), Page: p}
		if f.Status != "" && !jobStatuses[f.Status] {
			writeError(w, r, log, badRequest("status", "status must be one of pending, running, incomplete, succeeded, failed, cancelled"))
			return
		}
		jobs, total, err := st.Jobs(r.Context(), f)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		names := newNameCache(r.Context(), st)
		page := jobsPage{Status: string(f.Status), ConnectionID: f.ConnectionID, Statuses: statusOrder,
			Jobs: []jobRow{}, Pager: newPager(r, p, total)}
		for _, j := range jobs {
			page.Jobs = append(page.Jobs, newJobRow(j, names))
		}
		if err := fillReasons(r.Context(), st, redactor, page.Jobs); err != nil {
			writeError(w, r, log, err)
			return
		}
		renderPage(w, r, log, "jobs", view{Title: "Jobs", Nav: "jobs", Page: page})
	}
}

// handleCancelForm cancels the job in the URL and shows it again. A job
// that has ended already is a 409 page.
func handleCancelForm(jobs Jobs, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := jobID(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if _, err := jobs.Cancel(r.Context(), id); err != nil {
			writeError(w, r, log, err)
			return
		}
		http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	}
}

// nameCache looks up the names of actors and connections, each once per
// page. Names only label rows: a deleted one, or a lookup that fails,
// shows the id instead of failing the page.
type nameCache struct {
	ctx   context.Context
	st    Store
	names map[string]string
	// missing holds the keys whose lookup found nothing: deleted.
	missing map[string]bool
}

func newNameCache(ctx context.Context, st Store) *nameCache {
	return &nameCache{ctx: ctx, st: st, names: map[string]string{}, missing: map[string]bool{}}
}

func (c *nameCache) lookup(key, id string, fn func() (string, error)) string {
	if n, ok := c.names[key]; ok {
		return n
	}
	n, err := fn()
	if errors.Is(err, store.ErrNotFound) {
		c.missing[key] = true
	}
	if err != nil || n == "" {
		n = id
	}
	c.names[key] = n
	return n
}

// gone reports whether the connection was deleted (looked up first).
func (c *nameCache) gone(connID string) bool {
	c.connection(connID)
	return c.missing["connection:"+connID]
}

func (c *nameCache) actor(kind store.ActorKind, id string) string {
	return c.lookup(string(kind)+":"+id, id, func() (string, error) {
		a, err := c.st.Actor(c.ctx, kind, id)
		if err != nil {
			return "", err
		}
		return a.Name, nil
	})
}

func (c *nameCache) connection(id string) string {
	return c.lookup("connection:"+id, id, func() (string, error) {
		conn, err := c.st.Connection(c.ctx, id)
		if err != nil {
			return "", err
		}
		return conn.Name, nil
	})
}

// knowConnection records the name of a connection the caller has already
// read, so rows that name it need no query.
func (c *nameCache) knowConnection(conn *store.Connection) {
	n := conn.Name
	if n == "" {
		n = conn.ID
	}
	c.names["connection:"+conn.ID] = n
}

func (c *nameCache) definition(id string) string {
	return c.lookup("definition:"+id, id, func() (string, error) {
		d, err := c.st.Definition(c.ctx, id)
		if err != nil {
			return "", err
		}
		return d.Name, nil
	})
}

// fillReasons sets the reason of each failed job in rows: its last
// attempt's first failure, masked with its connection's secrets. Lists
// read jobs without attempts, so this reads the failed ones again; a page
// holds at most uiPageSize of them.
func fillReasons(ctx context.Context, st Store, redactor redactorFunc, rows []jobRow) error {
	var failed []int64
	for i := range rows {
		if rows[i].Status == string(store.JobFailed) {
			failed = append(failed, rows[i].ID)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	attempts, err := st.JobAttempts(ctx, failed)
	if err != nil {
		return err
	}
	redactor = sharedRedactors(st, redactor)
	for i := range rows {
		as, ok := attempts[rows[i].ID]
		if rows[i].Status != string(store.JobFailed) || !ok {
			continue // not failed, or pruned since the list was read
		}
		red, err := redactor(ctx, rows[i].ConnectionID)
		if err != nil {
			return err
		}
		rows[i].Reason = red.Redact(lastReason(as))
	}
	return nil
}

// lastReason is the first failure of the job's last failed attempt.
func lastReason(attempts []*store.Attempt) string {
	for i := len(attempts) - 1; i >= 0; i-- {
		for _, f := range attempts[i].FailureReasons {
			if isWarning(f) {
				continue
			}
			if f.ExternalMessage != "" {
				return f.ExternalMessage
			}
			return f.FailureOrigin + " failure"
		}
	}
	return ""
}

// sharedRedactors wraps redactor so that connections between the same
// source and destination share one redactor: it holds only those two
// configs' secrets, and decrypting both for each row of a list was most
// of the page's time. A deleted connection gets its own (empty) one.
func sharedRedactors(st Store, redactor redactorFunc) redactorFunc {
	byEnds := map[string]*secret.Redactor{}
	byConn := map[string]*secret.Redactor{}
	return func(ctx context.Context, connID string) (*secret.Redactor, error) {
		if red, ok := byConn[connID]; ok {
			return red, nil
		}
		c, err := st.Connection(ctx, connID)
		if err != nil {
			return redactor(ctx, connID)
		}
		key := c.SourceID + "|" + c.DestinationID
		red, ok := byEnds[key]
		if !ok {
			if red, err = redactor(ctx, connID); err != nil {
				return nil, err
			}
			byEnds[key] = red
		}
		byConn[connID] = red
		return red, nil
	}
}

package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// The connection builder: /connections/new and /connections/{id}/edit.
// A new connection first picks its source and destination (a GET form,
// so it works without JavaScript and the URL can be bookmarked); then
// Ferry discovers the source's streams (the API's cached discover, with
// Refresh to read them again) and shows one row of inputs per stream.
// The posted form has three actions: save, refresh (discover again and
// show what changed, keeping the choices) and preview (show the form
// again with the schedule's next run times, for browsers without the
// script). Saving goes through the store calls the API's create and
// update make, so the two never disagree.

// connBuilder serves the builder's pages.
type connBuilder struct{ s *Server }

// connectionBuilderRoutes registers the builder. It runs before the
// /connections/{connectionId} routes: /connections/new is no id.
func (s *Server) connectionBuilderRoutes(get, post func(string, http.Handler)) {
	b := &connBuilder{s: s}
	get("/connections/new", http.HandlerFunc(b.handleNew))
	post("/connections/new", http.HandlerFunc(b.handleCreate))
	get("/connections/schedule-preview", http.HandlerFunc(b.handlePreview))
	get("/connections/{connectionId}/edit", http.HandlerFunc(b.handleEdit))
	post("/connections/{connectionId}/edit", http.HandlerFunc(b.handleUpdate))
	get("/connections/{connectionId}/delete", http.HandlerFunc(b.handleDeletePage))
	post("/connections/{connectionId}/delete", http.HandlerFunc(b.handleDelete))
}

// discovered is the source's catalog, or why it could not be read.
type discovered struct {
	catalog *protocol.Catalog
	at      time.Time
	// problem is the connector's failure, shown with the form.
	problem string
}

// discover reads the source's catalog through the API's cache. A
// connector failure is shown on the page; other errors are the page's.
func (b *connBuilder) discover(ctx context.Context, sourceID string, refresh bool) (discovered, error) {
	e, err := b.s.discover(ctx, sourceID, refresh)
	var ce *connectorError
	switch {
	case errors.As(err, &ce):
		return discovered{problem: ce.msg}, nil
	case err != nil:
		return discovered{}, err
	}
	return discovered{catalog: e.catalog, at: e.at}, nil
}

// handleNew picks the two ends, then shows the streams.
func (b *connBuilder) handleNew(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := newConnForm(q.Get("sourceId"), q.Get("destinationId"), nil)
	d, err := b.discoverPicked(r, f, q.Get("refresh") != "")
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	if d.catalog != nil {
		for _, st := range d.catalog.Streams {
			f.Streams[st.Descriptor()] = defaultChoice(st, true)
		}
	}
	b.show(w, r, http.StatusOK, f, d, nil, nil)
}

// discoverPicked discovers the source when both ends are chosen.
func (b *connBuilder) discoverPicked(r *http.Request, f *connForm, refresh bool) (discovered, error) {
	if f.SourceID == "" || f.DestinationID == "" {
		return discovered{}, nil
	}
	return b.discover(r.Context(), f.SourceID, refresh)
}

// handleCreate saves a new connection, or shows the form again.
func (b *connBuilder) handleCreate(w http.ResponseWriter, r *http.Request) {
	f := readConnForm(r.PostForm)
	b.submit(w, r, f, nil)
}

// handleEdit shows a stored connection's form over the current catalog,
// with what differs between the two.
func (b *connBuilder) handleEdit(w http.ResponseWriter, r *http.Request) {
	c, err := b.s.cfg.Store.Connection(r.Context(), mux.Vars(r)["connectionId"])
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	d, err := b.discover(r.Context(), c.SourceID, r.URL.Query().Get("refresh") != "")
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	b.show(w, r, http.StatusOK, connFormOf(c, d.catalog), d, c, nil)
}

// handleUpdate saves an edited connection, or shows the form again. The
// two ends stay what they are.
func (b *connBuilder) handleUpdate(w http.ResponseWriter, r *http.Request) {
	c, err := b.s.cfg.Store.Connection(r.Context(), mux.Vars(r)["connectionId"])
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	f := readConnForm(r.PostForm)
	f.SourceID, f.DestinationID = c.SourceID, c.DestinationID
	b.submit(w, r, f, c)
}

// submit runs a posted form's action.
func (b *connBuilder) submit(w http.ResponseWriter, r *http.Request, f *connForm, old *store.Connection) {
	action := r.PostFormValue("_action")
	d, err := b.discoverPicked(r, f, action == "refresh")
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	var known map[string]bool
	if action == "refresh" {
		known = map[string]bool{}
		for _, k := range r.PostForm["known"] {
			known[k] = true
		}
	}
	if action != "save" {
		b.show(w, r, http.StatusOK, f, d, old, known)
		return
	}
	writes, err := b.writes(r, f.DestinationID)
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	if d.catalog == nil && f.SourceID != "" {
		f.addError("form", "the source's streams could not be read, so the connection cannot be saved; fix the source and press Refresh")
	}
	t, ok := f.check(d.catalog, writes)
	if !ok {
		b.show(w, r, http.StatusBadRequest, f, d, old, nil)
		return
	}
	if f.Name == "" {
		f.Name = b.defaultName(r.Context(), f)
	}
	c := &store.Connection{}
	if old != nil {
		cp := *old
		c = &cp
	}
	f.apply(c, t)
	if old == nil {
		err = b.s.cfg.Store.CreateConnection(r.Context(), c)
	} else {
		err = b.s.cfg.Store.UpdateConnection(r.Context(), c)
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		f.fileStoreError(ve)
		b.show(w, r, http.StatusBadRequest, f, d, old, nil)
		return
	} else if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	done := "saved"
	if old == nil {
		done = "created"
	}
	http.Redirect(w, r, "/connections/"+c.ID+"?done="+done, http.StatusSeeOther)
}

// writes are the destination's declared write modes, nil when it does not
// declare them or is not chosen yet.
func (b *connBuilder) writes(r *http.Request, dstID string) ([]string, error) {
	if dstID == "" {
		return nil, nil
	}
	w, err := b.s.destinationWrites(r, dstID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the form files "choose a destination"
	}
	return w, err
}

// defaultName names a connection after its ends, as Airbyte does.
func (b *connBuilder) defaultName(ctx context.Context, f *connForm) string {
	names := newNameCache(ctx, b.s.cfg.Store)
	return names.actor(store.KindSource, f.SourceID) + " → " + names.actor(store.KindDestination, f.DestinationID)
}

// show renders the builder with the form's choices over the catalog.
func (b *connBuilder) show(w http.ResponseWriter, r *http.Request, status int, f *connForm, d discovered,
	old *store.Connection, known map[string]bool) {
	ctx := r.Context()
	p := &connFormPage{Action: "/connections/new", Picked: f.SourceID != "" && f.DestinationID != "",
		DiscoverError: d.problem, Streams: []streamFormView{}, Saved: r.URL.Query().Get("done") != ""}
	title := "New connection"
	if old != nil {
		p.Editing, p.ID, p.Action, title = true, old.ID, "/connections/"+old.ID+"/edit", "Edit "+old.Name
		if running, err := activeJob(ctx, b.s.cfg.Store, old.ID); err == nil && running != nil {
			p.Running = &runningJobSummary{ID: running.ID, Status: string(running.Status)}
		}
	} else if err := b.fillPickers(ctx, p, f); err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	names := newNameCache(ctx, b.s.cfg.Store)
	p.Source, p.Destination = names.actor(store.KindSource, f.SourceID), names.actor(store.KindDestination, f.DestinationID)
	if d.catalog != nil {
		writes, err := b.writes(r, f.DestinationID)
		if err != nil {
			writeError(w, r, b.s.log, err)
			return
		}
		var stored *protocol.ConfiguredCatalog
		if old != nil {
			stored = old.Catalog
		}
		p.Diff = diffSchema(known, stored, d.catalog)
		var added map[string]bool
		if p.Diff != nil {
			added = p.Diff.added
		}
		p.fillStreams(f, d.catalog, writes, added)
		p.DiscoveredAt = when(d.at)
	}
	p.fillSettings(f, time.Now())
	renderStatus(w, r, b.s.log, status, "connection_form", view{Title: title, Nav: "connections", Page: p})
}

// fillPickers lists the sources and destinations to choose from.
func (b *connBuilder) fillPickers(ctx context.Context, p *connFormPage, f *connForm) error {
	for _, k := range []struct {
		kind store.ActorKind
		out  *[]option
		id   string
	}{{store.KindSource, &p.Sources, f.SourceID}, {store.KindDestination, &p.Destinations, f.DestinationID}} {
		actors, _, err := b.s.cfg.Store.Actors(ctx, store.ActorFilter{Kind: k.kind, Page: store.Page{Limit: store.MaxLimit}})
		if err != nil {
			return err
		}
		*k.out = []option{}
		for _, a := range actors {
			*k.out = append(*k.out, option{Value: a.ID, Label: a.Name, Selected: a.ID == k.id})
		}
	}
	return nil
}

// activeJob returns the connection's pending, running or incomplete job,
// or nil. The store allows at most one (G7); it is the newest.
func activeJob(ctx context.Context, st Store, connID string) (*store.Job, error) {
	jobs, _, err := st.Jobs(ctx, store.JobFilter{ConnectionID: connID, Page: store.Page{Limit: 1}})
	if err != nil || len(jobs) == 0 || jobs[0].Status.Terminal() {
		return nil, err
	}
	return jobs[0], nil
}

// previewJSON is the schedule preview's answer.
type previewJSON struct {
	Next  []string          `json:"next"`
	Error map[string]string `json:"errors,omitempty"`
}

// handlePreview answers the script's schedule preview: the next three run
// times of the schedule in the query, or the error of each input.
func (b *connBuilder) handlePreview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := &connForm{ScheduleType: q.Get("type"), IntervalValue: strings.TrimSpace(q.Get("interval")),
		IntervalUnit: q.Get("unit"), Cron: strings.TrimSpace(q.Get("cron")), Timezone: strings.TrimSpace(q.Get("timezone")),
		Errors: map[string]string{}}
	out := previewJSON{Next: []string{}}
	if sc, ok := f.schedule(); ok {
		out.Next = nextRuns(sc, time.Now(), 3)
	} else {
		out.Error = f.Errors
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDeletePage asks before deleting a connection, and says what stays.
func (b *connBuilder) handleDeletePage(w http.ResponseWriter, r *http.Request) {
	c, err := b.s.cfg.Store.Connection(r.Context(), mux.Vars(r)["connectionId"])
	if err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	page := &confirmPage{What: "connection", Name: c.Name, Action: "/connections/" + c.ID + "/delete",
		Back: "/connections/" + c.ID, Users: []userLink{},
		Note: "Its state goes with it. Its jobs and their logs stay readable under Jobs until log retention removes them."}
	renderPage(w, r, b.s.log, "confirm", view{Title: "Delete " + c.Name, Nav: "connections", Page: page})
}

// handleDelete deletes a connection; one with a running attempt is a 409
// page.
func (b *connBuilder) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["connectionId"]
	if err := b.s.cfg.Store.DeleteConnection(r.Context(), id); err != nil {
		writeError(w, r, b.s.log, err)
		return
	}
	http.Redirect(w, r, "/connections?done=deleted", http.StatusSeeOther)
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// redactorFunc returns the redactor of a connection's secret values; the
// server's connectionRedactor is one.
type redactorFunc func(ctx context.Context, connID string) (*secret.Redactor, error)

// uiRoutes registers the pages. Pages are GETs; what changes something
// is a POST form (sync, reset, cancel, logout) that redirects to the page
// showing the result, so a reload never repeats it. /static and the login
// page are open; everything else is behind uiAuth.
func (s *Server) uiRoutes() {
	st, jobs, log := s.cfg.Store, s.cfg.Jobs, s.log
	// Every UI route is named uiRouteName, which keeps it out of the
	// OpenAPI document's route check: pages are not API.
	route := func(method, path string, h http.Handler) {
		s.router.Handle(path, h).Methods(method).Name(uiRouteName + " " + method + " " + path)
	}
	get := func(path string, h http.Handler) { route(http.MethodGet, path, s.uiAuth(h)) }
	post := func(path string, h http.Handler) { route(http.MethodPost, path, s.uiAuth(h)) }

	s.router.PathPrefix("/static/").Handler(staticHandler()).Methods(http.MethodGet, http.MethodHead).Name(uiRouteName + " static")
	route(http.MethodGet, "/", http.RedirectHandler("/connections", http.StatusSeeOther))
	route(http.MethodGet, "/login", handleLoginPage(s.sessions))
	route(http.MethodPost, "/login", handleLogin(s.sessions, log))
	post("/logout", handleLogout())

	get("/connections", handleConnectionsPage(st, s.connectionRedactor, log))
	s.connectionBuilderRoutes(get, post)
	get("/connections/{connectionId}", handleConnectionPage(st, s.connectionRedactor, log))
	post("/connections/{connectionId}/sync", handleTriggerForm(st, jobs, store.JobSync, log))
	// Reset is Airbyte's older name of a clear; the old form still posts.
	post("/connections/{connectionId}/reset", handleTriggerForm(st, jobs, store.JobClear, log))
	post("/connections/{connectionId}/clear", handleTriggerForm(st, jobs, store.JobClear, log))
	post("/connections/{connectionId}/refresh", handleTriggerForm(st, jobs, store.JobRefresh, log))

	get("/jobs", handleJobsPage(st, s.connectionRedactor, log))
	get("/jobs/{jobId}", handleJobPage(st, s.connectionRedactor, log))
	post("/jobs/{jobId}/cancel", handleCancelForm(jobs, log))
	// An attempt's log, whole as text or followed over SSE (Accept:
	// text/event-stream, as EventSource sends), is the API's log handler
	// behind the session: one tailer, one redaction, for both.
	get("/jobs/{jobId}/attempts/{attemptNumber}/log", http.HandlerFunc(s.handleLogs))

	get("/definitions", handleDefinitionsPage(st, log))
	post("/definitions", http.HandlerFunc(s.handleCreateDefinitionForm))
	// Literal paths before parameterised ones: /definitions/new is not a
	// definition id.
	get("/definitions/new", http.HandlerFunc(s.handleNewDefinitionPage))
	get("/definitions/{definitionId}", http.HandlerFunc(s.handleDefinitionPage))
	post("/definitions/{definitionId}", http.HandlerFunc(s.handleUpgradeDefinitionForm))
	get("/definitions/{definitionId}/delete", handleDeleteDefinitionPage(st, log))
	post("/definitions/{definitionId}/delete", handleDeleteDefinitionForm(st, log))

	checks := newCheckCache(time.Now)
	for _, k := range []actorKind{sourceKind, destinationKind} {
		h := &actorForms{s: s, k: k, checks: checks}
		base, one := "/"+k.plural, "/"+k.plural+"/{"+k.idVar+"}"
		get(base, handleActorsPage(st, k.kind, log))
		post(base, http.HandlerFunc(h.handleCreate))
		get(base+"/new", http.HandlerFunc(h.handleNew))
		get(one, http.HandlerFunc(h.handlePage))
		get(one+"/edit", http.HandlerFunc(h.handleEdit))
		post(one+"/edit", http.HandlerFunc(h.handleUpdate))
		post(one+"/check", http.HandlerFunc(h.handleCheck))
		get(one+"/delete", handleDeleteActorPage(st, k, log))
		post(one+"/delete", s.handleDeleteActorForm(k))
	}
}

// uiRouteName begins the name of every UI route.
const uiRouteName = "ui"

// uiPageSize is how many rows a list page shows.
const uiPageSize = 50

// pager links a list page to its neighbours; empty links are hidden.
type pager struct {
	Total int    `json:"total"`
	Prev  string `json:"prev"`
	Next  string `json:"next"`
}

// pageOf reads the offset of a list page; a bad one is a 400.
func pageOf(r *http.Request) (store.Page, error) {
	p := store.Page{Limit: uiPageSize}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, badRequest("offset", "offset must be a non-negative integer")
		}
		p.Offset = n
	}
	return p, nil
}

// newPager builds the links as local URLs: the request's path and query
// with another offset.
func newPager(r *http.Request, p store.Page, total int) pager {
	link := func(offset int) string {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(offset))
		return (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
	}
	out := pager{Total: total}
	next, prev, hasNext, hasPrev := neighbours(p, total)
	if hasPrev {
		out.Prev = link(prev)
	}
	if hasNext {
		out.Next = link(next)
	}
	return out
}

package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// A source's or destination's own page: its definition, its
// configuration (secrets masked, as the store returns it), its
// connections, the last check's verdict, and Test, Edit and Delete.

// actorPage is the actor template's data.
type actorPage struct {
	Kind         string      `json:"kind"`
	Plural       string      `json:"plural"`
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	DefinitionID string      `json:"definitionId"`
	Definition   string      `json:"definition"`
	Config       string      `json:"config"`
	Created      time.Time   `json:"created"`
	Updated      time.Time   `json:"updated"`
	Connections  []userLink  `json:"connections"`
	Check        *checkView  `json:"check"`
	Flash        string      `json:"flash"`
	Definitions  []actorLink `json:"definitions"` // the pick page's choices
}

// checkView is a check's verdict as a page shows it.
type checkView struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	// Internal and Logs are the failed connector's internal_message and
	// last error log lines, masked: the cause a generic message hides.
	Internal string    `json:"internal"`
	Logs     []string  `json:"logs"`
	At       time.Time `json:"at"`
}

// newCheckView is the page's view of a check's verdict.
func newCheckView(res checkJSON, at time.Time) checkView {
	return checkView{Status: res.Status, Message: res.Message, Internal: res.InternalMessage, Logs: res.LastErrorLogs, At: at}
}

// checkCache remembers the last check of each source and destination
// since the server started, so the page a save or Test redirects to can
// show it. It holds verdicts only, already masked.
type checkCache struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]checkView
}

func newCheckCache(now func() time.Time) *checkCache {
	return &checkCache{now: now, m: map[string]checkView{}}
}

func (c *checkCache) put(id string, res checkJSON) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = newCheckView(res, c.now())
}

func (c *checkCache) get(id string) *checkView {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[id]; ok {
		return &v
	}
	return nil
}

// handlePage shows a source or destination.
func (h *actorForms) handlePage(w http.ResponseWriter, r *http.Request) {
	st := h.s.cfg.Store
	a, err := st.Actor(r.Context(), h.k.kind, mux.Vars(r)[h.k.idVar])
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	conns, err := actorUsers(r, st, h.k, a.ID)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	names := newNameCache(r.Context(), st)
	page := actorPage{Kind: string(h.k.kind), Plural: h.k.plural, ID: a.ID, Name: a.Name,
		DefinitionID: a.DefinitionID, Definition: names.definition(a.DefinitionID), Config: indentJSON(a.Config),
		Created: a.CreatedAt, Updated: a.UpdatedAt, Connections: conns, Check: h.checks.get(a.ID), Flash: flashOf(r)}
	renderPage(w, r, h.s.log, "actor", view{Title: a.Name, Nav: h.k.plural, Page: page})
}

// handleCheck runs check with the stored config, as POST
// /api/v1/{sources,destinations}/{id}/check does, and shows the page
// with the verdict.
func (h *actorForms) handleCheck(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := h.s.cfg.Store
	a, err := st.Actor(ctx, h.k.kind, mux.Vars(r)[h.k.idVar])
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	def, err := st.Definition(ctx, a.DefinitionID)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	cfg, err := st.ActorConfig(ctx, h.k.kind, a.ID)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	res, err := h.s.checkConfig(ctx, def, cfg.Config, newRedactor(cfg.Secrets))
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	h.checks.put(a.ID, res)
	http.Redirect(w, r, "/"+h.k.plural+"/"+a.ID+"?done=checked", http.StatusSeeOther)
}

// handlePickDefinition lists the definitions a new source or destination
// can use.
func (s *Server) handlePickDefinition(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defs, _, err := s.cfg.Store.Definitions(r.Context(), store.DefinitionFilter{Kind: k.kind, Page: store.Page{Limit: 100}})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		page := actorPage{Kind: string(k.kind), Plural: k.plural, Definitions: []actorLink{}}
		for _, d := range defs {
			page.Definitions = append(page.Definitions, actorLink{ID: d.ID, Name: d.Name})
		}
		renderPage(w, r, s.log, "actor_pick", view{Title: "New " + string(k.kind), Nav: k.plural, Page: page})
	}
}

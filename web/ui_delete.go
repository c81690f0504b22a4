package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// Deleting asks first, on a page of its own, so it works without
// JavaScript too: GET .../delete shows what would go and what stands in
// the way, and only its form POSTs the delete. What is still used
// (a source by connections, a definition by sources) is not deleted; the
// page names the users, as the store's conflict does not.

// confirmPage is the confirm template's data.
type confirmPage struct {
	What   string `json:"what"` // source, destination, definition
	Name   string `json:"name"`
	Action string `json:"action"` // where the delete form posts
	Back   string `json:"back"`
	// Users are what uses it, under UsersWhat (connections, sources...);
	// while there are any, there is no delete button.
	Users     []userLink `json:"users"`
	UsersWhat string     `json:"usersWhat"`
	Refused   bool       `json:"refused"` // a delete was tried and refused
	// Note says what a delete keeps or takes along, when that needs saying.
	Note string `json:"note"`
}

// userLink is a thing that uses the one being deleted.
type userLink struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// actorUsers lists the connections of a source or destination.
func actorUsers(r *http.Request, st Store, k actorKind, id string) ([]userLink, error) {
	f := store.ConnectionFilter{SourceID: id, Page: store.Page{Limit: 100}}
	if k.kind == store.KindDestination {
		f = store.ConnectionFilter{DestinationID: id, Page: store.Page{Limit: 100}}
	}
	conns, _, err := st.Connections(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := []userLink{}
	for _, c := range conns {
		out = append(out, userLink{Name: c.Name, URL: "/connections/" + c.ID})
	}
	return out, nil
}

// definitionUsers lists the sources or destinations of a definition.
func definitionUsers(r *http.Request, st Store, d *store.Definition) ([]userLink, error) {
	actors, _, err := st.Actors(r.Context(), store.ActorFilter{Kind: d.Kind, DefinitionID: d.ID, Page: store.Page{Limit: 100}})
	if err != nil {
		return nil, err
	}
	out := []userLink{}
	for _, a := range actors {
		out = append(out, userLink{Name: a.Name, URL: "/" + kindOf(d.Kind).plural + "/" + a.ID})
	}
	return out, nil
}

// handleDeleteActorPage asks before deleting a source or destination.
func handleDeleteActorPage(st Store, k actorKind, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, err := actorConfirm(r, st, k)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		renderPage(w, r, log, "confirm", view{Title: "Delete " + page.Name, Nav: k.plural, Page: page})
	}
}

func actorConfirm(r *http.Request, st Store, k actorKind) (*confirmPage, error) {
	id := mux.Vars(r)[k.idVar]
	a, err := st.Actor(r.Context(), k.kind, id)
	if err != nil {
		return nil, err
	}
	users, err := actorUsers(r, st, k, id)
	if err != nil {
		return nil, err
	}
	base := "/" + k.plural + "/" + id
	return &confirmPage{What: string(k.kind), Name: a.Name, Action: base + "/delete", Back: base,
		Users: users, UsersWhat: "connections"}, nil
}

// handleDeleteActorForm deletes a source or destination through the same
// store call as DELETE /api/v1/{sources,destinations}/{id}. While
// connections use it, the store refuses (409), and the page names them.
func (s *Server) handleDeleteActorForm(k actorKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)[k.idVar]
		err := s.cfg.Store.DeleteActor(r.Context(), k.kind, id)
		if errors.Is(err, store.ErrConflict) {
			page, perr := actorConfirm(r, s.cfg.Store, k)
			if perr != nil {
				writeError(w, r, s.log, perr)
				return
			}
			page.Refused = true
			renderStatus(w, r, s.log, http.StatusConflict, "confirm", view{Title: "Delete " + page.Name, Nav: k.plural, Page: page})
			return
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		s.streams.forget(id)
		http.Redirect(w, r, "/"+k.plural+"?done=deleted", http.StatusSeeOther)
	}
}

// handleDeleteDefinitionPage asks before deleting a definition.
func handleDeleteDefinitionPage(st Store, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, err := definitionConfirm(r, st)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		renderPage(w, r, log, "confirm", view{Title: "Delete " + page.Name, Nav: "definitions", Page: page})
	}
}

func definitionConfirm(r *http.Request, st Store) (*confirmPage, error) {
	d, err := st.Definition(r.Context(), mux.Vars(r)["definitionId"])
	if err != nil {
		return nil, err
	}
	users, err := definitionUsers(r, st, d)
	if err != nil {
		return nil, err
	}
	base := "/definitions/" + d.ID
	return &confirmPage{What: "definition", Name: d.Name, Action: base + "/delete", Back: base,
		Users: users, UsersWhat: kindOf(d.Kind).plural}, nil
}

// handleDeleteDefinitionForm deletes a definition, as DELETE
// /api/v1/definitions/{id} does; while sources or destinations use it,
// the page names them.
func handleDeleteDefinitionForm(st Store, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := st.DeleteDefinition(r.Context(), mux.Vars(r)["definitionId"])
		if errors.Is(err, store.ErrConflict) {
			page, perr := definitionConfirm(r, st)
			if perr != nil {
				writeError(w, r, log, perr)
				return
			}
			page.Refused = true
			renderStatus(w, r, log, http.StatusConflict, "confirm", view{Title: "Delete " + page.Name, Nav: "definitions", Page: page})
			return
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		http.Redirect(w, r, "/definitions?done=deleted", http.StatusSeeOther)
	}
}

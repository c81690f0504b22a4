package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// The definition pages: add a connector image, see what Ferry read from
// it (spec, IPC label, or why it could not), change its image (upgrade),
// see and reach what uses it, delete it. They call what the API's
// definition handlers call: store.Definition.Validate, readSpec and the
// store's create, update and delete.

// definitionForm is the add-definition template's data: what was typed,
// and each field's problem.
type definitionForm struct {
	Name      string            `json:"name"`
	ShortName string            `json:"shortName"`
	Kind      string            `json:"kind"`
	Image     string            `json:"image"`
	Errors    map[string]string `json:"errors"`
}

// definitionPage is the definition template's data.
type definitionPage struct {
	Def   definitionRow `json:"def"`
	Flash string        `json:"flash"`
	// SpecError says why the spec could not be read, in the runtime's
	// words ("image ... not found: load or build it on this engine").
	SpecError   string      `json:"specError"`
	SpecImageID string      `json:"specImageId"`
	SpecTitle   string      `json:"specTitle"`
	DocsURL     string      `json:"docsUrl"`
	Plural      string      `json:"plural"`
	Users       []actorLink `json:"users"`
	UsersTotal  int         `json:"usersTotal"`
	// Image, ShortName and Entrypoint are the settings form's values,
	// and SettingsErrors their problems by field.
	Image          string            `json:"image"`
	ShortName      string            `json:"shortName"`
	Entrypoint     string            `json:"entrypoint"`
	SettingsErrors map[string]string `json:"settingsErrors"`
}

// actorLink names a source or destination and links to it.
type actorLink struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// flashes are the messages a redirect may ask a page to show; the query
// names one, so no text from the URL reaches the page.
var flashes = map[string]string{
	"created":  "Created.",
	"saved":    "Saved.",
	"upgraded": "Saved; a changed image's spec was read.",
	"deleted":  "Deleted.",
	"checked":  "Tested.",
}

func flashOf(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

// handleNewDefinitionPage shows the add-definition form.
func (s *Server) handleNewDefinitionPage(w http.ResponseWriter, r *http.Request) {
	f := definitionForm{Kind: r.URL.Query().Get("kind"), Errors: map[string]string{}}
	renderPage(w, r, s.log, "definition_new", view{Title: "Add a connector", Nav: "definitions", Page: f})
}

// handleCreateDefinitionForm adds a definition and reads its spec, as
// POST /api/v1/definitions does. A spec that cannot be read does not stop
// the definition being added; its page says why.
func (s *Server) handleCreateDefinitionForm(w http.ResponseWriter, r *http.Request) {
	f := definitionForm{Name: strings.TrimSpace(r.PostFormValue("name")), ShortName: strings.TrimSpace(r.PostFormValue("shortName")),
		Kind: r.PostFormValue("kind"), Image: strings.TrimSpace(r.PostFormValue("image")), Errors: map[string]string{}}
	// An empty short name is taken from the image's io.ferry.connector
	// label by readSpec, as in the API.
	d := &store.Definition{Name: f.Name, ShortName: f.ShortName, Kind: store.ActorKind(f.Kind), Image: f.Image}
	err := d.Validate()
	if err == nil {
		s.readSpec(r.Context(), d, true)
		err = s.cfg.Store.CreateDefinition(r.Context(), d)
	}
	if err != nil {
		if !formError(err, f.Errors, "name") {
			writeError(w, r, s.log, err)
			return
		}
		renderStatus(w, r, s.log, http.StatusBadRequest, "definition_new", view{Title: "Add a connector", Nav: "definitions", Page: f})
		return
	}
	http.Redirect(w, r, "/definitions/"+d.ID+"?done=created", http.StatusSeeOther)
}

// formError files a validation error or conflict under its field (a
// conflict under conflictField); it reports false for any other error.
func formError(err error, errs map[string]string, conflictField string) bool {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		errs[ve.Field] = ve.Message
	case errors.Is(err, store.ErrConflict):
		errs[conflictField] = strings.TrimPrefix(err.Error(), "conflict: ")
	default:
		return false
	}
	return true
}

// handleDefinitionPage shows a definition. When its spec is not cached it
// tries to read it now, so the page tells the real reason it cannot be
// (an image missing from the engine) rather than that it was not read.
func (s *Server) handleDefinitionPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	specErr := ""
	if d.Spec == nil {
		if specErr = s.readSpec(r.Context(), d, d.IPCOptions == nil); specErr == "" {
			if err := s.cfg.Store.UpdateDefinition(r.Context(), d); err != nil {
				writeError(w, r, s.log, err)
				return
			}
		}
	}
	page, err := s.definitionPage(r, d)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page.Flash, page.SpecError = flashOf(r), specErr
	renderPage(w, r, s.log, "definition", view{Title: d.Name, Nav: "definitions", Page: page})
}

// definitionPage gathers what the page shows of d.
func (s *Server) definitionPage(r *http.Request, d *store.Definition) (*definitionPage, error) {
	page := &definitionPage{Def: newDefinitionRow(d), SpecImageID: d.SpecImageID, Image: d.Image, ShortName: d.ShortName,
		Entrypoint: entrypointText(d.Entrypoint), Plural: kindOf(d.Kind).plural, Users: []actorLink{}, SettingsErrors: map[string]string{}}
	if d.Spec != nil {
		var spec struct {
			DocumentationURL        string `json:"documentationUrl"`
			ConnectionSpecification struct {
				Title string `json:"title"`
			} `json:"connectionSpecification"`
		}
		_ = json.Unmarshal(d.Spec, &spec) // validated when stored; the page only decorates
		page.SpecTitle, page.DocsURL = spec.ConnectionSpecification.Title, safeURL(spec.DocumentationURL)
	}
	users, total, err := s.cfg.Store.Actors(r.Context(), store.ActorFilter{Kind: d.Kind, DefinitionID: d.ID,
		Page: store.Page{Limit: uiPageSize}})
	if err != nil {
		return nil, err
	}
	page.UsersTotal = total
	for _, a := range users {
		page.Users = append(page.Users, actorLink{ID: a.ID, Name: a.Name})
	}
	return page, nil
}

// safeURL keeps http(s) links only: a spec's documentationUrl becomes an
// href, and a javascript: URL must not.
func safeURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

func newDefinitionRow(d *store.Definition) definitionRow {
	return definitionRow{ID: d.ID, Name: d.Name, ShortName: d.ShortName, Kind: string(d.Kind), Image: d.Image, BinaryPath: d.BinaryPath,
		DataChan: dataChannelText(d.IPCOptions), SpecCached: d.Spec != nil, Resources: resourcesText(d.Resources),
		Hardening: hardeningText(d.Hardening), Entrypoint: entrypointText(d.Entrypoint),
		EntrypointSource: d.EntrypointSource, Created: d.CreatedAt}
}

// hardeningText describes a definition's hardening level for its page.
func hardeningText(h string) string {
	switch h {
	case store.HardeningStrict:
		return "strict: non-root user, read-only root filesystem"
	case store.HardeningCompatible:
		return "compatible: as the image says (often root), writable root filesystem"
	}
	return "auto: the image's io.ferry.hardening label decides (strict on Ferry's connectors, compatible otherwise)"
}

// kindOf returns the actor kind's paths and names.
func kindOf(k store.ActorKind) actorKind {
	if k == store.KindDestination {
		return destinationKind
	}
	return sourceKind
}

// handleUpgradeDefinitionForm changes a definition's image, short name
// and entrypoint, as PATCH /api/v1/definitions/{id} does: a new image's
// spec, IPC label and entrypoint are read (and its connector label names
// it when the short name is left empty). An entrypoint field left as
// shown changes nothing; an edited one is kept over the image's, and an
// emptied one clears it until an image declares one. When they cannot be
// read the change is still saved (as in the API) and the page says why,
// and that the spec cached is the previous image's.
func (s *Server) handleUpgradeDefinitionForm(w http.ResponseWriter, r *http.Request) {
	old, err := s.cfg.Store.Definition(r.Context(), mux.Vars(r)["definitionId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d := *old
	d.Image = strings.TrimSpace(r.PostFormValue("image"))
	d.ShortName = strings.TrimSpace(r.PostFormValue("shortName"))
	entrypoint := entrypointText(old.Entrypoint)
	if _, sent := r.PostForm["entrypoint"]; sent { // PostFormValue parsed the form
		entrypoint = strings.TrimSpace(r.PostFormValue("entrypoint"))
	}
	if entrypoint != entrypointText(old.Entrypoint) {
		var argv []string
		if argv, err = parseEntrypointText(entrypoint); err == nil {
			setEntrypoint(&d, argv)
		}
	}
	specErr := ""
	if err == nil {
		err = d.Validate()
	}
	if err == nil {
		if d.Image != old.Image {
			specErr = s.readSpec(r.Context(), &d, true)
		}
		err = s.cfg.Store.UpdateDefinition(r.Context(), &d)
	}
	if err == nil && specErr == "" {
		http.Redirect(w, r, "/definitions/"+d.ID+"?done=upgraded", http.StatusSeeOther)
		return
	}
	errs := map[string]string{}
	if err != nil && !formError(err, errs, "shortName") {
		writeError(w, r, s.log, err)
		return
	}
	entrypointErrors(errs)
	shown := old
	if err == nil {
		shown = &d
	}
	page, perr := s.definitionPage(r, shown)
	if perr != nil {
		writeError(w, r, s.log, perr)
		return
	}
	page.Image, page.ShortName, page.Entrypoint, page.SettingsErrors = d.Image, d.ShortName, entrypoint, errs
	status := http.StatusBadRequest
	if err == nil {
		status = http.StatusOK
		page.SpecError = specErr + " (the image was changed; the spec shown is still the previous image's)"
	}
	renderStatus(w, r, s.log, status, "definition", view{Title: old.Name, Nav: "definitions", Page: page})
}

// renderStatus renders a page with a status other than 200, or the error
// page when the template fails.
func renderStatus(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, name string, v view) {
	if err := render(w, r, status, name, v); err != nil {
		writeError(w, r, log, err)
	}
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// The source and destination forms: /sources/new?definitionId=... and
// /sources/{id}/edit (and the same for destinations), generated from the
// definition's spec (form*.go). Saving goes through the calls the API's
// create and update make: actorDefinition (which reads a missing spec),
// the spec's validation (every violation rather than the first),
// MergeSecrets with the stored config, and the store. A save also runs
// check; a failing check does not stop the save, and the page says so.

// actorFormPage is the actor_form template's data.
type actorFormPage struct {
	Kind         string     `json:"kind"`
	Plural       string     `json:"plural"`
	Action       string     `json:"action"`
	Editing      bool       `json:"editing"`
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	NameError    string     `json:"nameError"`
	DefinitionID string     `json:"definitionId"`
	Definition   string     `json:"definition"`
	DocsURL      string     `json:"docsUrl"`
	Form         formView   `json:"form"`
	Check        *checkView `json:"check"`
	// SecretsDropped says that secrets typed into a form shown again were
	// not sent back, so they must be typed again.
	SecretsDropped bool `json:"secretsDropped"`
}

// Form fields of the page itself; config inputs are dotted paths.
const (
	formName       = "_name"
	formDefinition = "_definitionId"
)

// actorForms serves the forms of one kind.
type actorForms struct {
	s      *Server
	k      actorKind
	checks *checkCache
}

func (h *actorForms) title(editing bool, name string) string {
	if editing {
		return "Edit " + name
	}
	return "New " + string(h.k.kind)
}

// specFormOf loads the definition (reading its spec when it has none,
// as the API does) and its form.
func (h *actorForms) specFormOf(r *http.Request, defID string) (*store.Definition, *specForm, error) {
	def, err := h.s.actorDefinition(r, h.k, defID)
	if err != nil {
		return nil, nil, err
	}
	f, err := newSpecForm(def.Spec)
	if err != nil {
		return nil, nil, &connectorError{msg: "the connector's spec cannot make a form: " + err.Error()}
	}
	return def, f, nil
}

func (h *actorForms) newPage(def *store.Definition) *actorFormPage {
	return &actorFormPage{Kind: string(h.k.kind), Plural: h.k.plural, Action: "/" + h.k.plural,
		DefinitionID: def.ID, Definition: def.Name, DocsURL: specDocsURL(def.Spec)}
}

// handleNew shows an empty form with the spec's defaults, or the list of
// definitions to choose from when none is named.
func (h *actorForms) handleNew(w http.ResponseWriter, r *http.Request) {
	defID := r.URL.Query().Get("definitionId")
	if defID == "" {
		h.s.handlePickDefinition(h.k)(w, r)
		return
	}
	def, f, err := h.specFormOf(r, defID)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	page := h.newPage(def)
	page.Form = f.view(f.initial(nil), nil)
	renderPage(w, r, h.s.log, "actor_form", view{Title: h.title(false, ""), Nav: h.k.plural, Page: page})
}

// handleEdit shows the form of a stored source or destination. Secrets
// are empty, and say when a stored value stands behind them.
func (h *actorForms) handleEdit(w http.ResponseWriter, r *http.Request) {
	a, def, f, err := h.load(r)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	page := h.editPage(a, def)
	stored := decodeConfig(a.Config)
	page.Form = f.view(f.initial(stored), stored)
	renderPage(w, r, h.s.log, "actor_form", view{Title: h.title(true, a.Name), Nav: h.k.plural, Page: page})
}

func (h *actorForms) load(r *http.Request) (*store.Actor, *store.Definition, *specForm, error) {
	a, err := h.s.cfg.Store.Actor(r.Context(), h.k.kind, mux.Vars(r)[h.k.idVar])
	if err != nil {
		return nil, nil, nil, err
	}
	def, f, err := h.specFormOf(r, a.DefinitionID)
	return a, def, f, err
}

func (h *actorForms) editPage(a *store.Actor, def *store.Definition) *actorFormPage {
	page := h.newPage(def)
	page.Editing, page.ID, page.Name = true, a.ID, a.Name
	page.Action = "/" + h.k.plural + "/" + a.ID + "/edit"
	return page
}

// handleCreate reads the posted form: an add or remove row button shows
// it again; Test runs check on it unsaved; Save validates, creates and
// checks.
func (h *actorForms) handleCreate(w http.ResponseWriter, r *http.Request) {
	def, f, err := h.specFormOf(r, r.PostFormValue(formDefinition))
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	page := h.newPage(def)
	page.Name = strings.TrimSpace(r.PostFormValue(formName))
	st, action := f.read(r.PostForm, nil)
	h.submit(w, r, submission{page: page, def: def, form: f, state: st, action: action})
}

// handleUpdate is handleCreate for a stored source or destination: a
// secret left empty keeps its stored value (form_values.go says when).
func (h *actorForms) handleUpdate(w http.ResponseWriter, r *http.Request) {
	a, def, f, err := h.load(r)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	page := h.editPage(a, def)
	page.Name = strings.TrimSpace(r.PostFormValue(formName))
	stored := decodeConfig(a.Config)
	st, action := f.read(r.PostForm, stored)
	h.submit(w, r, submission{page: page, def: def, form: f, state: st, action: action, old: a, stored: stored})
}

// submission is one posted form.
type submission struct {
	page   *actorFormPage
	def    *store.Definition
	form   *specForm
	state  *formState
	action string
	old    *store.Actor   // nil when creating
	stored map[string]any // the stored config, masked; nil when creating
}

func (h *actorForms) submit(w http.ResponseWriter, r *http.Request, sub submission) {
	if sub.action != "save" && sub.action != "test" {
		h.show(w, r, sub, http.StatusOK) // a row added or removed, a variant chosen
		return
	}
	plain, red, err := h.plaintext(r.Context(), sub)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	valid := true
	if plain != nil {
		if valid, err = sub.form.validate(sub.state, plain, red); err != nil {
			writeError(w, r, h.s.log, err)
			return
		}
	}
	if sub.page.Name == "" && sub.action == "save" {
		sub.page.NameError, valid = "is required", false
	}
	if !valid || plain == nil {
		h.show(w, r, sub, http.StatusBadRequest)
		return
	}
	if sub.action == "test" {
		res, err := h.s.checkConfig(r.Context(), sub.def, plain, red)
		if err != nil {
			writeError(w, r, h.s.log, err)
			return
		}
		v := newCheckView(res, time.Time{})
		sub.page.Check = &v
		h.show(w, r, sub, http.StatusOK)
		return
	}
	h.save(w, r, sub, plain, red)
}

// plaintext is the config the form describes, with the stored secrets
// merged in where it keeps them (as the API's validateUpdate merges),
// and a redactor of its secret values. A merge problem is filed under
// its field and the config is nil.
func (h *actorForms) plaintext(ctx context.Context, sub submission) (json.RawMessage, *secret.Redactor, error) {
	config := sub.state.config()
	if sub.old == nil {
		return config, newRedactor(secretValuesOf(sub.def.Spec, config)), nil
	}
	stored, err := h.s.cfg.Store.ActorConfig(ctx, h.k.kind, sub.old.ID)
	if err != nil {
		return nil, nil, err
	}
	merged, err := store.MergeSecrets(sub.def.Spec, stored.Config, config)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		sub.state.addError(formPath(strings.Replace(ve.Field, "config", "configuration", 1)), ve.Message)
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	return merged, newRedactor(stored.Secrets, secretValuesOf(sub.def.Spec, merged)), nil
}

// save stores the source or destination, checks it, and shows its page
// with the verdict. The store gets the config with masks where secrets
// are kept, and merges them itself inside its transaction.
func (h *actorForms) save(w http.ResponseWriter, r *http.Request, sub submission, plain json.RawMessage, red *secret.Redactor) {
	ctx := r.Context()
	a := &store.Actor{Kind: h.k.kind, Name: sub.page.Name, DefinitionID: sub.def.ID, Config: plain}
	var err error
	if sub.old == nil {
		err = h.s.cfg.Store.CreateActor(ctx, a)
	} else {
		a.ID, a.Config = sub.old.ID, sub.state.config()
		err = h.s.cfg.Store.UpdateActor(ctx, a)
	}
	var ve *store.ValidationError
	if errors.As(configField(err), &ve) {
		if ve.Field == "name" {
			sub.page.NameError = ve.Message
		} else {
			sub.state.addError(formPath(ve.Field), red.Redact(ve.Message))
		}
		h.show(w, r, sub, http.StatusBadRequest)
		return
	} else if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	h.s.streams.forget(a.ID)
	res, err := h.s.checkConfig(ctx, sub.def, plain, red)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	h.checks.put(a.ID, res)
	done := "saved"
	if sub.old == nil {
		done = "created"
	}
	http.Redirect(w, r, "/"+h.k.plural+"/"+a.ID+"?done="+done, http.StatusSeeOther)
}

// show renders the form again from the posted state. Secrets typed are
// not sent back; the page says so when there were any.
func (h *actorForms) show(w http.ResponseWriter, r *http.Request, sub submission, status int) {
	sub.page.Form = sub.form.view(sub.state, sub.stored)
	sub.page.SecretsDropped = typedSecrets(sub.def.Spec, sub.state.config())
	renderStatus(w, r, h.s.log, status, "actor_form", view{Title: h.title(sub.old != nil, sub.page.Name), Nav: h.k.plural, Page: sub.page})
}

// typedSecrets reports whether the config holds a secret other than the
// mask, which the form shown again leaves out.
func typedSecrets(spec, config json.RawMessage) bool {
	for _, v := range secretValuesOf(spec, config) {
		if v != "" && v != store.Mask {
			return true
		}
	}
	return false
}

// specDocsURL is a spec's documentationUrl, when it is a web link.
func specDocsURL(spec json.RawMessage) string {
	var s struct {
		DocumentationURL string `json:"documentationUrl"`
	}
	_ = json.Unmarshal(spec, &s) // the link only decorates the page
	return safeURL(s.DocumentationURL)
}

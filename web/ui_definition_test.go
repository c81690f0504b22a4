package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// TestDefinitionPages adds a definition through the form, shows the real
// reason when its image is missing, upgrades it to an image that exists,
// lists what uses it, and refuses to delete it while a source does,
// naming the source.
func TestDefinitionPages(t *testing.T) {
	e := newEnv(t)
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		if strings.HasPrefix(def.Image, "missing/") {
			return nil, &runner.ImageNotFoundError{Image: def.Image, Hint: "load or build it on this engine (docker load, docker build)"}
		}
		return &SpecResult{Spec: []byte(srcSpec), ImageID: "sha256:" + def.Image, Connector: "source-postgres"}, nil
	}
	cookie, csrf := e.login(t)
	post := func(path string, form url.Values) (*http.Response, string) {
		form.Set("csrf", csrf)
		return e.page(t, "POST", path, cookie, form)
	}
	get := func(path string) string {
		resp, body := e.page(t, "GET", path, cookie, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d\n%s", path, resp.StatusCode, body)
		}
		return body
	}

	// /definitions/new is a page, not a definition id.
	if page := get("/definitions/new"); !strings.Contains(page, `name="image"`) {
		t.Fatalf("/definitions/new: want the form\n%s", page)
	}
	resp, page := post("/definitions", url.Values{"name": {""}, "kind": {"source"}, "image": {"x"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "is required") {
		t.Fatalf("add without a name: got %d, want 400 and the error\n%s", resp.StatusCode, page)
	}
	resp, _ = post("/definitions", url.Values{"name": {"source-pg"}, "kind": {"source"}, "image": {"missing/source-pg:1.0"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: got %d, want 303", resp.StatusCode)
	}
	defURL := strings.TrimSuffix(resp.Header.Get("Location"), "?done=created")
	page = get(defURL)
	if !strings.Contains(page, "not found") || !strings.Contains(page, "docker load, docker build") {
		t.Errorf("missing image: want the runtime's reason\n%s", page)
	}
	if list := get("/definitions"); !strings.Contains(list, `href="`+defURL+`"`) || strings.Contains(list, "not read yet") {
		t.Errorf("definitions list: want a link to %s and no \"not read yet\"\n%s", defURL, list)
	}

	resp, page = post(defURL, url.Values{"image": {"ferry/source-pg:2.0"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upgrade: got %d, want 303\n%s", resp.StatusCode, page)
	}
	d, _ := e.db.Definition(t.Context(), strings.TrimPrefix(defURL, "/definitions/"))
	if d.Image != "ferry/source-pg:2.0" || d.SpecImageID != "sha256:ferry/source-pg:2.0" || d.ShortName != "postgres" {
		t.Fatalf("after upgrade: image %s, spec from %s, short name %q; want the new image, its spec and the short name of its label",
			d.Image, d.SpecImageID, d.ShortName)
	}
	// A short name given in the form wins over the label; a bad one is
	// shown next to its field.
	resp, page = post("/definitions", url.Values{"name": {"source-pg-2"}, "shortName": {"Bad Name"}, "kind": {"source"}, "image": {"ferry/x:1"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `class="error field-error"`) {
		t.Errorf("a bad short name: got %d, want 400 with the error at the field\n%s", resp.StatusCode, page)
	}
	resp, _ = post("/definitions", url.Values{"name": {"source-pg-2"}, "shortName": {"pg2"}, "kind": {"source"}, "image": {"ferry/x:1"}})
	if page := get(strings.TrimSuffix(resp.Header.Get("Location"), "?done=created")); !strings.Contains(page, `<dd id="short-name">pg2</dd>`) {
		t.Errorf("the short name given: want pg2 on the page\n%s", page)
	}

	var a actorJSON
	e.do(t, "POST", "/api/v1/sources", map[string]any{"name": "pg one", "definitionId": d.ID, "configuration": srcConfig()}, 201, &a)
	if page := get(defURL); !strings.Contains(page, `<a href="/sources/`+a.SourceID+`">pg one</a>`) {
		t.Errorf("definition page: want its source listed\n%s", page)
	}
	resp, page = post(defURL+"/delete", url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "pg one") || !strings.Contains(page, "Not deleted") {
		t.Errorf("delete a used definition: got %d, want 409 naming its source\n%s", resp.StatusCode, page)
	}
	if page := get(defURL + "/delete"); strings.Contains(page, "confirm-delete") {
		t.Errorf("the confirm page offers to delete a used definition\n%s", page)
	}
}

// TestActorPagesAndDelete: the lists link to each source and definition;
// a source's page lists its connections; deleting it is refused (409)
// naming them, and once they are gone it asks, then deletes.
func TestActorPagesAndDelete(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	cookie, csrf := e.login(t)
	get := func(path string) string {
		resp, body := e.page(t, "GET", path, cookie, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d\n%s", path, resp.StatusCode, body)
		}
		checkNoSecrets(t, path, body)
		return body
	}
	if list := get("/sources"); !strings.Contains(list, `href="/sources/`+f.src+`"`) || !strings.Contains(list, `href="/definitions/`+f.srcDef+`"`) {
		t.Errorf("sources list: want links to the source and its definition\n%s", list)
	}
	if page := get("/sources/new"); !strings.Contains(page, `href="/sources/new?definitionId=`+f.srcDef+`"`) {
		t.Errorf("/sources/new without a definition: want the choice of definitions\n%s", page)
	}
	page := get("/sources/" + f.src)
	if !strings.Contains(page, `<a href="/connections/`+f.conn+`">src → dst</a>`) {
		t.Errorf("source page: want its connection\n%s", page)
	}
	if page := get("/destinations/" + f.dst + "/delete"); !strings.Contains(page, "src → dst") || strings.Contains(page, "confirm-delete") {
		t.Errorf("delete page of a used destination: want its connection named and no delete button\n%s", page)
	}
	resp, page := e.page(t, "POST", "/sources/"+f.src+"/delete", cookie, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "src → dst") {
		t.Fatalf("delete a used source: got %d, want 409 naming the connection\n%s", resp.StatusCode, page)
	}
	ae := e.fail(t, "DELETE", "/api/v1/sources/"+f.src, nil, http.StatusConflict)
	if !strings.Contains(ae.Message, "connection") {
		t.Errorf("API delete of a used source: %+v, want a 409 about its connections", ae)
	}

	if err := e.db.DeleteConnection(t.Context(), f.conn); err != nil {
		t.Fatal(err)
	}
	if page := get("/sources/" + f.src + "/delete"); !strings.Contains(page, "confirm-delete") {
		t.Fatalf("delete page of an unused source: want the delete button\n%s", page)
	}
	resp, _ = e.page(t, "POST", "/sources/"+f.src+"/delete", cookie, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: got %d, want 303", resp.StatusCode)
	}
	if _, err := e.db.Actor(t.Context(), "source", f.src); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v, want not found", err)
	}
}

package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/store"
)

// entrypointImages is what the fake runtime's images declare.
var entrypointImages = map[string][]string{
	"img/a:1": {"/a"},
	"img/b:2": {"python", "/b.py"},
}

func entrypointEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		return &SpecResult{Spec: []byte(srcSpec), ImageID: "sha256:" + def.Image, Entrypoint: entrypointImages[def.Image]}, nil
	}
	return e
}

// TestDefinitionEntrypointAPI: a definition takes its image's entrypoint
// when registered and when its image changes; one set through the API wins
// and is kept across image changes; an empty array clears it and a spec
// refresh reads the image's again; PUT keeps what was read from the image,
// also when the body sends it back as it was.
func TestDefinitionEntrypointAPI(t *testing.T) {
	e := entrypointEnv(t)
	check := func(step string, d definitionJSON, want []string, source string) {
		t.Helper()
		if !slices.Equal(d.Entrypoint, want) || (d.Entrypoint == nil) != (want == nil) || d.EntrypointSource != source {
			t.Errorf("%s: answered entrypoint %q from %q, want %q from %q", step, d.Entrypoint, d.EntrypointSource, want, source)
		}
		var got definitionJSON
		e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID, nil, 200, &got)
		if !slices.Equal(got.Entrypoint, want) || got.EntrypointSource != source {
			t.Errorf("%s: GET entrypoint %q from %q, want %q from %q", step, got.Entrypoint, got.EntrypointSource, want, source)
		}
	}
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "a", "kind": "source", "image": "img/a:1"}, 201, &d)
	check("registered", d, []string{"/a"}, "image")
	path := "/api/v1/definitions/" + d.DefinitionID
	// Each answer is decoded afresh: an absent field must not keep the
	// previous answer's value.
	send := func(method string, body any) definitionJSON {
		t.Helper()
		var out definitionJSON
		e.do(t, method, path, body, 200, &out)
		return out
	}
	d = send("PATCH", map[string]any{"image": "img/b:2"})
	check("image changed", d, []string{"python", "/b.py"}, "image")
	d = send("PUT", map[string]any{"name": "a", "kind": "source", "image": "img/b:2"})
	check("PUT without one", d, []string{"python", "/b.py"}, "image")
	d = send("PUT", map[string]any{"name": "a", "kind": "source", "image": "img/b:2", "entrypoint": []string{"python", "/b.py"}})
	check("PUT sending the image's back", d, []string{"python", "/b.py"}, "image")
	d = send("PATCH", map[string]any{"entrypoint": []string{"/custom", "--with space"}})
	check("set", d, []string{"/custom", "--with space"}, "api")
	d = send("PATCH", map[string]any{"image": "img/a:1"})
	check("image changed after set", d, []string{"/custom", "--with space"}, "api")
	d = send("PATCH", map[string]any{"entrypoint": []string{}})
	check("cleared", d, nil, "")
	e.do(t, "GET", path+"/spec?refresh=true", nil, 200, nil)
	d = send("GET", nil)
	check("spec refreshed", d, []string{"/a"}, "image")
	d = send("PATCH", map[string]any{"image": "img/none:1"})
	check("an image declaring none", d, []string{"/a"}, "image")

	// Given with the registration, it wins over the image's.
	var given definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "b", "kind": "destination", "image": "img/b:2",
		"entrypoint": []string{"/given"}}, 201, &given)
	check("registered with one", given, []string{"/given"}, "api")
}

// TestDefinitionEntrypointValidation: a bad entrypoint is a 400 naming the
// field, and changes nothing.
func TestDefinitionEntrypointValidation(t *testing.T) {
	e := entrypointEnv(t)
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "a", "kind": "source", "image": "img/a:1"}, 201, &d)
	path := "/api/v1/definitions/" + d.DefinitionID
	for _, tc := range []struct {
		name  string
		value any
		field string
	}{
		{"a blank word", []string{"/x", " "}, "entrypoint[1]"},
		{"an empty first word", []string{""}, "entrypoint[0]"},
		{"a long word", []string{strings.Repeat("x", store.MaxEntrypointArgLen+1)}, "entrypoint[0]"},
		{"too many words", slices.Repeat([]string{"x"}, store.MaxEntrypointArgs+1), "entrypoint"},
		{"a string", "python main.py", "entrypoint"},
		{"numbers", []int{1}, "entrypoint"},
	} {
		ae := e.fail(t, "PATCH", path, map[string]any{"entrypoint": tc.value}, http.StatusBadRequest)
		if !strings.Contains(ae.Field+" "+ae.Message, tc.field) {
			t.Errorf("%s: error %+v, want it to name %s", tc.name, ae, tc.field)
		}
	}
	e.fail(t, "POST", "/api/v1/definitions", map[string]any{"name": "b", "kind": "source", "image": "img/a:1",
		"entrypoint": []string{"ok", ""}}, http.StatusBadRequest)
	if got, err := e.db.Definition(t.Context(), d.DefinitionID); err != nil || !slices.Equal(got.Entrypoint, []string{"/a"}) {
		t.Errorf("after refused requests: entrypoint %q (%v), want the image's still", got.Entrypoint, err)
	}
}

// TestDefinitionEntrypointPage: the definition page shows the entrypoint
// and where it came from; its form leaves it alone when the field is left
// as shown, keeps an edited one (words or a JSON array) over the image's,
// and shows a bad one at its field.
func TestDefinitionEntrypointPage(t *testing.T) {
	e := entrypointEnv(t)
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "a", "kind": "source", "image": "img/b:2"}, 201, &d)
	cookie, csrf := e.login(t)
	defURL := "/definitions/" + d.DefinitionID
	_, page := e.page(t, "GET", defURL, cookie, nil)
	if !strings.Contains(page, `<code>python /b.py</code> <span class="muted">(read from the image)`) ||
		!strings.Contains(page, `name="entrypoint" value="python /b.py"`) {
		t.Fatalf("page: want the image's entrypoint shown and in the form\n%s", page)
	}
	post := func(entrypoint string) (*http.Response, string) {
		return e.page(t, "POST", defURL, cookie, url.Values{"csrf": {csrf}, "image": {"img/b:2"}, "entrypoint": {entrypoint}})
	}
	stored := func() *store.Definition {
		got, err := e.db.Definition(t.Context(), d.DefinitionID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if resp, _ := post("python /b.py"); resp.StatusCode != http.StatusSeeOther || stored().EntrypointSource != store.EntrypointFromImage {
		t.Errorf("left as shown: %d, source %q; want 303 and still from the image", resp.StatusCode, stored().EntrypointSource)
	}
	if resp, _ := post(`["/run", "a b"]`); resp.StatusCode != http.StatusSeeOther ||
		!slices.Equal(stored().Entrypoint, []string{"/run", "a b"}) || stored().EntrypointSource != store.EntrypointFromAPI {
		t.Errorf("a JSON array: %d, stored %q from %q", resp.StatusCode, stored().Entrypoint, stored().EntrypointSource)
	}
	if _, page := e.page(t, "GET", defURL, cookie, nil); !strings.Contains(page, `set by hand`) ||
		!strings.Contains(page, `value="[&#34;/run&#34;,&#34;a b&#34;]"`) {
		t.Errorf("page after setting one: want it shown as set by hand, as JSON in the form\n%s", page)
	}
	for _, bad := range []string{`["/run", ""]`, `["/run"`} {
		resp, page := post(bad)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `class="field invalid"`) ||
			!strings.Contains(page, `name="entrypoint"`) {
			t.Errorf("entrypoint %s: got %d, want 400 with the error at the field\n%s", bad, resp.StatusCode, page)
		}
	}
	if resp, _ := post(""); resp.StatusCode != http.StatusSeeOther || stored().Entrypoint != nil {
		t.Errorf("emptied: %d, stored %q; want it cleared", resp.StatusCode, stored().Entrypoint)
	}
}

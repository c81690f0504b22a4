package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
)

// TestSpecFormWidgets renders the new-source form of the widget spec and
// finds every widget with its attributes: groups in order, the string
// with pattern, examples and description, date, date-time, multiline,
// integer and number with bounds and defaults, boolean, enum select,
// arrays as rows and checkboxes, the nested fieldset, the oneOf select
// with its hidden variant, required marks, no hidden field, and every
// secret an empty password input.
func TestSpecFormWidgets(t *testing.T) {
	e := newWidgetEnv(t)
	page := e.get(t, "/sources/new?definitionId="+e.defID)

	wants := []struct {
		elem, name string
		attrs      []string
	}{
		{"input", "host", []string{`type="text"`, `pattern=".*(?:^[a-z0-9.-]&#43;$).*"`, `placeholder="db.example.com"`, "required"}},
		{"input", "port", []string{`type="number"`, `min="1"`, `max="65535"`, `step="1"`, `value="5432"`, "required"}},
		{"input", "ratio", []string{`type="number"`, `min="0"`, `max="1"`, `step="any"`}},
		{"input", "api_token", []string{`type="password"`, `value=""`, "required"}},
		{"input", "start_date", []string{`type="date"`}},
		{"input", "updated_after", []string{`type="text"`, `placeholder="YYYY-MM-DDTHH:mm:ssZ"`, `pattern=".*(?:^[0-9]{4}`}},
		{"textarea", "query", nil},
		{"input", "ssl", []string{`type="checkbox"`, `value="true"`, "checked"}},
		{"select", "mode", nil},
		{"input", "_rows.tags", []string{`type="hidden"`, `value="0"`}},
		{"input", "streams", []string{`type="checkbox"`, `value="users"`}},
		{"input", "_rows.replicas", []string{`type="hidden"`, `value="0"`}},
		{"input", "tunnel.user", []string{`type="text"`}},
		{"input", "tunnel.key", []string{`type="password"`, `value=""`}},
		{"select", "credentials.auth_type", []string{`data-choice="f-credentials"`}},
		{"input", "credentials.api_key", []string{`type="password"`, `value=""`, "required"}},
	}
	for _, w := range wants {
		tg := tag(page, w.elem, w.name)
		if tg == "" {
			t.Errorf("no <%s name=%q> in the form", w.elem, w.name)
			continue
		}
		for _, a := range w.attrs {
			if !strings.Contains(tg, a) {
				t.Errorf("<%s name=%q>: got %s, want %s", w.elem, w.name, tg, a)
			}
		}
	}
	for _, want := range []string{
		`<h2>Connection</h2>`, `<h2>Advanced</h2>`, `The server&#39;s name.`, `Examples: <code>db.example.com</code>`,
		`<option value="safe" selected>safe</option>`, `<option value="fast">fast</option>`,
		`value="add:tags"`, `value="add:replicas"`, `<legend>Tunnel</legend>`,
		`<option value="key" selected>API key</option>`, `<option value="none">No auth</option>`,
		`<fieldset class="variant" data-variant="none" hidden disabled>`,
		`Host <span class="req" title="required">*</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	// Order: grouped fields by "order", ratio (order 9) in its own group.
	if h, p, a, r := strings.Index(page, `name="host"`), strings.Index(page, `name="port"`),
		strings.Index(page, `name="api_token"`), strings.Index(page, `name="ratio"`); !(h < p && p < a && a < r) {
		t.Errorf("field order: host %d, port %d, api_token %d, ratio %d; want that order", h, p, a, r)
	}
	if strings.Contains(page, `name="internal"`) || strings.Contains(page, `name="credentials.auth_type" type`) {
		t.Error("the form shows the airbyte_hidden field or the discriminator as an input")
	}
}

// TestSpecFormRowsWithoutJavaScript adds and removes rows with the
// form's own submit buttons: each post re-renders the form with what was
// typed, one more row or one fewer, and nothing else lost.
func TestSpecFormRowsWithoutJavaScript(t *testing.T) {
	e := newWidgetEnv(t)
	form := url.Values{"_definitionId": {e.defID}, "_name": {"rows"}, "host": {"db.example"}, "port": {"6000"},
		"credentials.auth_type": {"none"}, "_rows.replicas": {"0"}, "_action": {"add:replicas"}}
	resp, page := e.post(t, "/sources", form)
	if resp.StatusCode != http.StatusOK || tag(page, "input", "replicas.0.host") == "" {
		t.Fatalf("add row: got %d, want the form with row 0\n%s", resp.StatusCode, page)
	}
	for name, want := range map[string]string{"_name": `value="rows"`, "host": `value="db.example"`, "port": `value="6000"`, "_rows.replicas": `value="1"`} {
		if tg := tag(page, "input", name); !strings.Contains(tg, want) {
			t.Errorf("after add row: %s is %s, want %s", name, tg, want)
		}
	}
	if !strings.Contains(page, `<option value="none" selected>`) {
		t.Error("after add row: the oneOf choice was lost")
	}
	form.Set("_rows.replicas", "1")
	form.Set("replicas.0.host", "first.example")
	form.Set("_action", "add:replicas")
	_, page = e.post(t, "/sources", form)
	if !strings.Contains(tag(page, "input", "replicas.0.host"), `value="first.example"`) || tag(page, "input", "replicas.1.host") == "" {
		t.Fatalf("second add: want row 0 kept and row 1 added\n%s", page)
	}
	form.Set("_rows.replicas", "2")
	form.Set("replicas.1.host", "second.example")
	form.Set("_action", "remove:replicas.0")
	_, page = e.post(t, "/sources", form)
	if got := tag(page, "input", "replicas.0.host"); !strings.Contains(got, `value="second.example"`) || tag(page, "input", "replicas.1.host") != "" {
		t.Fatalf("remove row 0: row 0 is %s and row 1 %q; want the second row alone", got, tag(page, "input", "replicas.1.host"))
	}
	// The oneOf without JavaScript: "Show its fields" re-renders the
	// chosen variant's fields enabled.
	form.Set("credentials.auth_type", "key")
	form.Set("_action", "refresh")
	_, page = e.post(t, "/sources", form)
	if !strings.Contains(page, `<fieldset class="variant" data-variant="key">`) {
		t.Errorf("refresh with the key variant chosen: want its fields enabled\n%s", page)
	}
}

// TestSpecFormValidation posts a form with many problems and finds each
// next to its own field, not only the first; nothing is saved.
func TestSpecFormValidation(t *testing.T) {
	e := newWidgetEnv(t)
	form := validWidgetForm(e)
	form.Set("host", "Not A Host")     // pattern
	form.Set("port", "99999")          // maximum
	form.Set("ratio", "a half")        // not a number
	form.Del("api_token")              // required secret
	form.Del("replicas.1.port")        // required in a row
	form.Del("credentials.api_key")    // required in the chosen variant
	form.Set("updated_after", "today") // pattern
	form.Set("_name", "")
	resp, page := e.post(t, "/sources", form)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid form: got %d, want 400", resp.StatusCode)
	}
	for _, id := range []string{"f-host", "f-port", "f-ratio", "f-api_token", "f-replicas.1.port",
		"f-credentials.api_key", "f-updated_after", "f-_name"} {
		if b := fieldBlock(page, id); !strings.Contains(b, `class="error field-error"`) {
			t.Errorf("%s: no error next to the field\n%s", id, b)
		}
	}
	if !strings.Contains(fieldBlock(page, "f-ratio"), "is not a number") {
		t.Errorf("ratio: want \"is not a number\"\n%s", fieldBlock(page, "f-ratio"))
	}
	if !strings.Contains(page, "type them again") {
		t.Error("the form shown again does not say that typed secrets must be typed again")
	}
	if _, n, _ := e.db.Actors(t.Context(), actorFilter("source")); n != 0 {
		t.Errorf("an invalid form saved %d sources", n)
	}
}

// TestSpecFormSaveEditKeepsSecrets creates a source through the form,
// edits it without retyping a secret (each kept), then changes a row and
// removes another: a row's password stays only in its own unchanged row.
func TestSpecFormSaveEditKeepsSecrets(t *testing.T) {
	e := newWidgetEnv(t)
	resp, _ := e.post(t, "/sources", validWidgetForm(e))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("save: got %d to %q, want 303 to the new source", resp.StatusCode, loc)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/sources/"), "?done=created")
	want := map[string]any{"host": "db.example", "port": 5432.0, "api_token": wTopSecret, "ratio": 0.5,
		"start_date": "2024-01-31", "updated_after": "2024-01-31T10:00:00Z", "query": "select 1\nfrom t",
		"ssl": true, "mode": "fast", "tags": []any{"a", "b"}, "streams": []any{"users", "events"},
		"replicas": []any{
			map[string]any{"host": "r0.example", "port": 5433.0, "password": wRowPassword0},
			map[string]any{"host": "r1.example", "port": 5434.0, "password": wRowPassword1}},
		"tunnel":      map[string]any{"user": "jump", "key": wRefSecret},
		"credentials": map[string]any{"auth_type": "key", "api_key": wVariantKey}, "internal": "hidden-default"}
	if diff := cmp.Diff(want, e.storedConfig(t, id)); diff != "" {
		t.Fatalf("stored config (-want +got):\n%s", diff)
	}
	page := e.get(t, "/sources/"+id+"?done=created")
	if !strings.Contains(page, "Check succeeded.") || !strings.Contains(page, "Created.") {
		t.Errorf("source page after save: want Created and the check's verdict\n%s", page)
	}

	// Edit: the form from the edit page with nothing retyped.
	edit := e.get(t, "/sources/"+id+"/edit")
	for _, name := range []string{"api_token", "credentials.api_key", "replicas.0.password", "tunnel.key"} {
		if tg := tag(edit, "input", name); !strings.Contains(tg, `value=""`) || !strings.Contains(tg, `placeholder="stored`) {
			t.Errorf("edit form: %s is %s, want empty with a stored placeholder", name, tg)
		}
	}
	form := validWidgetForm(e)
	for _, k := range []string{"_definitionId", "api_token", "credentials.api_key", "replicas.0.password", "replicas.1.password", "tunnel.key"} {
		form.Del(k)
	}
	form.Set("_origin.replicas.0", "0")
	form.Set("_origin.replicas.1", "1")
	form.Set("_name", "widgets renamed")
	if resp, page := e.post(t, "/sources/"+id+"/edit", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit without secrets: got %d, want 303\n%s", resp.StatusCode, page)
	}
	if diff := cmp.Diff(want, e.storedConfig(t, id)); diff != "" {
		t.Fatalf("after an edit without secrets, stored config (-want +got):\n%s", diff)
	}

	// Row 0 changes its host; row 1 is removed, so the old row 1 password
	// has nowhere to go and row 0's may not follow the new host.
	form.Set("_rows.replicas", "1")
	form.Set("replicas.0.host", "elsewhere.example")
	for _, k := range []string{"replicas.1.host", "replicas.1.port", "_origin.replicas.1"} {
		form.Del(k)
	}
	if resp, page := e.post(t, "/sources/"+id+"/edit", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit a row: got %d, want 303\n%s", resp.StatusCode, page)
	}
	got := e.storedConfig(t, id)["replicas"]
	if diff := cmp.Diff([]any{map[string]any{"host": "elsewhere.example", "port": 5433.0}}, got); diff != "" {
		t.Errorf("a changed row kept its password (-want +got):\n%s", diff)
	}

	// A row that moved (origin 1 now at index 0) with the same fields as
	// the stored row 0 does not take row 0's password either.
	form = validWidgetForm(e)
	for _, k := range []string{"_definitionId", "api_token", "credentials.api_key", "replicas.0.password", "replicas.1.password", "tunnel.key"} {
		form.Del(k)
	}
	form.Set("_rows.replicas", "1")
	form.Set("replicas.0.host", "elsewhere.example")
	form.Set("_origin.replicas.0", "1")
	for _, k := range []string{"replicas.1.host", "replicas.1.port"} {
		form.Del(k)
	}
	e.post(t, "/sources/"+id+"/edit", form)
	if cfg := e.storedConfig(t, id); cfg["api_token"] != wTopSecret {
		t.Errorf("the top-level secret was not kept: %v", cfg["api_token"])
	}
}

// storedConfig returns a source's plaintext config.
func (e *widgetEnv) storedConfig(t *testing.T, id string) map[string]any {
	t.Helper()
	rc, err := e.db.ActorConfig(t.Context(), "source", id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(rc.Config, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSpecFormTest runs Test on an unsaved form: the page shows the
// connector's verdict and its reason, the secret it quotes masked; then
// a save whose check fails is kept and says why.
func TestSpecFormTest(t *testing.T) {
	e := newWidgetEnv(t)
	form := validWidgetForm(e)
	form.Set("api_token", "wrong-token-1234")
	form.Set("_action", "test")
	resp, page := e.post(t, "/sources", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Check failed.") ||
		!strings.Contains(page, "token ********** refused by the server") || strings.Contains(page, "wrong-token-1234") {
		t.Fatalf("Test with a wrong token: got %d, want the failure with the token masked\n%s", resp.StatusCode, page)
	}
	if _, n, _ := e.db.Actors(t.Context(), actorFilter("source")); n != 0 {
		t.Errorf("Test saved %d sources", n)
	}
	form.Set("_action", "save")
	resp, _ = e.post(t, "/sources", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with a failing check: got %d, want 303", resp.StatusCode)
	}
	page = e.get(t, strings.TrimSuffix(resp.Header.Get("Location"), "?done=created"))
	if !strings.Contains(page, "Check failed.") || !strings.Contains(page, "refused by the server") {
		t.Errorf("the saved source's page does not say its check failed\n%s", page)
	}
}

// TestSpecFormTestShowsCause runs Test with a connector that fails with a
// generic message: the page shows its internal message and its last error
// log lines, the secret they quote masked, and so does the saved source's
// page.
func TestSpecFormTestShowsCause(t *testing.T) {
	e := newWidgetEnv(t)
	e.conns.CheckFn = func(config json.RawMessage) (*protocol.ConnectionStatus, error) {
		var c struct {
			APIToken string `json:"api_token"`
		}
		_ = json.Unmarshal(config, &c)
		return nil, &runner.ConnectorError{Image: "ferry/source-widgets:dev", Command: "check",
			Message: "Something went wrong in the connector. See the logs for more details.",
			Output: runner.Output{
				Errors: []protocol.ErrorTrace{{Message: "Something went wrong", InternalMessage: "login with " + c.APIToken + " answered 401"}},
				Logs:   []protocol.Log{{Level: protocol.LevelError, Message: "GET /widgets token=" + c.APIToken + " status 401"}}}}
	}
	form := validWidgetForm(e)
	form.Set("api_token", "crash-token-5678")
	form.Set("_action", "test")
	resp, page := e.post(t, "/sources", form)
	for _, want := range []string{"Check failed.", "Cause: login with ********** answered 401",
		"last error logs", "GET /widgets token=********** status 401"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("Test: got %d, want %q on the page", resp.StatusCode, want)
		}
	}
	if strings.Contains(page, "crash-token-5678") {
		t.Errorf("Test: the page shows the token\n%s", page)
	}
	form.Set("_action", "save")
	resp, _ = e.post(t, "/sources", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with a failing check: got %d, want 303", resp.StatusCode)
	}
	page = e.get(t, strings.TrimSuffix(resp.Header.Get("Location"), "?done=created"))
	if !strings.Contains(page, "Cause: login with ********** answered 401") || strings.Contains(page, "crash-token-5678") {
		t.Errorf("the saved source's page lacks the masked cause\n%s", page)
	}
}

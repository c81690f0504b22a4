package web

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// Secrets of the widget spec's config, planted by the form tests.
const (
	wTopSecret    = "top-secret-5a1b"
	wVariantKey   = "variant-key-7c2d"
	wRowPassword0 = "row-pw-zero-9e3f"
	wRowPassword1 = "row-pw-one-4b8a"
	wRefSecret    = "ref-secret-6d0c"
)

// widgetSpec holds every widget the form generates: grouped and ordered
// fields, a string with pattern and examples, a date, a date-time, a
// multiline string, an integer and a number with bounds, a boolean, an
// enum, arrays of strings, of enums and of objects, a nested object, a
// oneOf with a const discriminator, a hidden field, and secrets at the
// top level, in a oneOf variant, in an array row and behind a $ref.
const widgetSpec = `{"documentationUrl":"https://example.com/docs","connectionSpecification":{
 "$schema":"http://json-schema.org/draft-07/schema#","title":"Widget test","type":"object",
 "required":["host","port","api_token","credentials"],
 "additionalProperties":false,
 "groups":[{"id":"conn","title":"Connection"},{"id":"adv","title":"Advanced"}],
 "definitions":{"tunnel_key":{"type":"string","airbyte_secret":true,"title":"Tunnel key"}},
 "properties":{
  "ratio":{"type":"number","minimum":0,"maximum":1,"title":"Ratio","order":9,"group":"adv"},
  "host":{"type":"string","title":"Host","description":"The server's name.","pattern":"^[a-z0-9.-]+$","examples":["db.example.com"],"order":0,"group":"conn"},
  "port":{"type":"integer","title":"Port","minimum":1,"maximum":65535,"default":5432,"order":1,"group":"conn"},
  "api_token":{"type":"string","airbyte_secret":true,"title":"API token","order":2,"group":"conn"},
  "start_date":{"type":"string","format":"date","title":"Start date"},
  "updated_after":{"type":"string","format":"date-time","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$","pattern_descriptor":"YYYY-MM-DDTHH:mm:ssZ"},
  "query":{"type":"string","multiline":true,"title":"Query"},
  "ssl":{"type":"boolean","title":"Use SSL","default":true},
  "mode":{"type":"string","enum":["fast","safe"],"default":"safe","title":"Mode"},
  "tags":{"type":"array","items":{"type":"string"},"title":"Tags"},
  "streams":{"type":"array","items":{"type":"string","enum":["users","orders","events"]},"title":"Streams"},
  "replicas":{"type":"array","title":"Replicas","items":{"type":"object","required":["host","port"],"additionalProperties":false,"properties":{
    "host":{"type":"string","title":"Replica host"},"port":{"type":"integer","title":"Replica port","minimum":1},
    "password":{"type":"string","airbyte_secret":true,"title":"Replica password"}}}},
  "tunnel":{"type":"object","title":"Tunnel","properties":{"user":{"type":"string","title":"Tunnel user"},"key":{"$ref":"#/definitions/tunnel_key"}}},
  "credentials":{"type":"object","title":"Authentication","oneOf":[
    {"title":"API key","type":"object","required":["auth_type","api_key"],"properties":{
      "auth_type":{"type":"string","const":"key"},"api_key":{"type":"string","airbyte_secret":true,"title":"API key"}}},
    {"title":"No auth","type":"object","required":["auth_type"],"properties":{"auth_type":{"type":"string","const":"none"}}}]},
  "internal":{"type":"string","airbyte_hidden":true,"default":"hidden-default"}
 }}}`

// widgetSecrets are the values no page may show.
var widgetSecrets = []string{wTopSecret, wVariantKey, wRowPassword0, wRowPassword1, wRefSecret}

// widgetEnv is a server whose source definition has widgetSpec, logged
// in, with the connector's check recording the configs it gets.
type widgetEnv struct {
	*testEnv
	cookie *http.Cookie
	csrf   string
	defID  string
	checks []json.RawMessage
}

func newWidgetEnv(t *testing.T) *widgetEnv {
	t.Helper()
	e := &widgetEnv{testEnv: newEnv(t)}
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		return &SpecResult{Spec: json.RawMessage(widgetSpec), ImageID: "sha256:widgets"}, nil
	}
	e.conns.CheckFn = func(config json.RawMessage) (*protocol.ConnectionStatus, error) {
		e.checks = append(e.checks, config)
		var c struct {
			APIToken string `json:"api_token"`
		}
		_ = json.Unmarshal(config, &c)
		if c.APIToken != wTopSecret {
			return &protocol.ConnectionStatus{Status: protocol.StatusFailed, Message: "token " + c.APIToken + " refused by the server"}, nil
		}
		return &protocol.ConnectionStatus{Status: protocol.StatusSucceeded}, nil
	}
	e.defID = e.createDefinition("source", "source-widgets")
	e.cookie, e.csrf = e.login(t)
	return e
}

// get fetches a page that must answer 200.
func (e *widgetEnv) get(t *testing.T, path string) string {
	t.Helper()
	resp, body := e.page(t, "GET", path, e.cookie, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200\n%s", path, resp.StatusCode, body)
	}
	checkNoValues(t, "GET "+path, body, widgetSecrets)
	return body
}

// post sends a form with the CSRF token and returns the response.
func (e *widgetEnv) post(t *testing.T, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", e.csrf)
	resp, body := e.page(t, "POST", path, e.cookie, form)
	checkNoValues(t, "POST "+path, body, widgetSecrets)
	return resp, body
}

// checkNoValues fails when html holds any of the values.
func checkNoValues(t *testing.T, where, html string, values []string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(html, v) {
			t.Errorf("%s: the page holds the secret %q", where, v)
		}
	}
}

// tag returns the start tag of the element (input, select, textarea)
// with the given name attribute, or "".
func tag(page, elem, name string) string {
	re := regexp.MustCompile(`<` + elem + `\b[^>]*\bname="` + regexp.QuoteMeta(html.EscapeString(name)) + `"[^>]*>`)
	return re.FindString(page)
}

// fieldBlock returns the markup of the field whose input has id id, up
// to the next field: where its help and errors are.
func fieldBlock(page, id string) string {
	i := strings.Index(page, `id="`+id+`-field"`)
	if i < 0 {
		i = strings.Index(page, `id="`+id+`"`)
	}
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], `class="field`); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

// validWidgetForm is a complete form for the widget spec: two replicas,
// the API key variant, every secret set.
func validWidgetForm(e *widgetEnv) url.Values {
	return url.Values{
		"_definitionId": {e.defID}, "_name": {"widgets"}, "_action": {"save"},
		"host": {"db.example"}, "port": {"5432"}, "api_token": {wTopSecret}, "ratio": {"0.5"},
		"start_date": {"2024-01-31"}, "updated_after": {"2024-01-31T10:00:00Z"}, "query": {"select 1\nfrom t"},
		"ssl": {"true"}, "mode": {"fast"}, "_rows.tags": {"2"}, "tags.0": {"a"}, "tags.1": {"b"},
		"streams": {"users", "events"}, "_rows.replicas": {"2"},
		"replicas.0.host": {"r0.example"}, "replicas.0.port": {"5433"}, "replicas.0.password": {wRowPassword0},
		"replicas.1.host": {"r1.example"}, "replicas.1.port": {"5434"}, "replicas.1.password": {wRowPassword1},
		"tunnel.user": {"jump"}, "tunnel.key": {wRefSecret},
		"credentials.auth_type": {"key"}, "credentials.api_key": {wVariantKey},
	}
}

func actorFilter(kind store.ActorKind) store.ActorFilter { return store.ActorFilter{Kind: kind} }

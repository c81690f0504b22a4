package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/store"
)

// TestBadInput verifies every class of bad request gets a JSON error with
// the right status, a message, and the field when there is one.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	big := `{"name":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		want               int
		field              string
	}{
		{"malformed JSON", "POST", "/api/v1/definitions", `{"name":`, 400, ""},
		{"syntax error", "POST", "/api/v1/definitions", `{"name" "x"}`, 400, ""},
		{"unknown field", "POST", "/api/v1/definitions", `{"name":"x","kind":"source","image":"i","bogus":1}`, 400, "bogus"},
		{"wrong type", "POST", "/api/v1/definitions", `{"name":5}`, 400, "name"},
		{"nested wrong type", "POST", "/api/v1/connections", `{"schedule":{"intervalSeconds":"often"}}`, 400, "schedule.intervalSeconds"},
		{"data after the object", "POST", "/api/v1/jobs", `{"connectionId":"x"} {}`, 400, ""},
		{"empty body", "POST", "/api/v1/jobs", "", 400, ""},
		{"array body", "POST", "/api/v1/jobs", `[]`, 400, ""},
		{"oversized body", "POST", "/api/v1/definitions", big, 413, ""},
		{"invalid kind", "POST", "/api/v1/definitions", `{"name":"x","kind":"sink","image":"i"}`, 400, "kind"},
		{"missing name", "POST", "/api/v1/sources", map[string]any{"definitionId": f.srcDef, "configuration": srcConfig()}, 400, "name"},
		{"unknown definition", "POST", "/api/v1/sources", map[string]any{"name": "s", "definitionId": "00000000-0000-0000-0000-000000000000", "configuration": srcConfig()}, 400, "definitionId"},
		{"config not an object", "POST", "/api/v1/sources", map[string]any{"name": "s", "definitionId": f.srcDef, "configuration": "x"}, 400, "configuration"},
		{"wrong kind of definition", "POST", "/api/v1/destinations", map[string]any{"name": "d", "definitionId": f.srcDef, "configuration": dstConfig()}, 400, "definitionId"},
		{"unknown connection in job", "POST", "/api/v1/jobs", map[string]any{"connectionId": "nope", "jobType": "sync"}, 400, "connectionId"},
		{"bad job type", "POST", "/api/v1/jobs", map[string]any{"connectionId": f.conn, "jobType": "rewind"}, 400, "jobType"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", nil, 400, "limit"},
		{"limit over 100", "GET", "/api/v1/connections?limit=101", nil, 400, "limit"},
		{"bad offset", "GET", "/api/v1/sources?offset=-1", nil, 400, "offset"},
		{"bad status filter", "GET", "/api/v1/jobs?status=done", nil, 400, "status"},
		{"bad time filter", "GET", "/api/v1/jobs?createdAtStart=yesterday", nil, 400, "createdAtStart"},
		{"bad job id", "GET", "/api/v1/jobs/abc", nil, 400, "jobId"},
		{"bad attempt number", "GET", "/api/v1/jobs/1/attempts/x/logs", nil, 400, "attemptNumber"},
		{"bad refresh flag", "GET", "/api/v1/sources/" + f.src + "/streams?refresh=maybe", nil, 400, "refresh"},
		{"streams without source", "GET", "/api/v1/streams", nil, 400, "sourceId"},
		{"unknown definition id", "GET", "/api/v1/definitions/00000000-0000-0000-0000-000000000000", nil, 404, ""},
		{"unknown source id", "GET", "/api/v1/sources/nope", nil, 404, ""},
		{"source id as destination", "GET", "/api/v1/destinations/" + f.src, nil, 404, ""},
		{"unknown connection id", "DELETE", "/api/v1/connections/nope", nil, 404, ""},
		{"unknown job id", "GET", "/api/v1/jobs/999", nil, 404, ""},
		{"unknown job cancel", "DELETE", "/api/v1/jobs/999", nil, 404, ""},
		{"unknown connection state", "GET", "/api/v1/connections/nope/state", nil, 404, ""},
		{"unknown route", "GET", "/api/v1/widgets", nil, 404, ""},
		{"method not allowed", "PATCH", "/api/v1/jobs", nil, 405, ""},
		{"duplicate definition name", "POST", "/api/v1/definitions", `{"name":"source-test","kind":"source","image":"i"}`, 409, ""},
		{"delete a used definition", "DELETE", "/api/v1/definitions/" + f.srcDef, nil, 409, ""},
		{"delete a used source", "DELETE", "/api/v1/sources/" + f.src, nil, 409, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ae := e.fail(t, c.method, c.path, c.body, c.want)
			if ae.Field != c.field {
				t.Errorf("got field %q, want %q (message %q)", ae.Field, c.field, ae.Message)
			}
		})
	}
}

// TestUnsupportedMediaType verifies a non-JSON body is refused with 415.
func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.url+"/api/v1/definitions", strings.NewReader("name=x"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Fatalf("got status %d, want 415", resp.StatusCode)
	}
}

// brokenStore fails the definition list with an error whose text must not
// reach the client.
type brokenStore struct {
	Store
	err error
}

func (b brokenStore) Definitions(context.Context, store.DefinitionFilter) ([]*store.Definition, int, error) {
	return nil, 0, b.err
}

func (b brokenStore) Connections(context.Context, store.ConnectionFilter) ([]*store.Connection, int, error) {
	panic("connections exploded")
}

// TestInternalErrorsAreHidden verifies that an unexpected error is a 500
// saying only "internal error", with the detail in the log; and that a
// panic is one too.
func TestInternalErrorsAreHidden(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Store = brokenStore{Store: c.Store, err: errors.New("disk on fire at /var/lib/ferry/ferry.db")}
	})
	ae := e.fail(t, "GET", "/api/v1/definitions", nil, 500)
	if ae.Message != "internal error" {
		t.Errorf("got message %q, want %q", ae.Message, "internal error")
	}
	if !strings.Contains(e.log.String(), "disk on fire") {
		t.Errorf("the log lacks the error detail; log:\n%s", e.log.String())
	}
	ae = e.fail(t, "GET", "/api/v1/connections", nil, 500)
	if ae.Message != "internal error" {
		t.Errorf("after a panic: got message %q, want %q", ae.Message, "internal error")
	}
}

// TestStorageFull verifies a full disk is reported as such, 507.
func TestStorageFull(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Store = brokenStore{Store: c.Store, err: store.ErrStorageFull}
	})
	e.fail(t, "GET", "/api/v1/definitions", nil, 507)
}

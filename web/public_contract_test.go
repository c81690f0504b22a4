package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// publicCall is one call of a required operation of Airbyte's public API:
// the document's path template, the concrete path under /api/public/v1,
// and the status Airbyte's document gives for success.
type publicCall struct {
	method, tpl, path string
	body              any
	status            int
}

// TestPublicAPIContract drives every required operation of Airbyte's
// public API v1 through /api/public/v1, over HTTP on a real store, and
// validates each response against the schema Airbyte's document gives it.
func TestPublicAPIContract(t *testing.T) {
	spec := loadPublicSpec(t)
	e := newEnv(t)
	ws := e.workspace()
	srcDef := e.createDefinitionShort("source", "source-test", "test")
	dstDef := e.createDefinitionShort("destination", "destination-test", "testdst")

	var out map[string]any
	call := func(c publicCall) []byte {
		t.Helper()
		b := e.do(t, c.method, publicPrefix+c.path, c.body, c.status, nil)
		if s := spec.responseSchema(t, c.method, c.tpl, c.status); s != nil {
			validate(t, c.method+" "+c.tpl, s, b)
		}
		out = map[string]any{}
		_ = json.Unmarshal(b, &out)
		return b
	}
	call(publicCall{"GET", "/health", "/health", nil, 200})
	call(publicCall{"GET", "/workspaces", "/workspaces", nil, 200})
	call(publicCall{"GET", "/workspaces/{workspaceId}", "/workspaces/" + ws, nil, 200})
	call(publicCall{"GET", "/workspaces/{workspaceId}/definitions/sources", "/workspaces/" + ws + "/definitions/sources", nil, 200})
	call(publicCall{"GET", "/workspaces/{workspaceId}/definitions/sources/{definitionId}", "/workspaces/" + ws + "/definitions/sources/" + srcDef, nil, 200})
	call(publicCall{"GET", "/workspaces/{workspaceId}/definitions/destinations", "/workspaces/" + ws + "/definitions/destinations", nil, 200})
	call(publicCall{"GET", "/workspaces/{workspaceId}/definitions/destinations/{definitionId}", "/workspaces/" + ws + "/definitions/destinations/" + dstDef, nil, 200})

	// A source by the connector's short name, a destination by definition id.
	srcCfg := srcConfig()
	srcCfg["sourceType"] = "test"
	call(publicCall{"POST", "/sources", "/sources", map[string]any{"name": "src", "workspaceId": ws, "configuration": srcCfg,
		"resourceAllocation": map[string]any{}, "secretId": "ignored"}, 200})
	src := out["sourceId"].(string)
	if out["definitionId"] != srcDef || out["sourceType"] != "test" {
		t.Errorf("source by short name: %v", out)
	}
	call(publicCall{"GET", "/sources", "/sources?workspaceIds=" + ws, nil, 200})
	call(publicCall{"GET", "/sources/{sourceId}", "/sources/" + src, nil, 200})
	call(publicCall{"PATCH", "/sources/{sourceId}", "/sources/" + src, map[string]any{"name": "src2"}, 200})
	call(publicCall{"PUT", "/sources/{sourceId}", "/sources/" + src, map[string]any{"name": "src3", "configuration": srcConfig()}, 200})
	call(publicCall{"POST", "/destinations", "/destinations", map[string]any{"name": "dst", "workspaceId": ws,
		"definitionId": dstDef, "configuration": dstConfig()}, 200})
	dst := out["destinationId"].(string)
	call(publicCall{"GET", "/destinations", "/destinations", nil, 200})
	call(publicCall{"GET", "/destinations/{destinationId}", "/destinations/" + dst, nil, 200})
	call(publicCall{"PATCH", "/destinations/{destinationId}", "/destinations/" + dst, map[string]any{"name": "dst2"}, 200})
	call(publicCall{"PUT", "/destinations/{destinationId}", "/destinations/" + dst, map[string]any{"name": "dst3", "configuration": dstConfig()}, 200})
	call(publicCall{"GET", "/streams", "/streams?sourceId=" + src + "&destinationId=" + dst + "&ignoreCache=true", nil, 200})

	call(publicCall{"POST", "/connections", "/connections", map[string]any{"sourceId": src, "destinationId": dst, "name": "c",
		"nonBreakingSchemaUpdatesBehavior": "propagate_columns", "dataResidency": "auto", "namespaceDefinition": "custom_format",
		"namespaceFormat": "${SOURCE_NAMESPACE}_x", "schedule": map[string]any{"scheduleType": "manual"},
		"configurations": map[string]any{"streams": []any{map[string]any{"name": "users", "syncMode": "incremental_append",
			"cursorField": []string{"updated_at"}, "mappers": []any{}, "includeFiles": false}}},
		"tags": []any{map[string]any{"tagId": "5f0e6ed4-4f50-4a8b-9d89-bf1b1ed7c1a4", "workspaceId": ws, "name": "prod", "color": "FF5733"}}}, 200})
	conn := out["connectionId"].(string)
	if out["nonBreakingSchemaUpdatesBehavior"] != "propagate_columns" || out["namespaceDefinition"] != "custom_format" || out["workspaceId"] != ws {
		t.Errorf("created connection: %v", out)
	}
	call(publicCall{"GET", "/connections", "/connections?workspaceIds=" + ws, nil, 200})
	call(publicCall{"GET", "/connections/{connectionId}", "/connections/" + conn, nil, 200})
	call(publicCall{"PATCH", "/connections/{connectionId}", "/connections/" + conn, map[string]any{
		"schedule": map[string]any{"scheduleType": "basic", "basicTiming": "Every 2 hours"}}, 200})
	if sc, _ := out["schedule"].(map[string]any); sc["scheduleType"] != "basic" || sc["basicTiming"] != "Every 2 hours" {
		t.Errorf("an interval schedule reads %v, want basic every 2 hours", sc)
	}

	call(publicCall{"POST", "/jobs", "/jobs", map[string]any{"connectionId": conn, "jobType": "sync"}, 200})
	job := jsonScalar(out["jobId"])
	call(publicCall{"GET", "/jobs", "/jobs?connectionId=" + conn + "&jobType=sync&status=pending&orderBy=createdAt%7CDESC&limit=5&offset=0", nil, 200})
	if data, _ := out["data"].([]any); len(data) != 1 {
		t.Errorf("jobs list: %v, want the one job", out)
	}
	call(publicCall{"GET", "/jobs/{jobId}", "/jobs/" + job, nil, 200})
	call(publicCall{"DELETE", "/jobs/{jobId}", "/jobs/" + job, nil, 200})
	for _, typ := range []string{"reset", "clear", "refresh"} {
		call(publicCall{"POST", "/jobs", "/jobs", map[string]any{"connectionId": conn, "jobType": typ}, 200})
		call(publicCall{"DELETE", "/jobs/{jobId}", "/jobs/" + jsonScalar(out["jobId"]), nil, 200})
	}

	// Deletes: a source in use is a 409 naming the connection; the
	// connection's jobs outlive it.
	resp, b := e.request(t, "DELETE", publicPrefix+"/sources/"+src, nil)
	if resp.StatusCode != 409 || !strings.Contains(string(b), conn) || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("deleting a source in use: %d %s, want a 409 problem naming %s", resp.StatusCode, b, conn)
	}
	call(publicCall{"DELETE", "/connections/{connectionId}", "/connections/" + conn, nil, 204})
	call(publicCall{"GET", "/jobs/{jobId}", "/jobs/" + job, nil, 200})
	call(publicCall{"DELETE", "/sources/{sourceId}", "/sources/" + src, nil, 204})
	call(publicCall{"DELETE", "/destinations/{destinationId}", "/destinations/" + dst, nil, 204})
}

// TestPublicAPIExamples sends the request examples of Airbyte's document,
// as they are, to the required operations: none may be refused as a bad
// request. Their ids name nothing here, so a 404 is the right answer.
func TestPublicAPIExamples(t *testing.T) {
	spec := loadPublicSpec(t)
	e := newEnv(t)
	e.fixture()
	const unknown = "3d93b16c-ff5f-421c-8908-5a3c82088f14"
	ops := []struct{ method, tpl string }{
		{"POST", "/sources"}, {"PATCH", "/sources/{sourceId}"}, {"PUT", "/sources/{sourceId}"},
		{"POST", "/destinations"}, {"PATCH", "/destinations/{destinationId}"}, {"PUT", "/destinations/{destinationId}"},
		{"POST", "/connections"}, {"PATCH", "/connections/{connectionId}"},
		{"POST", "/jobs"}, {"GET", "/jobs"}, {"GET", "/sources"}, {"PATCH", "/workspaces/{workspaceId}"},
	}
	sent := 0
	for _, op := range ops {
		path := publicPrefix + strings.NewReplacer("{sourceId}", unknown, "{destinationId}", unknown,
			"{connectionId}", unknown, "{workspaceId}", unknown).Replace(op.tpl)
		if q := spec.queryExamples(t, op.method, op.tpl); q != "" {
			path += "?" + q
		}
		bodies := spec.requestExamples(t, op.method, op.tpl)
		if op.method == "GET" {
			bodies = []any{nil}
		}
		for _, body := range bodies {
			resp, b := e.request(t, op.method, path, body)
			sent++
			if resp.StatusCode == http.StatusBadRequest || resp.StatusCode >= 500 {
				t.Errorf("%s %s with the document's example %v: %d %s", op.method, path, body, resp.StatusCode, b)
			}
		}
	}
	if sent < len(ops) {
		t.Errorf("sent %d examples for %d operations", sent, len(ops))
	}
}

// TestGetThenPutUnchanged verifies the scripting pattern on both APIs: a
// GET sent back as it is, by PUT or PATCH, succeeds and changes nothing.
func TestGetThenPutUnchanged(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	e.do(t, "PATCH", "/api/v1/connections/"+f.conn, map[string]any{
		"schedule": map[string]any{"scheduleType": "interval", "intervalSeconds": 7200}}, 200, nil)
	ignore := cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "updatedAt" || k == "nextRunAt" })
	for _, prefix := range []string{apiPrefix, publicPrefix} {
		for _, res := range []string{"/connections/" + f.conn, "/sources/" + f.src, "/destinations/" + f.dst} {
			for _, method := range []string{"PUT", "PATCH"} {
				if method == "PUT" && prefix == publicPrefix && strings.HasPrefix(res, "/connections/") {
					continue // Airbyte's document has no PUT of a connection
				}
				var before, after, sent map[string]any
				e.do(t, "GET", prefix+res, nil, 200, &before)
				e.do(t, method, prefix+res, before, 200, &sent)
				e.do(t, "GET", prefix+res, nil, 200, &after)
				if diff := cmp.Diff(before, after, ignore); diff != "" {
					t.Errorf("%s %s of its own GET changed it (-before +after):\n%s", method, prefix+res, diff)
				}
				if diff := cmp.Diff(before, sent, ignore); diff != "" {
					t.Errorf("%s %s answered another object (-before +answer):\n%s", method, prefix+res, diff)
				}
			}
		}
	}
}

// TestPublicAPIErrors verifies Airbyte's error shape, the 501 of what
// Ferry lacks and the 404 of an id a body names.
func TestPublicAPIErrors(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"POST", "/connections", map[string]any{"sourceId": f.src, "destinationId": "8b9b1c3e-0000-4000-8000-000000000000"}, 404, "destinationId"},
		{"POST", "/connections", map[string]any{"sourceId": f.src, "destinationId": f.dst,
			"configurations": map[string]any{"streams": []any{map[string]any{"name": "users", "syncMode": "sometimes"}}}}, 400, "configurations.streams[0].syncMode"},
		{"POST", "/jobs", map[string]any{"connectionId": f.conn, "jobType": "vacuum"}, 400, "jobType"},
		{"GET", "/jobs?orderBy=name%7CASC", nil, 400, "orderBy"},
		{"GET", "/tags", nil, 501, ""},
		{"POST", "/workspaces", map[string]any{"name": "second"}, 501, ""},
		{"GET", "/nothing", nil, 404, ""},
	} {
		var p problemBody
		e.do(t, c.method, publicPrefix+c.path, c.body, c.status, &p)
		if p.Status != c.status || p.Title == "" || p.Detail == "" || p.Type == "" || p.Field != c.field {
			t.Errorf("%s %s: %+v, want a %d problem naming %q", c.method, c.path, p, c.status, c.field)
		}
	}
	// Ferry's own API keeps its shape and its 400 for a body's unknown id.
	ae := e.fail(t, "POST", "/api/v1/connections", map[string]any{"sourceId": f.src, "destinationId": "8b9b1c3e-0000-4000-8000-000000000000"}, 400)
	if ae.Field != "destinationId" {
		t.Errorf("got %+v", ae)
	}
}

// createDefinitionShort registers a definition with a short name.
func (e *testEnv) createDefinitionShort(kind, name, short string) string {
	e.t.Helper()
	var d definitionJSON
	e.do(e.t, "POST", "/api/v1/definitions", map[string]any{"name": name, "kind": kind, "image": "ferry/" + name + ":dev",
		"shortName": short}, 201, &d)
	return d.DefinitionID
}

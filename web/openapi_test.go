package web

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
)

type openAPI struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes verifies that every route the server serves is
// in the document and every operation in the document is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	var served []string
	err := e.srv.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || strings.HasPrefix(route.GetName(), uiRouteName+" ") {
			return nil // the UI's pages are not API
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			if m != "HEAD" { // HEAD comes with GET
				served = append(served, m+" "+tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	doc := loadOpenAPI(t)
	for p, item := range doc.Paths {
		if ref, ok := item["$ref"]; ok {
			// The public prefix's paths are the same operations as Ferry's.
			var ptr string
			_ = json.Unmarshal(ref, &ptr)
			item = doc.Paths[unescapePointer(strings.TrimPrefix(ptr, "#/paths/"))]
			if item == nil {
				t.Errorf("path %s: $ref %s names no path", p, ptr)
			}
		}
		for m := range item {
			switch m {
			case "get", "put", "post", "patch", "delete":
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("routes (-documented +served):\n%s", diff)
	}
}

// TestOpenAPIRefsResolve verifies every $ref points at a component.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				var cur any = doc
				for _, p := range parts {
					m, _ := cur.(map[string]any)
					cur = m[unescapePointer(p)]
				}
				if cur == nil {
					t.Errorf("$ref %s resolves to nothing", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
}

// unescapePointer decodes one JSON Pointer token.
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPISchemasMatchTypes verifies the documented bodies list the
// same fields as the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	pairs := map[string]any{
		"Error": errorBody{}, "Definition": definitionJSON{}, "DefinitionRequest": definitionRequest{},
		"Resources": resourcesJSON{}, "Spec": specJSON{}, "CheckResult": checkJSON{},
		"StreamProperties": streamJSON{}, "Streams": streamsJSON{}, "Connection": connectionJSON{},
		"ConnectionRequest": connectionRequest{}, "StreamConfiguration": streamConfigJSON{},
		"Schedule": scheduleJSON{}, "Timeouts": timeoutsJSON{}, "Job": jobJSON{}, "JobRequest": jobRequest{},
		"Attempt": attemptJSON{}, "State": stateJSON{}, "StateRequest": stateRequest{},
		"ClearStateRequest": clearRequest{}, "Workspace": workspaceJSON{}, "WorkspaceRequest": workspaceRequest{},
		"PublicDefinition": publicDefinitionJSON{}, "Problem": problemBody{},
	}
	for name, v := range pairs {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is not documented", name)
			continue
		}
		var documented []string
		for p := range s.Properties {
			documented = append(documented, p)
		}
		slices.Sort(documented)
		if diff := cmp.Diff(documented, jsonFields(v)); diff != "" {
			t.Errorf("schema %s fields (-documented +encoded):\n%s", name, diff)
		}
	}
}

// TestOpenAPIServed verifies the document is served as embedded.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	resp, b := e.request(t, "GET", "/api/v1/openapi.json", nil)
	if resp.StatusCode != 200 || string(b) != string(openAPIDoc) {
		t.Fatalf("got %d and %d bytes, want 200 and the %d-byte document", resp.StatusCode, len(b), len(openAPIDoc))
	}
}

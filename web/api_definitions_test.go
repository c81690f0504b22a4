package web

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// TestDefinitionsCRUD walks a definition through create (reading its spec
// and IPC options from the connector), get, list, PATCH, PUT and delete.
func TestDefinitionsCRUD(t *testing.T) {
	e := newEnv(t)
	ipc := &protocol.IPCOptions{DataChannel: protocol.DataChannel{Version: "0.0.2",
		SupportedSerialization: []string{"JSONL"}, SupportedTransport: []string{"SOCKET", "STDIO"}}}
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		return &SpecResult{Spec: json.RawMessage(srcSpec), ImageID: "sha256:" + def.Image, IPCOptions: ipc}, nil
	}
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "faker", "kind": "source",
		"image": "ferry/source-faker:dev", "resources": map[string]any{"memoryBytes": 1 << 28, "cpus": 0.5}}, 201, &d)
	want := definitionJSON{DefinitionID: d.DefinitionID, Name: "faker", Kind: "source", Image: "ferry/source-faker:dev",
		IPCOptions: ipc, Resources: resourcesJSON{1 << 28, 0.5}, SpecCached: true, SpecImageID: "sha256:ferry/source-faker:dev", Hardening: "auto",
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("created definition (-want +got):\n%s", diff)
	}

	var got definitionJSON
	e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID, nil, 200, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}

	var list listResponse[definitionJSON]
	e.do(t, "GET", "/api/v1/definitions?kind=source", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].DefinitionID != d.DefinitionID {
		t.Errorf("got list %+v, want the one definition", list.Data)
	}
	e.do(t, "GET", "/api/v1/definitions?kind=destination", nil, 200, &list)
	if len(list.Data) != 0 {
		t.Errorf("got %d destination definitions, want 0", len(list.Data))
	}

	// PATCH the name only: the rest stays, the spec is not read again.
	before := e.conns.specs.Load()
	e.do(t, "PATCH", "/api/v1/definitions/"+d.DefinitionID, map[string]any{"name": "faker2"}, 200, &got)
	if got.Name != "faker2" || got.Image != want.Image || got.Resources != want.Resources || !got.SpecCached {
		t.Errorf("after PATCH got %+v, want the name changed and the rest kept", got)
	}
	if n := e.conns.specs.Load() - before; n != 0 {
		t.Errorf("PATCH of the name read the spec %d times, want 0", n)
	}

	// PUT with a new image: the spec is read again, resources reset.
	e.do(t, "PUT", "/api/v1/definitions/"+d.DefinitionID, map[string]any{"name": "faker3", "kind": "source",
		"image": "ferry/source-faker:v2"}, 200, &got)
	if got.Name != "faker3" || got.SpecImageID != "sha256:ferry/source-faker:v2" || got.Resources != (resourcesJSON{}) {
		t.Errorf("after PUT got %+v, want the new name, a spec of the new image, no resources", got)
	}
	e.fail(t, "PUT", "/api/v1/definitions/"+d.DefinitionID, map[string]any{"name": "x", "kind": "destination", "image": "i"}, 400)

	e.do(t, "DELETE", "/api/v1/definitions/"+d.DefinitionID, nil, 204, nil)
	e.fail(t, "GET", "/api/v1/definitions/"+d.DefinitionID, nil, 404)
}

// TestDefinitionWithoutRunnableImage verifies that a definition whose
// spec cannot be read is still registered, saying why, and that the spec
// endpoint reads it later.
func TestDefinitionWithoutRunnableImage(t *testing.T) {
	e := newEnv(t)
	e.conns.SpecFn = func(*store.Definition) (*SpecResult, error) {
		return nil, errors.New("image ferry/x:dev not found: build it with make images")
	}
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "x", "kind": "source", "image": "ferry/x:dev"}, 201, &d)
	if d.SpecCached || !strings.Contains(d.SpecError, "make images") {
		t.Fatalf("got specCached %v specError %q, want false and the connector's error", d.SpecCached, d.SpecError)
	}
	ae := e.fail(t, "GET", "/api/v1/definitions/"+d.DefinitionID+"/spec", nil, 502)
	if !strings.Contains(ae.Message, "make images") {
		t.Errorf("got message %q, want the connector's error", ae.Message)
	}
	// A source cannot be configured until the spec is known.
	e.fail(t, "POST", "/api/v1/sources", map[string]any{"name": "s", "definitionId": d.DefinitionID, "configuration": srcConfig()}, 502)

	e.conns.SpecFn = nil
	var sp specJSON
	e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID+"/spec", nil, 200, &sp)
	if sp.SpecImageID != "sha256:ferry/x:dev" || !strings.Contains(string(sp.Spec), "connectionSpecification") {
		t.Errorf("got %+v, want the spec read from the connector", sp)
	}
	e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID, nil, 200, &d)
	if !d.SpecCached {
		t.Error("the spec was not cached")
	}
}

// TestDefinitionSpecCachedAndRefreshed verifies GET .../spec serves the
// cached spec and runs the connector again only with ?refresh=true, and
// that a spec sent in the request is used without running it.
func TestDefinitionSpecCachedAndRefreshed(t *testing.T) {
	e := newEnv(t)
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "d", "kind": "destination", "image": "ferry/d:dev",
		"spec": json.RawMessage(dstSpec)}, 201, &d)
	if n := e.conns.specs.Load(); n != 0 {
		t.Fatalf("a definition created with its spec ran spec %d times, want 0", n)
	}
	var sp specJSON
	e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID+"/spec", nil, 200, &sp)
	if n := e.conns.specs.Load(); n != 0 {
		t.Errorf("GET spec of a cached spec ran spec %d times, want 0", n)
	}
	e.do(t, "GET", "/api/v1/definitions/"+d.DefinitionID+"/spec?refresh=true", nil, 200, &sp)
	if n := e.conns.specs.Load(); n != 1 {
		t.Errorf("GET spec?refresh=true ran spec %d times, want 1", n)
	}
	if sp.SpecImageID != "sha256:ferry/d:dev" {
		t.Errorf("got specImageId %q, want the refreshed one", sp.SpecImageID)
	}
}

package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/store"
)

// TestDefinitionHardeningAPI sets a definition's hardening through the
// API: auto at first, then strict and compatible by PATCH (stored as
// such), auto again (stored empty); an unknown level is a 400 naming the
// field and changes nothing.
func TestDefinitionHardeningAPI(t *testing.T) {
	e := newEnv(t)
	e.conns.SpecFn = func(def *store.Definition) (*SpecResult, error) {
		return &SpecResult{Spec: json.RawMessage(srcSpec), ImageID: "sha256:x"}, nil
	}
	var d definitionJSON
	e.do(t, "POST", "/api/v1/definitions", map[string]any{"name": "pg", "kind": "source", "image": "airbyte/source-postgres:3.6.0"}, 201, &d)
	if d.Hardening != "auto" {
		t.Fatalf("new definition: hardening %q, want auto", d.Hardening)
	}
	for _, step := range []struct{ set, stored string }{{"strict", "strict"}, {"compatible", "compatible"}, {"auto", ""}} {
		var got definitionJSON
		e.do(t, "PATCH", "/api/v1/definitions/"+d.DefinitionID, map[string]any{"hardening": step.set}, 200, &got)
		if got.Hardening != step.set {
			t.Errorf("PATCH hardening %s: answered %q", step.set, got.Hardening)
		}
		stored, err := e.db.Definition(context.Background(), d.DefinitionID)
		if err != nil || stored.Hardening != step.stored {
			t.Errorf("PATCH hardening %s: stored %q (%v), want %q", step.set, stored.Hardening, err, step.stored)
		}
	}
	var problem map[string]any
	e.do(t, "PATCH", "/api/v1/definitions/"+d.DefinitionID, map[string]any{"hardening": "root"}, 400, &problem)
	if b, _ := json.Marshal(problem); !strings.Contains(string(b), "hardening") {
		t.Errorf("PATCH hardening root: %s, want an error naming hardening", b)
	}
	if stored, _ := e.db.Definition(context.Background(), d.DefinitionID); stored.Hardening != "" {
		t.Errorf("after a refused PATCH: stored %q, want it unchanged (empty)", stored.Hardening)
	}
}

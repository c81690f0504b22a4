package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/store"
)

// storedConfig returns the plaintext config the store holds.
func (e *testEnv) storedConfig(t *testing.T, kind store.ActorKind, id string) map[string]any {
	t.Helper()
	rc, err := e.db.ActorConfig(context.Background(), kind, id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(rc.Config, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func configOf(t *testing.T, a actorJSON) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Configuration, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSourceCRUD verifies that sources come back with secrets masked at
// every depth, that an update sending the mask keeps the stored secret,
// and the rest of the lifecycle.
func TestSourceCRUD(t *testing.T) {
	e := newEnv(t)
	def := e.createDefinition("source", "pg")
	var a actorJSON
	e.do(t, "POST", "/api/v1/sources", map[string]any{"name": "prod", "definitionId": def,
		"configuration": srcConfig(), "workspaceId": e.workspace()}, 201, &a)
	wantCfg := map[string]any{"host": "db.example", "port": 5432.0, "password": store.Mask,
		"credentials": map[string]any{"auth_type": "key", "api_key": store.Mask}}
	if diff := cmp.Diff(wantCfg, configOf(t, a)); diff != "" {
		t.Errorf("created configuration (-want +got):\n%s", diff)
	}
	if a.SourceType != "pg" || a.DefinitionID != def || a.Name != "prod" || a.DestinationID != "" {
		t.Errorf("got %+v, want source type pg, the definition, name prod", a)
	}
	if got := e.storedConfig(t, store.KindSource, a.SourceID)["password"]; got != srcPassword {
		t.Errorf("stored password %v, want the plaintext", got)
	}

	var got actorJSON
	e.do(t, "GET", "/api/v1/sources/"+a.SourceID, nil, 200, &got)
	if diff := cmp.Diff(wantCfg, configOf(t, got)); diff != "" {
		t.Errorf("GET configuration (-want +got):\n%s", diff)
	}
	var list listResponse[actorJSON]
	e.do(t, "GET", "/api/v1/sources", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].SourceType != "pg" {
		t.Fatalf("got list %+v, want the one source", list.Data)
	}

	// PUT back what GET returned, with another host: secrets kept.
	cfg := configOf(t, got)
	cfg["host"] = "replica.example"
	e.do(t, "PUT", "/api/v1/sources/"+a.SourceID, map[string]any{"name": "prod2", "configuration": cfg}, 200, &got)
	stored := e.storedConfig(t, store.KindSource, a.SourceID)
	if stored["host"] != "replica.example" || stored["password"] != srcPassword ||
		stored["credentials"].(map[string]any)["api_key"] != srcAPIKey {
		t.Errorf("after PUT with masks the store holds %v, want the new host and the old secrets", stored)
	}
	if got.Name != "prod2" {
		t.Errorf("got name %q, want prod2", got.Name)
	}

	// PATCH the name only.
	e.do(t, "PATCH", "/api/v1/sources/"+a.SourceID, map[string]any{"name": "prod3"}, 200, &got)
	if got.Name != "prod3" || e.storedConfig(t, store.KindSource, a.SourceID)["password"] != srcPassword {
		t.Errorf("PATCH of the name changed more than the name: %+v", got)
	}
	// PATCH a new password.
	cfg["password"] = "new-password-1"
	e.do(t, "PATCH", "/api/v1/sources/"+a.SourceID, map[string]any{"configuration": cfg}, 200, &got)
	if p := e.storedConfig(t, store.KindSource, a.SourceID)["password"]; p != "new-password-1" {
		t.Errorf("stored password %v after PATCH, want the new one", p)
	}

	e.fail(t, "PUT", "/api/v1/sources/"+a.SourceID, map[string]any{"name": "x"}, 400)
	e.fail(t, "PATCH", "/api/v1/sources/"+a.SourceID, map[string]any{"definitionId": e.createDefinition("source", "other")}, 400)
	e.fail(t, "PATCH", "/api/v1/sources/"+a.SourceID, map[string]any{"workspaceId": "00000000-0000-4000-8000-000000000000"}, 400)
	// What a GET shows goes back unchanged, read-only fields and all.
	var raw map[string]any
	e.do(t, "GET", "/api/v1/sources/"+a.SourceID, nil, 200, &raw)
	e.do(t, "PUT", "/api/v1/sources/"+a.SourceID, raw, 200, &got)
	e.do(t, "PATCH", "/api/public/v1/sources/"+a.SourceID, raw, 200, nil)
	if p := e.storedConfig(t, store.KindSource, a.SourceID)["password"]; p != "new-password-1" || got.Name != raw["name"] {
		t.Errorf("after sending a GET back: stored password %v, name %q", p, got.Name)
	}

	e.do(t, "DELETE", "/api/v1/sources/"+a.SourceID, nil, 204, nil)
	e.fail(t, "GET", "/api/v1/sources/"+a.SourceID, nil, 404)
}

// TestDestinationCRUD verifies destinations mirror sources.
func TestDestinationCRUD(t *testing.T) {
	e := newEnv(t)
	def := e.createDefinition("destination", "jsonl")
	var a actorJSON
	e.do(t, "POST", "/api/v1/destinations", map[string]any{"name": "out", "definitionId": def, "configuration": dstConfig()}, 201, &a)
	if a.DestinationID == "" || a.DestinationType != "jsonl" || a.SourceID != "" {
		t.Fatalf("got %+v, want a destination of type jsonl", a)
	}
	if diff := cmp.Diff(map[string]any{"destination_path": "/local/out", "token": store.Mask}, configOf(t, a)); diff != "" {
		t.Errorf("configuration (-want +got):\n%s", diff)
	}
	var list listResponse[actorJSON]
	e.do(t, "GET", "/api/v1/destinations?definitionId="+def, nil, 200, &list)
	if len(list.Data) != 1 {
		t.Errorf("got %d destinations, want 1", len(list.Data))
	}
	e.do(t, "PUT", "/api/v1/destinations/"+a.DestinationID, map[string]any{"name": "out",
		"configuration": map[string]any{"destination_path": "/local/b", "token": store.Mask}}, 200, &a)
	if got := e.storedConfig(t, store.KindDestination, a.DestinationID); got["token"] != dstToken || got["destination_path"] != "/local/b" {
		t.Errorf("stored %v, want the new path and the old token", got)
	}
	e.do(t, "DELETE", "/api/v1/destinations/"+a.DestinationID, nil, 204, nil)
}

// TestConfigValidatedAgainstSpec verifies that configs are checked against
// the connector's JSON Schema on create and update, that the error names
// the field, and that a rejected secret value is not quoted back.
func TestConfigValidatedAgainstSpec(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	with := func(k string, v any) map[string]any {
		c := srcConfig()
		c[k] = v
		return c
	}
	without := func(k string) map[string]any {
		c := srcConfig()
		delete(c, k)
		return c
	}
	cases := []struct {
		name   string
		config map[string]any
		field  string
	}{
		{"missing required", without("port"), "configuration.port"},
		{"wrong type", with("port", "5432"), "configuration.port"},
		{"out of range", with("port", 70000), "configuration.port"},
		{"pattern", with("host", "DB!"), "configuration.host"},
		{"secret fails its pattern", with("password", "has space "+srcPassword), "configuration.password"},
		{"nested oneOf", with("credentials", map[string]any{"auth_type": "key"}), "configuration.credentials.api_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{"POST", "/api/v1/sources"}, {"PUT", "/api/v1/sources/" + f.src},
			} {
				ae := e.fail(t, req.method, req.path, map[string]any{"name": "s", "definitionId": f.srcDef, "configuration": c.config}, 400)
				if ae.Field != c.field {
					t.Errorf("%s: got field %q, want %q (message %q)", req.method, ae.Field, c.field, ae.Message)
				}
				if strings.Contains(ae.Message, srcPassword) {
					t.Errorf("%s: the error quotes the secret: %q", req.method, ae.Message)
				}
			}
		})
	}
	// The mask where nothing is stored is refused, naming the field.
	cfg := srcConfig()
	cfg["password"] = store.Mask
	ae := e.fail(t, "POST", "/api/v1/sources", map[string]any{"name": "s", "definitionId": f.srcDef, "configuration": cfg}, 400)
	if ae.Field != "configuration.password" {
		t.Errorf("mask on create: got field %q, want configuration.password", ae.Field)
	}
	cfg["password"] = srcPassword
	cfg["credentials"] = map[string]any{"auth_type": "key", "api_key": store.Mask}
	delete(cfg, "credentials")
	cfg["credentials"] = map[string]any{"auth_type": "none"}
	e.do(t, "PUT", "/api/v1/sources/"+f.src, map[string]any{"name": "s", "configuration": cfg}, 200, nil)
	cfg["credentials"] = map[string]any{"auth_type": "key", "api_key": store.Mask}
	ae = e.fail(t, "PUT", "/api/v1/sources/"+f.src, map[string]any{"name": "s", "configuration": cfg}, 400)
	if ae.Field != "configuration.credentials.api_key" {
		t.Errorf("mask with no stored secret on update: got field %q, want configuration.credentials.api_key", ae.Field)
	}
}

// TestCheck verifies check runs the connector with the plaintext config
// and masks secrets in what it says back, whether it answers FAILED or
// cannot run at all.
func TestCheck(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var gotPassword any
	e.conns.CheckFn = func(config json.RawMessage) (*protocol.ConnectionStatus, error) {
		var m map[string]any
		json.Unmarshal(config, &m)
		gotPassword = m["password"]
		return &protocol.ConnectionStatus{Status: protocol.StatusFailed, Message: "password " + srcPassword + " rejected"}, nil
	}
	var res checkJSON
	e.do(t, "POST", "/api/v1/sources/"+f.src+"/check", nil, 200, &res)
	if gotPassword != srcPassword {
		t.Errorf("the connector got password %v, want the plaintext", gotPassword)
	}
	if diff := cmp.Diff(checkJSON{Status: "failed", Message: "password " + store.Mask + " rejected"}, res); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}

	// A connector that failed with a generic message: its internal message
	// and its last error logs say why, masked.
	e.conns.CheckFn = func(json.RawMessage) (*protocol.ConnectionStatus, error) {
		return nil, &runner.ConnectorError{Image: "ferry/source-x:dev", Command: "check",
			Message: "Something went wrong in the connector. See the logs for more details.", FailureType: protocol.FailureSystem,
			Output: runner.Output{
				Errors: []protocol.ErrorTrace{{Message: "Something went wrong", InternalMessage: "login as admin with " + srcPassword + " refused"}},
				Logs: []protocol.Log{{Level: protocol.LevelInfo, Message: "starting"},
					{Level: protocol.LevelError, Message: "HTTP 401 for password=" + srcPassword},
					{Level: protocol.LevelFatal, Message: "giving up"}}}}
	}
	res = checkJSON{}
	e.do(t, "POST", "/api/v1/sources/"+f.src+"/check", nil, 200, &res)
	want := checkJSON{Status: "failed",
		Message:         "ferry/source-x:dev check failed: Something went wrong in the connector. See the logs for more details.",
		InternalMessage: "login as admin with " + store.Mask + " refused",
		LastErrorLogs:   []string{"HTTP 401 for password=" + store.Mask, "giving up"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("check of a failed connector (-want +got):\n%s", diff)
	}

	e.conns.CheckFn = func(json.RawMessage) (*protocol.ConnectionStatus, error) {
		return nil, errors.New("connector crashed; stderr: token=" + dstToken)
	}
	e.do(t, "POST", "/api/v1/destinations/"+f.dst+"/check", nil, 200, &res)
	if res.Status != "failed" || strings.Contains(res.Message, dstToken) || !strings.Contains(res.Message, store.Mask) {
		t.Errorf("got %+v, want failed with the token masked", res)
	}

	e.conns.CheckFn = nil
	e.do(t, "POST", "/api/v1/sources/"+f.src+"/check", nil, 200, &res)
	if res.Status != "succeeded" {
		t.Errorf("got status %q, want succeeded", res.Status)
	}
	e.fail(t, "POST", "/api/v1/sources/"+f.dst+"/check", nil, 404)
}

// TestStreamsDiscoverCached verifies discover runs once per source config,
// again with ?refresh=true or after the config changes, under both paths,
// and that its errors are masked.
func TestStreamsDiscoverCached(t *testing.T) {
	e := newEnv(t)
	f := e.fixture() // creating the connection discovered once
	base := e.conns.discovers.Load()
	var s streamsJSON
	e.do(t, "GET", "/api/v1/sources/"+f.src+"/streams", nil, 200, &s)
	if n := e.conns.discovers.Load() - base; n != 0 {
		t.Errorf("a cached catalog ran discover %d times, want 0", n)
	}
	want := []streamJSON{
		{StreamName: "users", SyncModes: []string{"full_refresh_overwrite", "full_refresh_append",
			"full_refresh_overwrite_deduped", "incremental_append", "incremental_deduped_history"},
			DefaultCursorField: []string{"updated_at"}, SourceDefinedPrimaryKey: [][]string{{"id"}}},
		{StreamName: "products", SyncModes: []string{"full_refresh_overwrite", "full_refresh_append",
			"full_refresh_overwrite_deduped"}, DefaultCursorField: []string{}, SourceDefinedPrimaryKey: [][]string{}},
	}
	if diff := cmp.Diff(want, s.Streams); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
	if len(s.Catalog.Streams) != 2 || s.SourceID != f.src {
		t.Errorf("got catalog %+v for %s, want both streams", s.Catalog, s.SourceID)
	}
	var props []streamPropertiesJSON
	e.do(t, "GET", "/api/v1/streams?sourceId="+f.src+"&ignoreCache=true", nil, 200, &props)
	if len(props) != 2 || props[0].StreamName != "users" || props[0].PropertyFields == nil {
		t.Errorf("GET /streams: %+v, want the two streams as an array", props)
	}
	if n := e.conns.discovers.Load() - base; n != 1 {
		t.Errorf("refresh ran discover %d times, want 1", n)
	}
	e.do(t, "PATCH", "/api/v1/sources/"+f.src, map[string]any{"configuration": srcConfig()}, 200, nil)
	e.do(t, "GET", "/api/v1/sources/"+f.src+"/streams", nil, 200, &s)
	if n := e.conns.discovers.Load() - base; n != 2 {
		t.Errorf("discover ran %d times after a config change, want 2", n)
	}

	e.conns.DiscoverFn = func(json.RawMessage) (*protocol.Catalog, error) {
		return nil, errors.New("cannot log in with api key " + srcAPIKey)
	}
	ae := e.fail(t, "GET", "/api/v1/sources/"+f.src+"/streams?refresh=true", nil, 502)
	if strings.Contains(ae.Message, srcAPIKey) || !strings.Contains(ae.Message, "cannot log in") {
		t.Errorf("got message %q, want the error with the key masked", ae.Message)
	}
	e.fail(t, "GET", "/api/v1/sources/"+f.dst+"/streams", nil, 404)
}

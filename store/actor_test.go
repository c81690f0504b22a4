package store

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestActorCRUD verifies that sources are created, read masked, listed,
// updated with masked values kept, and deleted.
func TestActorCRUD(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src, err := f.db.Actor(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Config, f.src.Config) {
		t.Errorf("get config %s\ndiffers from create's masked config %s", src.Config, f.src.Config)
	}
	_, err = f.db.Actor(ctx, KindDestination, f.src.ID)
	wantErr(t, err, ErrNotFound)

	// Send back the masked config with one secret changed.
	var cfg map[string]json.RawMessage
	json.Unmarshal(src.Config, &cfg)
	cfg["api_key"] = json.RawMessage(`"SECRET-new-api-key"`)
	src.Config, _ = json.Marshal(cfg)
	src.Name = "renamed"
	if err := f.db.UpdateActor(ctx, src); err != nil {
		t.Fatal(err)
	}
	if src.Name != "renamed" || bytes.Contains(src.Config, []byte("SECRET")) {
		t.Errorf("after update: %s %s", src.Name, src.Config)
	}
	rc, err := f.db.ActorConfig(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	json.Unmarshal(rc.Config, &plain)
	creds := plain["credentials"].(map[string]any)
	if plain["api_key"] != "SECRET-new-api-key" || creds["client_secret"] != "SECRET-client-b81e4d" {
		t.Errorf("secrets after update: api_key %v, client_secret %v", plain["api_key"], creds["client_secret"])
	}

	list, total, err := f.db.Actors(ctx, ActorFilter{Kind: KindSource})
	if err != nil || total != 1 || len(list) != 1 || bytes.Contains(list[0].Config, []byte("SECRET")) {
		t.Fatalf("list: %v of %d, %v", list, total, err)
	}
	_, _, err = f.db.Actors(ctx, ActorFilter{})
	wantValidation(t, err, "kind")

	wantErr(t, f.db.DeleteActor(ctx, KindSource, f.src.ID), ErrConflict)
	if err := f.db.DeleteConnection(ctx, f.conn.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteActor(ctx, KindSource, f.src.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, f.db.DeleteActor(ctx, KindSource, f.src.ID), ErrNotFound)
}

// TestActorDefinitionChecks verifies that an actor needs an existing
// definition of its own kind with a cached spec, and cannot change it.
func TestActorDefinitionChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := &Actor{Kind: KindSource, Name: "x", DefinitionID: f.dstDef.ID, Config: json.RawMessage(`{}`)}
	wantValidation(t, f.db.CreateActor(ctx, a), "definitionId")
	noSpec := &Definition{Name: "no-spec", Kind: KindSource, Image: "img:1"}
	if err := f.db.CreateDefinition(ctx, noSpec); err != nil {
		t.Fatal(err)
	}
	a = &Actor{Kind: KindSource, Name: "x", DefinitionID: noSpec.ID, Config: json.RawMessage(`{}`)}
	wantValidation(t, f.db.CreateActor(ctx, a), "definitionId")
	a = &Actor{Kind: KindSource, Name: "x", DefinitionID: f.srcDef.ID, Config: json.RawMessage(`[]`)}
	wantValidation(t, f.db.CreateActor(ctx, a), "config")
	wantErr(t, f.db.DeleteDefinition(ctx, f.srcDef.ID), ErrConflict)

	upd := *f.src
	upd.DefinitionID = noSpec.ID
	wantValidation(t, f.db.UpdateActor(ctx, &upd), "definitionId")
}

package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestDefinitionHardening verifies that a definition's hardening level is
// stored, updated and listed, and that an unknown level is refused.
func TestDefinitionHardening(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	d := &Definition{Name: "airbyte-pg", Kind: KindSource, Image: "airbyte/source-postgres:3.6.0"}
	if err := db.CreateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Definition(ctx, d.ID); err != nil || got.Hardening != "" {
		t.Fatalf("new definition: hardening %q (%v), want empty (the image's label decides)", got.Hardening, err)
	}
	d.Hardening = HardeningStrict
	if err := db.UpdateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	list, _, err := db.Definitions(ctx, DefinitionFilter{Name: "airbyte-pg"})
	if err != nil || len(list) != 1 || list[0].Hardening != HardeningStrict {
		t.Fatalf("listed: %+v (%v), want hardening strict", list, err)
	}
	d.Hardening = "paranoid"
	var ve *ValidationError
	if err := db.UpdateDefinition(ctx, d); !errors.As(err, &ve) || ve.Field != "hardening" {
		t.Errorf("hardening paranoid: %v, want a validation error on hardening", err)
	}
}

// TestMigrateHardeningKeepsExistingCompatible: definitions made before
// migration 0012 run as they did (compatible) after the upgrade; new ones
// follow their image's label.
func TestMigrateHardeningKeepsExistingCompatible(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	clock := newTestClock()
	old, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)), withMigrations(migrationsUpTo(t, 11)))
	if err != nil {
		t.Fatal(err)
	}
	before := mustDefinition(t, old, KindDestination, "dest-before")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path, WithNow(clock.Now), WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Definition(ctx, before.ID)
	if err != nil || got.Hardening != "compatible" {
		t.Fatalf("definition from before the upgrade: hardening %q (%v), want compatible", got.Hardening, err)
	}
	after := mustDefinition(t, db, KindDestination, "dest-after")
	if got, err := db.Definition(ctx, after.ID); err != nil || got.Hardening != "" {
		t.Fatalf("new definition: hardening %q (%v), want empty (the image's label decides)", got.Hardening, err)
	}
}

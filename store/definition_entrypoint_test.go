package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestDefinitionEntrypoint stores a definition's entrypoint and its source
// through create, get, list and update, clears it, and refuses bad ones
// with an error naming the field.
func TestDefinitionEntrypoint(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	argv := []string{"python", "/airbyte/integration_code/main.py", "--flag with spaces"}
	d := &Definition{Name: "pg", Kind: KindSource, Image: "airbyte/source-postgres:3.6.0",
		Entrypoint: argv, EntrypointSource: EntrypointFromImage}
	if err := db.CreateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := db.Definition(ctx, d.ID)
	if err != nil || !slices.Equal(got.Entrypoint, argv) || got.EntrypointSource != EntrypointFromImage {
		t.Fatalf("created: entrypoint %q from %q (%v), want %q from image", got.Entrypoint, got.EntrypointSource, err, argv)
	}
	// A caller that sets one without a source set it by hand.
	d.Entrypoint, d.EntrypointSource = []string{"/connector"}, ""
	if err := db.UpdateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	list, _, err := db.Definitions(ctx, DefinitionFilter{Name: "pg"})
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Entrypoint, []string{"/connector"}) ||
		list[0].EntrypointSource != EntrypointFromAPI {
		t.Fatalf("listed after update: %+v (%v), want [/connector] from api", list, err)
	}
	d.Entrypoint = nil
	if err := db.UpdateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Definition(ctx, d.ID); err != nil || got.Entrypoint != nil || got.EntrypointSource != "" {
		t.Fatalf("cleared: entrypoint %q from %q (%v), want none", got.Entrypoint, got.EntrypointSource, err)
	}
	// A definition created without one has none.
	plain := mustDefinition(t, db, KindDestination, "plain")
	if got, err := db.Definition(ctx, plain.ID); err != nil || got.Entrypoint != nil || got.EntrypointSource != "" {
		t.Fatalf("plain definition: entrypoint %q from %q (%v), want none", got.Entrypoint, got.EntrypointSource, err)
	}

	bad := []struct {
		argv  []string
		src   string
		field string
	}{
		{[]string{}, "", "entrypoint"},
		{[]string{"/connector", " "}, "", "entrypoint[1]"},
		{[]string{""}, "", "entrypoint[0]"},
		{[]string{"/connector\x00"}, "", "entrypoint[0]"},
		{[]string{strings.Repeat("a", MaxEntrypointArgLen+1)}, "", "entrypoint[0]"},
		{slices.Repeat([]string{"a"}, MaxEntrypointArgs+1), "", "entrypoint"},
		{[]string{"/connector"}, "guess", "entrypointSource"},
	}
	for _, b := range bad {
		d.Entrypoint, d.EntrypointSource = b.argv, b.src
		var ve *ValidationError
		if err := db.UpdateDefinition(ctx, d); !errors.As(err, &ve) || ve.Field != b.field {
			t.Errorf("entrypoint %.40q from %q: %v, want a validation error on %s", b.argv, b.src, err, b.field)
		}
	}
	if got, _ := db.Definition(ctx, d.ID); got.Entrypoint != nil {
		t.Errorf("after refused updates: entrypoint %q, want none", got.Entrypoint)
	}
}

// TestMigrateEntrypointLeavesExistingUnset: definitions made before
// migration 0013 have no entrypoint after the upgrade (the runtime then
// falls back to the image's AIRBYTE_ENTRYPOINT), and can be given one.
func TestMigrateEntrypointLeavesExistingUnset(t *testing.T) {
	ctx := context.Background()
	target := testTarget(t)
	clock := newTestClock()
	old, err := Open(ctx, target, WithNow(clock.Now), WithKey(testKey(t)), withMigrations(migrationsUpTo(t, 12)))
	if err != nil {
		t.Fatal(err)
	}
	before := mustDefinition(t, old, KindSource, "src-before")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, target, WithNow(clock.Now), WithKey(testKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Definition(ctx, before.ID)
	if err != nil || got.Entrypoint != nil || got.EntrypointSource != "" {
		t.Fatalf("definition from before the upgrade: entrypoint %q from %q (%v), want none", got.Entrypoint, got.EntrypointSource, err)
	}
	got.Entrypoint = []string{"/connector"}
	if err := db.UpdateDefinition(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Definition(ctx, before.ID); err != nil || !slices.Equal(got.Entrypoint, []string{"/connector"}) {
		t.Fatalf("after setting it: entrypoint %q (%v)", got.Entrypoint, err)
	}
}

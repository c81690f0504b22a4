package store

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferrysync/ferry/protocol"
)

// TestDefinitionCRUD verifies create, get, list with count, update and
// delete of definitions, and their IPC options round trip.
func TestDefinitionCRUD(t *testing.T) {
	db, clock := mustOpen(t)
	ctx := context.Background()
	ipc, err := protocol.ParseIPCOptions([]byte(`{"dataChannel":{"version":"0.0.2","supportedSerialization":["JSONL","PROTOBUF"],"supportedTransport":["SOCKET","STDIO"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := &Definition{Name: "source-faker", Kind: KindSource, Image: "ferry/source-faker:dev",
		BinaryPath: "bin/connectors/source-faker", IPCOptions: ipc,
		Resources: Resources{MemoryBytes: 512 << 20, CPUs: 1.5}}
	if err := db.CreateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !uuidRE.MatchString(d.ID) || !d.CreatedAt.Equal(clock.Now()) {
		t.Errorf("created: id %q, createdAt %v", d.ID, d.CreatedAt)
	}
	got, err := db.Definition(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got) != mustJSON(t, d) {
		t.Errorf("got %s\nwant %s", mustJSON(t, got), mustJSON(t, d))
	}
	if !got.IPCOptions.Supports(protocol.TransportSocket) || (*protocol.IPCOptions)(nil).Supports(protocol.TransportSocket) {
		t.Error("Supports is wrong")
	}
	mustDefinition(t, db, KindDestination, "dest-a")
	mustDefinition(t, db, KindDestination, "dest-b")
	list, total, err := db.Definitions(ctx, DefinitionFilter{Kind: KindDestination, Page: Page{Limit: 1}})
	if err != nil || total != 2 || len(list) != 1 || list[0].Name != "dest-a" {
		t.Fatalf("list: %d of %d, %v", len(list), total, err)
	}

	clock.Advance(1e9)
	d.Image = "ferry/source-faker:v2"
	d.IPCOptions = nil
	if err := db.UpdateDefinition(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Definition(ctx, d.ID)
	if got.Image != "ferry/source-faker:v2" || got.IPCOptions != nil || !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	d.Kind = KindDestination
	wantValidation(t, db.UpdateDefinition(ctx, d), "kind")

	if err := db.DeleteDefinition(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.Definition(ctx, d.ID)
	wantErr(t, err, ErrNotFound)
	wantErr(t, db.DeleteDefinition(ctx, d.ID), ErrNotFound)
}

// TestDefinitionValidation verifies the checks on caller fields and the
// conflict on a duplicate name.
func TestDefinitionValidation(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	base := func() *Definition { return &Definition{Name: "n", Kind: KindSource, Image: "img:1"} }
	for _, tc := range []struct {
		field string
		mod   func(*Definition)
	}{
		{"name", func(d *Definition) { d.Name = " " }},
		{"kind", func(d *Definition) { d.Kind = "sink" }},
		{"image", func(d *Definition) { d.Image = "" }},
		{"id", func(d *Definition) { d.ID = "not-a-uuid" }},
		{"resources.cpus", func(d *Definition) { d.Resources.CPUs = -1 }},
		{"spec", func(d *Definition) { d.Spec = json.RawMessage(`[1]`) }},
		{"spec.connectionSpecification", func(d *Definition) { d.Spec = json.RawMessage(`{"documentationUrl":"x"}`) }},
		{"ipcOptions.dataChannel.supportedTransport", func(d *Definition) {
			d.IPCOptions = &protocol.IPCOptions{DataChannel: protocol.DataChannel{Version: "0.0.2", SupportedSerialization: []string{"JSONL"}, SupportedTransport: []string{"PIGEON"}}}
		}},
	} {
		d := base()
		tc.mod(d)
		wantValidation(t, db.CreateDefinition(ctx, d), tc.field)
	}
	if err := db.CreateDefinition(ctx, base()); err != nil {
		t.Fatal(err)
	}
	wantErr(t, db.CreateDefinition(ctx, base()), ErrConflict)
}

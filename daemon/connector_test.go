package daemon

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
)

// TestConnectorsCommands runs spec, check and discover of a definition on
// the local runtime: a check failure is an answer, not an error.
func TestConnectorsCommands(t *testing.T) {
	d := openDaemon(t, testConfig(t, scriptedDir(t)), Options{})
	ctx := context.Background()
	def := &store.Definition{Name: "scripted", Kind: store.KindSource, Image: ReferenceImage("connector-scripted")}
	spec, err := d.Connectors().Spec(ctx, def)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	var s protocol.Spec
	if err := json.Unmarshal(spec.Spec, &s); err != nil || len(s.ConnectionSpecification) == 0 || spec.ImageID == "" {
		t.Errorf("Spec = %s (image %q), %v; want a connector specification and an image ID", spec.Spec, spec.ImageID, err)
	}
	for _, tc := range []struct {
		config string
		want   string
	}{
		{`{}`, protocol.StatusSucceeded},
		{`{"check_error":"wrong password"}`, protocol.StatusFailed},
	} {
		st, err := d.Connectors().Check(ctx, def, json.RawMessage(tc.config))
		if err != nil || st.Status != tc.want {
			t.Errorf("Check(%s) = %+v, %v; want %s", tc.config, st, err, tc.want)
		}
	}
	cat, err := d.Connectors().Discover(ctx, def, json.RawMessage(`{"streams":["a","b"]}`))
	if err != nil || len(cat.Streams) != 2 {
		t.Fatalf("Discover = %+v, %v; want streams a and b", cat, err)
	}
	cc := DefaultConfiguredCatalog(cat)
	if cc.Streams[0].SyncMode != protocol.SyncIncremental || cc.Streams[0].DestinationSyncMode != protocol.DestAppend {
		t.Errorf("default configured stream %+v, want incremental append", cc.Streams[0])
	}
}

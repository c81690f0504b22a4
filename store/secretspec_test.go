package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrysync/ferry/secret/secrettest"
)

// TestSecretAtRestBehindEachConstruct verifies, for a secret declared
// behind each schema construct, that the value is encrypted in the
// database, masked in the API view and by MaskSecrets, kept on a masked
// update, and listed in ResolvedConfig.Secrets for redaction.
func TestSecretAtRestBehindEachConstruct(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	for _, tc := range secrettest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			d := &Definition{Name: "source-" + tc.Name, Kind: KindSource, Image: "ferry/x:dev", Spec: json.RawMessage(tc.ConnectorSpecification())}
			if err := db.CreateDefinition(ctx, d); err != nil {
				t.Fatal(err)
			}
			a := mustActor(t, db, KindSource, d.ID, json.RawMessage(tc.Config))
			var raw string
			if err := db.queryRowRaw(ctx, `SELECT config FROM actors WHERE id = ?`, a.ID).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			masked, err := MaskSecrets(d.Spec, json.RawMessage(tc.Config))
			if err != nil {
				t.Fatal(err)
			}
			view, err := db.Actor(ctx, KindSource, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.Secrets {
				for where, text := range map[string]string{"database": raw, "MaskSecrets": string(masked), "API view": string(view.Config)} {
					if strings.Contains(text, s) {
						t.Errorf("%s holds %s: %s", where, s, text)
					}
				}
			}
			// Sending the masked view back keeps the secrets.
			if err := db.UpdateActorConfig(ctx, KindSource, a.ID, view.Config); err != nil {
				t.Fatal(err)
			}
			rc, err := db.ActorConfig(ctx, KindSource, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if json.Unmarshal([]byte(tc.Config), &want) != nil || json.Unmarshal(rc.Config, &got) != nil {
				t.Fatalf("not JSON: %s", rc.Config)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after a masked update the config differs (-want +got):\n%s", diff)
			}
			for _, s := range tc.Secrets {
				if !slices.Contains(rc.Secrets, s) {
					t.Errorf("Secrets %q lacks %s", rc.Secrets, s)
				}
			}
		})
	}
}

package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// secretRE matches the distinctive string secrets of the testdata configs.
var secretRE = regexp.MustCompile(`SECRET-[a-z0-9-]+`)

// TestLoadOrCreateKey verifies that the key file is created once with mode
// 0600, read back unchanged, and refused when others may read it.
func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	env, err := k1.seal([]byte(`"hello"`), "owner")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := k2.open(env, "owner")
	if err != nil || string(plain) != `"hello"` {
		t.Fatalf("reloaded key: open = %s, %v; want \"hello\"", plain, err)
	}
	if _, err := k2.open(env, "other-owner"); err == nil {
		t.Error("opening with another owner: got nil error")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("world-readable key: got %v, want an error naming the mode", err)
	}
}

// TestMaskSecrets verifies masking at every depth the spec can declare a
// secret: top level, non-string values, oneOf branches, array items,
// additionalProperties and allOf.
func TestMaskSecrets(t *testing.T) {
	got, err := MaskSecrets(readTestdata(t, "spec.json"), readTestdata(t, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m := secretRE.FindAllString(string(got), -1); len(m) > 0 {
		t.Errorf("masked config still holds %v:\n%s", m, got)
	}
	if bytes.Contains(got, []byte("8675309123")) {
		t.Errorf("masked config still holds the numeric secret:\n%s", got)
	}
	if n := strings.Count(string(got), `"`+Mask+`"`); n != 9 {
		t.Errorf("got %d masks, want 9:\n%s", n, got)
	}
	for _, keep := range []string{`"client_id":"client-visible"`, `"region":"eu-west-1"`,
		`"big":12345678901234567890123`, `"ratio":1.50`, `"host":"bastion-2"`} {
		if !bytes.Contains(got, []byte(keep)) {
			t.Errorf("masked config lost %s:\n%s", keep, got)
		}
	}
}

// TestMergeSecrets verifies that masked values take the stored secret, new
// values replace it, and a mask with nothing stored is a validation error.
func TestMergeSecrets(t *testing.T) {
	spec := readTestdata(t, "spec.json")
	stored := json.RawMessage(`{"api_key":"old-key","credentials":{"auth_type":"oauth","client_secret":"old-cs"},
		"tunnels":[{"ssh_key":"k0"},{"ssh_key":"k1"}]}`)
	incoming := json.RawMessage(`{"api_key":"**********","credentials":{"auth_type":"oauth","client_secret":"new-cs"},
		"tunnels":[{"ssh_key":"k0-new"},{"ssh_key":"**********"}],"host":"**********"}`)
	got, err := MergeSecrets(spec, stored, incoming)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"api_key":"old-key","credentials":{"auth_type":"oauth","client_secret":"new-cs"},` +
		`"tunnels":[{"ssh_key":"k0-new"},{"ssh_key":"k1"}],"host":"**********"}`
	if string(got) != want {
		t.Errorf("merged:\n got %s\nwant %s", got, want)
	}
	_, err = MergeSecrets(spec, stored, json.RawMessage(`{"pin":"**********"}`))
	wantValidation(t, err, "config.pin")
}

// TestSecretsNeverInDatabaseFile verifies that no secret value reaches the
// database file, its WAL or its shared-memory file, while the API view is
// masked and ActorConfig returns the plaintext byte-for-byte.
func TestSecretsNeverInDatabaseFile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	config := readTestdata(t, "config.json")
	secrets := secretRE.FindAllString(string(config), -1)
	if len(secrets) != 8 {
		t.Fatalf("testdata has %d secrets, want 8", len(secrets))
	}
	// Exercise every path that writes a config: create, update with
	// masks, a CONTROL-style update, and a spec change that re-encrypts.
	a, err := f.db.Actor(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Name = "renamed"
	if err := f.db.UpdateActor(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := f.db.UpdateActorConfig(ctx, KindSource, f.src.ID, config); err != nil {
		t.Fatal(err)
	}
	def := *f.srcDef
	def.Spec = bytes.Replace(def.Spec, []byte(`"host":{"type":"string"}`), []byte(`"host":{"type":"string","airbyte_secret":true}`), 1)
	if bytes.Equal(def.Spec, f.srcDef.Spec) {
		t.Fatal("spec unchanged; fix the test")
	}
	if err := f.db.UpdateDefinition(ctx, &def); err != nil {
		t.Fatal(err)
	}

	for _, suffix := range []string{"", "-wal", "-shm"} {
		var b []byte
		var err error
		if onPostgres() {
			if suffix != "" {
				continue
			}
			b, err = pgDumpRows(ctx, f.db)
		} else {
			b, err = os.ReadFile(f.db.Path() + suffix)
		}
		if err != nil {
			t.Fatalf("read %s: %v", suffix, err)
		}
		for _, s := range append(secrets, "8675309123", "SECRET-dest-key-77aa") {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("database file%s holds secret %q in the clear", suffix, s)
			}
		}
	}
	// Check the WAL was really in use, so the test above means something.
	if info, err := os.Stat(f.db.Path() + "-wal"); !onPostgres() && (err != nil || info.Size() == 0) {
		t.Errorf("WAL file is empty or missing (%v); the test would prove nothing", err)
	}

	got, err := f.db.Actor(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m := secretRE.FindAllString(string(got.Config), -1); len(m) > 0 {
		t.Errorf("API view holds %v", m)
	}
	if !bytes.Contains(got.Config, []byte(`"host":"**********"`)) {
		t.Errorf("after the spec change host should be masked: %s", got.Config)
	}
	rc, err := f.db.ActorConfig(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, config)
	if diff := cmp.Diff(compact.String(), string(rc.Config)); diff != "" {
		t.Errorf("decrypted config differs from the compacted input (-want +got):\n%s", diff)
	}
	for _, s := range append(secrets, "8675309123", "db.example.com") {
		found := false
		for _, v := range rc.Secrets {
			found = found || v == s
		}
		if !found {
			t.Errorf("Secrets lacks %q: %q", s, rc.Secrets)
		}
	}
	for i := 1; i < len(rc.Secrets); i++ {
		if len(rc.Secrets[i]) > len(rc.Secrets[i-1]) {
			t.Errorf("Secrets not longest first: %q", rc.Secrets)
		}
	}
}

// TestWrongKey verifies that a database opened with another key cannot
// decrypt the configs, and says so without leaking anything.
func TestWrongKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := NewKey([]byte("ffffffffffffffffffffffffffffffff"))
	if err != nil {
		t.Fatal(err)
	}
	f.db.key = other
	_, err = f.db.ActorConfig(ctx, KindSource, f.src.ID)
	if err == nil || !strings.Contains(err.Error(), "wrong key file") {
		t.Fatalf("got %v, want a wrong key file error", err)
	}
	if secretRE.MatchString(err.Error()) {
		t.Errorf("error leaks a secret: %v", err)
	}
}

// TestSealRejectsMaskAndEnvelopes verifies that a new config cannot store
// the mask or a forged encrypted value as a secret.
func TestSealRejectsMaskAndEnvelopes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := &Actor{Kind: KindSource, Name: "x", DefinitionID: f.srcDef.ID, Config: json.RawMessage(`{"api_key":"**********"}`)}
	wantValidation(t, f.db.CreateActor(ctx, a), "config.api_key")
	a = &Actor{Kind: KindSource, Name: "x", DefinitionID: f.srcDef.ID,
		Config: json.RawMessage(`{"host":{"_secret":"enc:v1:AAAA"}}`)}
	wantValidation(t, f.db.CreateActor(ctx, a), "config.host")
}

// TestSpecChangeKeepsSecretsEncrypted verifies that a new spec that no
// longer marks a field secret, or no spec at all, never decrypts a stored
// secret into the database, and that an update sending the mask back for
// such a field keeps the stored value instead of storing the mask.
func TestSpecChangeKeepsSecretsEncrypted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rawConfig := func() string {
		t.Helper()
		var s string
		if err := f.db.queryRowRaw(ctx, `SELECT config FROM actors WHERE id = ?`, f.src.ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	def := *f.srcDef
	def.Spec = bytes.Replace(def.Spec, []byte(`"api_key":{"type":"string","airbyte_secret":true}`), []byte(`"api_key":{"type":"string"}`), 1)
	if bytes.Equal(def.Spec, f.srcDef.Spec) {
		t.Fatal("spec unchanged; fix the test")
	}
	if err := f.db.UpdateDefinition(ctx, &def); err != nil {
		t.Fatal(err)
	}
	if s := rawConfig(); strings.Contains(s, "SECRET-apikey-7f3a9c") {
		t.Errorf("after a spec change the stored config holds api_key in the clear: %s", s)
	}
	a, err := f.db.Actor(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.UpdateActor(ctx, a); err != nil { // sends every mask back
		t.Fatal(err)
	}
	rc, err := f.db.ActorConfig(ctx, KindSource, f.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rc.Config, []byte(`"api_key":"SECRET-apikey-7f3a9c"`)) {
		t.Errorf("a masked update lost api_key: got %s", rc.Config)
	}

	def.Spec = nil // the cached spec dropped, e.g. for a new image
	if err := f.db.UpdateDefinition(ctx, &def); err != nil {
		t.Fatal(err)
	}
	if m := secretRE.FindAllString(rawConfig(), -1); len(m) > 0 {
		t.Errorf("without a spec the stored config holds %v in the clear", m)
	}
}

// TestMaskSecretsConditionalAndRef verifies that secrets declared in
// conditional subschemas (then, else, dependencies, dependentSchemas) or
// behind a local "$ref" are masked, and that a recursive "$ref" is accepted.
func TestMaskSecretsConditionalAndRef(t *testing.T) {
	for _, tc := range []struct{ name, spec, config string }{
		{"then", `{"properties":{"o":{"if":{"properties":{"a":{"const":1}}},"then":{"properties":{"k":{"airbyte_secret":true}}}}}}`, `{"o":{"a":1,"k":"SECRET-then"}}`},
		{"else", `{"properties":{"o":{"if":{"properties":{"a":{"const":1}}},"else":{"properties":{"k":{"airbyte_secret":true}}}}}}`, `{"o":{"a":2,"k":"SECRET-else"}}`},
		{"dependencies", `{"properties":{"o":{"dependencies":{"a":{"properties":{"k":{"airbyte_secret":true}}},"b":["a"]}}}}`, `{"o":{"a":1,"k":"SECRET-dep"}}`},
		{"dependentSchemas", `{"dependentSchemas":{"a":{"properties":{"k":{"airbyte_secret":true}}}}}`, `{"a":1,"k":"SECRET-depschema"}`},
		{"ref", `{"properties":{"d":{"type":"array","items":{"$ref":"#/definitions/tunnel"}}},"definitions":{"tunnel":{"properties":{"k":{"airbyte_secret":true}}}}}`, `{"d":[{"k":"SECRET-ref"}]}`},
		{"recursive ref", `{"$ref":"#/$defs/node","$defs":{"node":{"properties":{"k":{"airbyte_secret":true},"child":{"$ref":"#/$defs/node"}}}}}`, `{"k":"SECRET-rec1","child":{"k":"SECRET-rec2"}}`},
	} {
		out, err := MaskSecrets(json.RawMessage(tc.spec), json.RawMessage(tc.config))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if m := secretRE.FindAllString(string(out), -1); len(m) > 0 {
			t.Errorf("%s: got %s, which shows %v", tc.name, out, m)
		}
	}
}

// pgDumpRows returns every row of every table of the test's schema as
// JSON text: on PostgreSQL, what the database holds.
func pgDumpRows(ctx context.Context, db *DB) ([]byte, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, name)
	}
	rows.Close()
	var out []byte
	for _, name := range tables {
		var text sql.NullString
		if err := db.db.QueryRowContext(ctx, `SELECT string_agg(row_to_json(t)::text, E'\n') FROM `+name+` t`).Scan(&text); err != nil {
			return nil, err
		}
		out = append(out, text.String...)
	}
	if len(tables) < 5 {
		return nil, fmt.Errorf("only %d tables in the schema", len(tables))
	}
	return out, nil
}

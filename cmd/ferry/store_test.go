package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/daemon"
	"github.com/ferrysync/ferry/store"
	"github.com/ferrysync/ferry/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestStoreCopyCLI copies a data dir's database with the URL (and a
// password) in a file, checks the password is never printed, that the
// secret reads back with the same key, and that a running daemon's lock
// stops the copy.
func TestStoreCopyCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := store.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := store.Open(ctx, filepath.Join(dir, "ferry.db"), store.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	def := &store.Definition{Name: "source-x", Kind: store.KindSource, Image: "ferry/source-x:dev",
		Spec: json.RawMessage(`{"connectionSpecification":{"type":"object","properties":{"password":{"type":"string","airbyte_secret":true}}}}`)}
	if err := src.CreateDefinition(ctx, def); err != nil {
		t.Fatal(err)
	}
	actor := &store.Actor{Kind: store.KindSource, Name: "x", DefinitionID: def.ID, Config: json.RawMessage(`{"password":"hunter2-source"}`)}
	if err := src.CreateActor(ctx, actor); err != nil {
		t.Fatal(err)
	}
	src.Close()

	// The test cluster trusts local connections, so any password works.
	u, err := url.Parse(pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "pw-never-shown-42")
	urlFile := filepath.Join(dir, "database-url")
	if err := os.WriteFile(urlFile, []byte(u.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	release, err := daemon.LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := runFerry(t, nil, "store", "copy", "--data-dir", dir, "--to-file", urlFile)
	release()
	if r.code != exitFailed || !strings.Contains(r.stderr, "in use by another ferry serve") {
		t.Fatalf("copy beside a daemon: exit %d, stderr %q", r.code, r.stderr)
	}

	r = runFerry(t, nil, "store", "copy", "--data-dir", dir, "--to-file", urlFile)
	if r.code != exitOK {
		t.Fatalf("copy: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"actors", "definitions", "FERRY_SECRET_KEY_FILE", key.Fingerprint(), "xxxxx"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "pw-never-shown-42") {
		t.Errorf("the password was printed:\n%s%s", r.stdout, r.stderr)
	}

	dst, err := store.Open(ctx, u.String(), store.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rc, err := dst.ActorConfig(ctx, store.KindSource, actor.ID)
	if err != nil || string(rc.Config) != `{"password":"hunter2-source"}` {
		t.Errorf("the copied secret: %v", err)
	}

	r = runFerry(t, nil, "store", "copy", "--data-dir", dir, "--to", u.String())
	if r.code != exitFailed || !strings.Contains(r.stderr, "not empty") || strings.Contains(r.stderr, "pw-never-shown-42") {
		t.Errorf("second copy: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runFerry(t, nil, "store", "copy", "--data-dir", dir, "--to", "pw-never-shown-42"); r.code != exitUsage || strings.Contains(r.stderr, "pw-never-shown-42") {
		t.Errorf("a bad URL: exit %d, stderr %q", r.code, r.stderr)
	}
}

package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestApplicationLifecycle walks an application from creation through
// token issue, expiry and deletion, which revokes its tokens.
func TestApplicationLifecycle(t *testing.T) {
	db, clock := mustOpen(t)
	ctx := context.Background()
	app, secret, err := db.CreateApplication(ctx, "airflow")
	if err != nil {
		t.Fatal(err)
	}
	if !uuidRE.MatchString(app.ID) || !uuidRE.MatchString(app.ClientID) || app.ID == app.ClientID {
		t.Errorf("ids: got id %q, client id %q; want two distinct UUIDs", app.ID, app.ClientID)
	}
	if len(secret) < 43 || !app.CreatedAt.Equal(clock.Now()) {
		t.Errorf("got secret of %d chars, created %s; want at least 43 chars (32 bytes), created now", len(secret), app.CreatedAt)
	}

	got, err := db.Application(ctx, app.ID)
	if err != nil || *got != *app {
		t.Fatalf("get: got %+v, %v; want %+v", got, err, app)
	}
	list, err := db.Applications(ctx)
	if err != nil || len(list) != 1 || *list[0] != *app {
		t.Fatalf("list: got %v, %v; want the one application", list, err)
	}

	token, expires, err := db.IssueAccessToken(ctx, app.ClientID, secret, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, AccessTokenPrefix) || !expires.Equal(clock.Now().Add(15*time.Minute)) {
		t.Errorf("got token %q expiring %s; want the prefix and now+15m", token, expires)
	}
	other, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, 15*time.Minute)
	if err != nil || other == token {
		t.Errorf("second token: got %v (same as the first: %v), want a new one", err, other == token)
	}
	checkToken(t, db, token, TokenValid, app.ID)
	checkToken(t, db, "ferry_at_not-a-token", TokenUnknown, "")
	checkToken(t, db, "static-looking-token", TokenUnknown, "")

	clock.Advance(15*time.Minute - time.Second)
	checkToken(t, db, token, TokenValid, app.ID)
	clock.Advance(time.Second)
	checkToken(t, db, token, TokenExpired, app.ID)

	fresh, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := db.DeleteApplication(ctx, app.ID)
	if err != nil || deleted.ID != app.ID {
		t.Fatalf("delete: got %+v, %v", deleted, err)
	}
	checkToken(t, db, fresh, TokenUnknown, "") // revoked with its application
	if _, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, time.Hour); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("issue after delete: got %v, want ErrBadCredentials", err)
	}
	if _, err := db.Application(ctx, app.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: got %v, want ErrNotFound", err)
	}
	if _, err := db.DeleteApplication(ctx, app.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: got %v, want ErrNotFound", err)
	}
}

func checkToken(t *testing.T, db *DB, token string, want TokenStatus, wantApp string) {
	t.Helper()
	got, app, err := db.CheckAccessToken(context.Background(), token)
	if err != nil || got != want || app != wantApp {
		t.Errorf("check %q: got %v, app %q, %v; want %v, app %q", token, got, app, err, want, wantApp)
	}
}

// TestIssueAccessTokenRefusesWrongCredentials checks that a wrong secret,
// an unknown client id, and a swapped or empty pair are all refused alike.
func TestIssueAccessTokenRefusesWrongCredentials(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	app, secret, err := db.CreateApplication(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, id, secret string }{
		{"wrong secret", app.ClientID, secret + "x"},
		{"secret of another length", app.ClientID, secret[:10]},
		{"unknown client", newID(), secret},
		{"swapped", secret, app.ClientID},
		{"empty", "", ""},
	} {
		if _, _, err := db.IssueAccessToken(ctx, tc.id, tc.secret, time.Minute); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: got %v, want ErrBadCredentials", tc.name, err)
		}
	}
	var ve *ValidationError
	if _, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, 0); !errors.As(err, &ve) {
		t.Errorf("zero ttl: got %v, want a validation error", err)
	}
}

// TestApplicationSecretsNotStored checks that neither the client secret
// nor an access token is anywhere in the database file or its WAL.
func TestApplicationSecretsNotStored(t *testing.T) {
	db, _ := mustOpen(t)
	ctx := context.Background()
	app, secret, err := db.CreateApplication(ctx, "dagster")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{db.Path(), db.Path() + "-wal"} {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for name, s := range map[string]string{"secret": secret, "token": token, "token body": strings.TrimPrefix(token, AccessTokenPrefix)} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s: the %s is stored in plain text", path, name)
			}
		}
	}
}

// TestExpiredTokensPruned checks that tokens long expired are removed
// when new ones are issued, so the table does not grow forever.
func TestExpiredTokensPruned(t *testing.T) {
	db, clock := mustOpen(t)
	ctx := context.Background()
	app, secret, err := db.CreateApplication(ctx, "cron")
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute + expiredTokenKeep + time.Second)
	if _, _, err := db.IssueAccessToken(ctx, app.ClientID, secret, time.Minute); err != nil {
		t.Fatal(err)
	}
	checkToken(t, db, old, TokenUnknown, "")
	var n int
	if err := db.queryRowRaw(ctx, `SELECT COUNT(*) FROM access_tokens`).Scan(&n); err != nil || n != 1 {
		t.Errorf("got %d token rows (%v), want 1", n, err)
	}
}

// TestApplicationNameValidation checks the name rules.
func TestApplicationNameValidation(t *testing.T) {
	db, _ := mustOpen(t)
	for _, name := range []string{"", "   ", strings.Repeat("n", 201), "bad\nname"} {
		var ve *ValidationError
		if _, _, err := db.CreateApplication(context.Background(), name); !errors.As(err, &ve) || ve.Field != "name" {
			t.Errorf("name %q: got %v, want a validation error on name", name, err)
		}
	}
}

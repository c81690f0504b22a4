package web

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadOrCreateToken verifies that the first call creates a private
// token file and reports it, and later calls read the same token.
func TestLoadOrCreateToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, created, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created || len(tok) != 2*tokenBytes {
		t.Fatalf("got token %q created %v, want a new %d-character token", tok, created, 2*tokenBytes)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("got token file mode %o, want 600", mode)
	}
	again, created, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again != tok || created {
		t.Errorf("got token %q created %v on the second start, want %q and false", again, created, tok)
	}
	other, _, err := LoadOrCreateToken(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other == tok {
		t.Errorf("two data dirs got the same token %q", tok)
	}
}

// TestLoadTokenRejectsWeakFile verifies that a hand-written token file
// that is too short is refused rather than used.
func TestLoadTokenRejectsWeakFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, TokenFileName), []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateToken(dir); err == nil {
		t.Fatal("got no error for a 3-character token file, want one")
	}
}

// TestNewRequiresToken verifies that there are no default credentials.
func TestNewRequiresToken(t *testing.T) {
	e := newEnv(t)
	if _, err := New(Config{Store: e.db, Jobs: e.jobs, Connectors: e.conns}); err == nil {
		t.Fatal("got a server without a token, want an error")
	}
}

// TestAuth verifies which routes need the token, that a wrong or missing
// token is refused with 401 and a WWW-Authenticate challenge, and that
// /healthz needs none.
func TestAuth(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, path, auth string
		want             int
	}{
		{"healthz without token", "/healthz", "", 200},
		{"api without token", "/api/v1/connections", "", 401},
		{"api with wrong token", "/api/v1/connections", "Bearer " + testToken + "x", 401},
		{"api with basic auth", "/api/v1/connections", "Basic " + testToken, 401},
		{"api with token", "/api/v1/connections", "Bearer " + testToken, 200},
		{"lowercase scheme", "/api/v1/connections", "bearer " + testToken, 200},
		{"openapi without token", "/api/v1/openapi.json", "", 401},
		{"metrics without token", "/metrics", "", 401},
		{"metrics with token", "/metrics", "Bearer " + testToken, 200},
		{"unknown route without token", "/api/v1/nothing", "", 401},
		{"unknown route with token", "/api/v1/nothing", "Bearer " + testToken, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.url+c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("got status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("got no WWW-Authenticate header on a 401")
			}
		})
	}
}

// TestMetricsPublic verifies that /metrics can be served without the
// token when configured, while the API still needs it.
func TestMetricsPublic(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetricsPublic = true })
	for path, want := range map[string]int{"/metrics": 200, "/api/v1/jobs": 401} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without token: got %d, want %d", path, resp.StatusCode, want)
		}
	}
}

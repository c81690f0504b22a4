package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/protocol"
	"github.com/ferrysync/ferry/store"
	"github.com/ferrysync/ferry/web"
)

// noJobs and noConnectors complete web.Config for a server whose token
// routes are all the test calls.
type noJobs struct{}

var _ web.Jobs = noJobs{}

var errUnused = errors.New("not used by this test")

func (noJobs) Trigger(context.Context, string, store.JobType) (*store.Job, error) {
	return nil, errUnused
}
func (noJobs) Cancel(context.Context, int64) (*store.Job, error) { return nil, errUnused }
func (noJobs) Subscribe(context.Context, int64, func(*store.Job), func(int, string)) error {
	return errUnused
}

type noConnectors struct{}

var _ web.Connectors = noConnectors{}

func (noConnectors) Spec(context.Context, *store.Definition) (*web.SpecResult, error) {
	return nil, errUnused
}
func (noConnectors) Check(context.Context, *store.Definition, json.RawMessage) (*protocol.ConnectionStatus, error) {
	return nil, errUnused
}
func (noConnectors) Discover(context.Context, *store.Definition, json.RawMessage) (*protocol.Catalog, error) {
	return nil, errUnused
}

// startAPI serves the API on loopback over a real store in dir, with the
// token in dir/token, and returns its URL.
func startAPI(t *testing.T, dir string) string {
	t.Helper()
	token, _, err := web.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0", Token: token, Store: db, Jobs: noJobs{}, Connectors: noConnectors{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.URL()
}

// TestTokenCommand creates an application with ferry token create, trades
// the printed credentials for an access token, lists it, deletes it by
// name, and checks the token died with it.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	url := startAPI(t, dir)
	vars := map[string]string{"FERRY_URL": url, "FERRY_DATA_DIR": dir}

	r := runFerry(t, vars, "token", "create", "airflow")
	if r.code != exitOK || !strings.Contains(r.stdout, "shown only this once") {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	clientID := regexp.MustCompile(`client id\s+(\S+)`).FindStringSubmatch(r.stdout)
	secret := regexp.MustCompile(`client secret\s+(\S+)`).FindStringSubmatch(r.stdout)
	if clientID == nil || secret == nil || len(secret[1]) < 43 {
		t.Fatalf("create printed no client id or secret:\n%s", r.stdout)
	}

	body := `{"client_id":"` + clientID[1] + `","client_secret":"` + secret[1] + `","grant_type":"client_credentials"}`
	resp, err := http.Post(url+"/api/public/v1/applications/token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || tok.AccessToken == "" {
		t.Fatalf("token: got %d, %v, %+v", resp.StatusCode, err, tok)
	}
	if status := getWith(t, url+"/api/v1/connections", tok.AccessToken); status != 200 {
		t.Fatalf("API with the access token: got %d, want 200", status)
	}

	r = runFerry(t, vars, "token", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "airflow") || !strings.Contains(r.stdout, clientID[1]) || strings.Contains(r.stdout, secret[1]) {
		t.Fatalf("list: exit %d, want the application without its secret\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFerry(t, vars, "token", "list", "--json")
	var list struct{ Applications []appJSON }
	if err := json.Unmarshal([]byte(r.stdout), &list); r.code != exitOK || err != nil || len(list.Applications) != 1 {
		t.Fatalf("list --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}

	r = runFerry(t, vars, "token", "delete", "airflow")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deleted application") {
		t.Fatalf("delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if status := getWith(t, url+"/api/v1/connections", tok.AccessToken); status != 401 {
		t.Errorf("API with the token of a deleted application: got %d, want 401", status)
	}
	r = runFerry(t, vars, "token", "delete", "airflow")
	if r.code != exitFailed || !strings.Contains(r.stderr, `no application with id, client id or name "airflow"`) {
		t.Errorf("delete twice: exit %d, stderr %q", r.code, r.stderr)
	}
}

func getWith(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokenCommandErrors checks the usage and connection errors.
func TestTokenCommandErrors(t *testing.T) {
	dir := t.TempDir()
	url := startAPI(t, dir)
	empty := t.TempDir()
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		args     []string
		wantCode int
		inStderr string
	}{
		{"no verb", nil, []string{"token"}, exitUsage, "Usage: ferry token"},
		{"unknown verb", nil, []string{"token", "rotate", "x"}, exitUsage, "want: create NAME"},
		{"create without a name", nil, []string{"token", "create"}, exitUsage, "want: create NAME"},
		{"no token anywhere", map[string]string{"FERRY_DATA_DIR": empty}, []string{"token", "list"}, exitUsage, "no API token"},
		{"wrong token", map[string]string{"FERRY_URL": url, "FERRY_TOKEN": "wrong-token-0123456789"}, []string{"token", "list"}, exitFailed, "401"},
		{"no daemon", map[string]string{"FERRY_DATA_DIR": dir, "FERRY_URL": "http://127.0.0.1:1"}, []string{"token", "list"}, exitUnavailable, "cannot reach ferry serve"},
		{"empty name", map[string]string{"FERRY_URL": url, "FERRY_DATA_DIR": dir}, []string{"token", "create", " "}, exitFailed, "name is required"},
	} {
		r := runFerry(t, tc.vars, tc.args...)
		if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.inStderr) {
			t.Errorf("%s: got exit %d, stderr %q; want exit %d with %q", tc.name, r.code, r.stderr, tc.wantCode, tc.inStderr)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, "token")); err == nil {
		t.Error("the command wrote a token file")
	}
}

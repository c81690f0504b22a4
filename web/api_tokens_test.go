package web

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// manualClock is a clock tests move by hand, for the store's token expiry
// and the rate limiters.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTokenEnv is a test server whose store and limiters read one manual
// clock.
func newTokenEnv(t *testing.T) (*testEnv, *manualClock) {
	e := newEnv(t)
	clock := &manualClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	e.db.Now = clock.Now
	e.srv.sessions.auth.setClock(clock.Now)
	return e, clock
}

// rawRequest sends a request with no token unless auth is set, from the
// local address from (empty: the default), and returns status, headers
// and body.
func rawRequest(t *testing.T, from, method, u, contentType, body, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	client := http.DefaultClient
	if from != "" {
		// Linux routes all of 127/8 to loopback, so a second client
		// address needs no setup.
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// createApp creates an application through the API and returns it with
// its secret.
func createApp(t *testing.T, e *testEnv, name string) applicationJSON {
	t.Helper()
	var a applicationJSON
	e.do(t, "POST", "/api/public/v1/applications", map[string]any{"name": name, "unknownField": true}, 200, &a)
	if a.ClientSecret == "" || a.ClientSecret == hiddenSecret || a.ClientID == "" || a.CreatedAt == 0 {
		t.Fatalf("create: got %+v, want the secret in clear, a client id and a creation time", a)
	}
	return a
}

// getToken asks for an access token and returns it, failing unless the
// answer is 200 in Airbyte's AccessTokenResponse shape.
func getToken(t *testing.T, e *testEnv, prefix, contentType, body string) string {
	t.Helper()
	status, _, b := rawRequest(t, "", "POST", e.url+prefix+"/applications/token", contentType, body, "")
	if status != 200 {
		t.Fatalf("token: got %d %s, want 200", status, b)
	}
	var tok map[string]any
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	at, _ := tok["access_token"].(string)
	if at == "" || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(900) || len(tok) != 3 {
		t.Fatalf("token: got %s, want access_token, token_type Bearer and expires_in 900", b)
	}
	return at
}

// TestApplicationTokens walks the client-credentials flow as Airbyte's
// clients use it: create an application, trade its id and secret for a
// bearer token (JSON and form, both spellings, both prefixes), call the
// API with it, see it expire after 15 minutes and die with its
// application, while the static token keeps working throughout.
func TestApplicationTokens(t *testing.T) {
	e, clock := newTokenEnv(t)
	app := createApp(t, e, "airflow")

	var list struct{ Applications []applicationJSON }
	e.do(t, "GET", "/api/v1/applications", nil, 200, &list)
	if len(list.Applications) != 1 || list.Applications[0].ClientSecret != hiddenSecret || list.Applications[0].ID != app.ID {
		t.Fatalf("list: got %+v, want the application with its secret hidden", list)
	}
	var got applicationJSON
	e.do(t, "GET", "/api/public/v1/applications/"+app.ID, nil, 200, &got)
	if got.ClientSecret != hiddenSecret || got.ClientID != app.ClientID || got.CreatedAt != app.CreatedAt {
		t.Fatalf("get: got %+v, want %+v with the secret hidden", got, app)
	}

	tokens := []string{
		getToken(t, e, publicAPIPrefix, "application/json", `{"clientId":"`+app.ClientID+`","clientSecret":"`+app.ClientSecret+`"}`),
		getToken(t, e, apiPrefix, "application/json", `{"client_id":"`+app.ClientID+`","client_secret":"`+app.ClientSecret+`","grant-type":"client_credentials"}`),
		getToken(t, e, publicAPIPrefix, "application/x-www-form-urlencoded",
			url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "grant_type": {"client_credentials"}}.Encode()),
		getToken(t, e, apiPrefix, "", `{"clientId":"`+app.ClientID+`","client_secret":"`+app.ClientSecret+`","grantType":"client_credentials"}`),
		// Where Airbyte's generated SDKs post by default: /v1 on the host.
		getToken(t, e, "/v1", "application/x-www-form-urlencoded",
			url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "grant_type": {"client_credentials"}}.Encode()),
	}
	for i, tok := range tokens {
		if status, _, b := rawRequest(t, "", "GET", e.url+"/api/v1/connections", "", "", tok); status != 200 {
			t.Fatalf("token %d: got %d %s, want 200", i, status, b)
		}
	}

	clock.Advance(15*time.Minute - time.Second)
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/jobs", "", "", tokens[0]); status != 200 {
		t.Errorf("a second before expiry: got %d, want 200", status)
	}
	clock.Advance(time.Second)
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/jobs", "", "", tokens[0]); status != 401 {
		t.Errorf("at expiry: got %d, want 401", status)
	}

	fresh := getToken(t, e, apiPrefix, "application/json", `{"clientId":"`+app.ClientID+`","clientSecret":"`+app.ClientSecret+`"}`)
	var deleted applicationJSON
	e.do(t, "DELETE", "/api/public/v1/applications/"+app.ID, nil, 200, &deleted)
	if deleted.ID != app.ID {
		t.Errorf("delete: got %+v", deleted)
	}
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/jobs", "", "", fresh); status != 401 {
		t.Errorf("token of a deleted application: got %d, want 401", status)
	}
	e.fail(t, "GET", "/api/v1/applications/"+app.ID, nil, 404)
	e.do(t, "GET", "/api/v1/jobs", nil, 200, nil) // the static token still works

	for _, secret := range append(tokens, app.ClientSecret) {
		if strings.Contains(e.log.String(), secret) {
			t.Errorf("the log holds a secret or token")
		}
	}
}

// TestTokenRequestErrors checks that bad token requests are refused with
// the field named, and wrong credentials with a 401 that does not say
// which part was wrong.
func TestTokenRequestErrors(t *testing.T) {
	e, _ := newTokenEnv(t)
	app := createApp(t, e, "dagster")
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
		inMsg                   string
	}{
		{"no secret", "application/json", `{"clientId":"` + app.ClientID + `"}`, 400, "client_secret"},
		{"no client id", "application/x-www-form-urlencoded", "client_secret=x", 400, "client_id"},
		{"wrong grant", "application/json", `{"client_id":"a","client_secret":"b","grant_type":"password"}`, 400, "only client_credentials"},
		{"spellings disagree", "application/json", `{"client_id":"a","clientId":"b","client_secret":"c"}`, 400, "disagree"},
		{"not a string", "application/json", `{"client_id":1,"client_secret":"c"}`, 400, "must be a string"},
		{"malformed", "application/json", `{"client_id":`, 400, "malformed"},
		{"other media type", "text/plain", "client_id=a", 415, "Content-Type"},
		{"wrong secret", "application/json", `{"clientId":"` + app.ClientID + `","clientSecret":"nope"}`, 401, "wrong client id or client secret"},
		{"unknown client", "application/json", `{"clientId":"` + app.ID + `","clientSecret":"` + app.ClientSecret + `"}`, 401, "wrong client id or client secret"},
	} {
		status, _, b := rawRequest(t, "", "POST", e.url+"/api/public/v1/applications/token", tc.contentType, tc.body, "")
		if status != tc.want || !strings.Contains(string(b), tc.inMsg) {
			t.Errorf("%s: got %d %s, want %d with %q", tc.name, status, b, tc.want, tc.inMsg)
		}
	}
	e.fail(t, "POST", "/api/v1/applications", map[string]any{}, 400)
	e.fail(t, "POST", "/api/v1/applications", map[string]any{"name": " "}, 400)
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/public/v1/applications", "", "", ""); status != 401 {
		t.Errorf("list without a token: got %d, want 401", status)
	}
}

// TestTokenEndpointRateLimits checks the token route's limits per client
// id and per address, each answered 429 with a Retry-After after which a
// request goes through again.
func TestTokenEndpointRateLimits(t *testing.T) {
	e, clock := newTokenEnv(t)
	apps := []applicationJSON{createApp(t, e, "a"), createApp(t, e, "b"), createApp(t, e, "c"), createApp(t, e, "d")}
	body := func(a applicationJSON) string {
		return `{"clientId":"` + a.ClientID + `","clientSecret":"` + a.ClientSecret + `"}`
	}
	ask := func(from string, a applicationJSON) (int, string) {
		status, h, _ := rawRequest(t, from, "POST", e.url+"/api/v1/applications/token", "application/json", body(a), "")
		return status, h.Get("Retry-After")
	}
	for i := 0; i < tokenClientBurst; i++ {
		if status, _ := ask("", apps[0]); status != 200 {
			t.Fatalf("request %d of client a: got %d, want 200", i+1, status)
		}
	}
	if status, retry := ask("", apps[0]); status != 429 || retry != "6" {
		t.Fatalf("client a over its limit: got %d, Retry-After %q; want 429, 6", status, retry)
	}
	clock.Advance(tokenClientPeriod)
	if status, _ := ask("", apps[0]); status != 200 {
		t.Fatalf("client a after the wait: got %d, want 200", status)
	}

	// The address has spent 12 of its 30 (the 429 above counted too) and
	// regained 3 in the 6 s: 21 more go through, from clients b, c and d.
	ok := 0
	for i := 0; ok < 3*tokenClientBurst; i++ {
		status, retry := ask("", apps[1+i%3])
		if status == 429 {
			if retry != "2" {
				t.Errorf("address over its limit: Retry-After %q, want 2", retry)
			}
			break
		}
		ok++
	}
	if ok != 21 {
		t.Fatalf("got %d requests through before the address limit, want 21", ok)
	}
	if status, _ := ask("127.0.0.2", apps[3]); status != 200 {
		t.Fatalf("another address: got %d, want 200", status)
	}
}

// TestFailedCredentialsLimit is issue 18's finding: 500 wrong bearer
// tokens in a few seconds, then the right one worked. Now the address is
// refused (429, and 401 on routes outside the router's matches) until its
// bucket refills, other addresses are not, and the login form shares the
// same count.
func TestFailedCredentialsLimit(t *testing.T) {
	e, clock := newTokenEnv(t)
	var limited int
	for i := 0; i < 500; i++ {
		status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/connections", "", "", "wrong-token-0123456789-"+string(rune('a'+i%26)))
		switch {
		case status == 429:
			limited++
		case status != 401:
			t.Fatalf("wrong token %d: got %d, want 401 or 429", i, status)
		}
	}
	if limited != 500-failureBurst {
		t.Errorf("got %d of 500 wrong tokens limited, want %d", limited, 500-failureBurst)
	}
	status, h, b := rawRequest(t, "", "GET", e.url+"/api/v1/connections", "", "", testToken)
	if status != 429 || h.Get("Retry-After") != "3" || !strings.Contains(string(b), "too many failed credentials") {
		t.Fatalf("right token while limited: got %d (Retry-After %q) %s, want 429 after 3 s", status, h.Get("Retry-After"), b)
	}
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/no-such-route", "", "", testToken); status != 401 {
		t.Errorf("right token on an unknown route while limited: got %d, want 401 (no oracle)", status)
	}
	if status, _, _ := rawRequest(t, "127.0.0.2", "GET", e.url+"/api/v1/connections", "", "", testToken); status != 200 {
		t.Errorf("right token from another address: got %d, want 200", status)
	}
	resp, _ := e.page(t, "POST", "/login", nil, url.Values{"token": {testToken}})
	if resp.StatusCode != 429 || len(resp.Cookies()) != 0 {
		t.Errorf("login while limited: got %d with cookies %v, want 429 and none", resp.StatusCode, resp.Cookies())
	}
	clock.Advance(failurePeriod)
	if status, _, _ := rawRequest(t, "", "GET", e.url+"/api/v1/connections", "", "", testToken); status != 200 {
		t.Errorf("right token once a failure has refilled: got %d, want 200", status)
	}
	if !strings.Contains(e.log.String(), "too many failed credentials") {
		t.Errorf("the log does not say the address was limited")
	}
}

// TestLoginLimit checks that wrong tokens pasted at the login form are
// limited on their own, and that an expired access token is not taken
// for a guess.
func TestLoginLimit(t *testing.T) {
	e, clock := newTokenEnv(t)
	for i := 0; i < failureBurst; i++ {
		if resp, _ := e.page(t, "POST", "/login", nil, url.Values{"token": {"wrong-token-0123456789"}}); resp.StatusCode != 401 {
			t.Fatalf("wrong login %d: got %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := e.page(t, "POST", "/login", nil, url.Values{"token": {testToken}})
	if resp.StatusCode != 429 || !strings.Contains(body, "Too many wrong tokens") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right login after %d wrong: got %d, want 429 with the form's message and Retry-After\n%s", failureBurst, resp.StatusCode, body)
	}
	clock.Advance(time.Minute)
	if cookie, _ := e.login(t); cookie == nil {
		t.Fatal("login after a minute: no cookie")
	}

	e2, clock2 := newTokenEnv(t)
	app := createApp(t, e2, "expired")
	tok := getToken(t, e2, apiPrefix, "application/json", `{"clientId":"`+app.ClientID+`","clientSecret":"`+app.ClientSecret+`"}`)
	clock2.Advance(time.Hour)
	for i := 0; i < 2*failureBurst; i++ {
		if status, _, _ := rawRequest(t, "", "GET", e2.url+"/api/v1/jobs", "", "", tok); status != 401 {
			t.Fatalf("expired token %d: got %d, want 401, never 429", i+1, status)
		}
	}
	e2.do(t, "GET", "/api/v1/jobs", nil, 200, nil)
}

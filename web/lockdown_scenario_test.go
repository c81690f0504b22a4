package web

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// openRoutes are the routes documented as open: health for probes, the
// token exchanges (they take the client's credentials instead), the login
// page and the static files it needs. Keys are "METHOD path template".
var openRoutes = map[string]bool{
	"GET /healthz": true, "HEAD /healthz": true,
	"GET /api/v1/health": true, "HEAD /api/v1/health": true,
	"GET /api/public/v1/health": true, "HEAD /api/public/v1/health": true,
	"POST /api/v1/applications/token": true, "POST /api/public/v1/applications/token": true,
	"POST /v1/applications/token": true,
	"GET /login":                  true, "POST /login": true,
	"GET /static/": true, "HEAD /static/": true,
}

// routeVar fills a path variable with a value of the shape its pattern
// wants (ids are numbers or UUIDs).
var routeVar = regexp.MustCompile(`\{([^}:]+)(:[^}]+)?\}`)

// TestLockedDownRoutes is scenario 7's first half: every route the router
// registers (walked, so a route added later is covered) refuses a request
// without credentials, with 401, or for a page a redirect to the login
// page, except the documented open ones; a wrong token is refused too.
func TestLockedDownRoutes(t *testing.T) {
	e := newEnv(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	checked, open := 0, 0
	err := e.srv.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := r.GetPathTemplate()
		if err != nil {
			return nil // a route without a path (none today) matches nothing to test
		}
		methods, err := r.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet, http.MethodPost}
		}
		path := routeVar.ReplaceAllStringFunc(tmpl, func(v string) string {
			if strings.Contains(strings.ToLower(v), "jobid") || strings.Contains(v, "attemptNumber") {
				return "1"
			}
			return "00000000-0000-4000-8000-000000000001"
		})
		for _, m := range methods {
			key := m + " " + tmpl
			if openRoutes[key] {
				open++
				continue
			}
			for _, token := range []string{"", "wrong-token"} {
				req, _ := http.NewRequest(m, e.url+path, strings.NewReader(`{}`))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				checked++
				loc, _ := url.Parse(resp.Header.Get("Location"))
				toLogin := resp.StatusCode == http.StatusSeeOther && loc != nil && loc.Path == "/login"
				// 429: the wrong tokens before this one hit the limit on
				// guessing, which refuses the request all the same.
				limited := token != "" && resp.StatusCode == http.StatusTooManyRequests
				if resp.StatusCode != http.StatusUnauthorized && !limited && !(m == http.MethodGet && toLogin) && !(tmpl == "/" && resp.StatusCode == http.StatusSeeOther) {
					t.Errorf("%s %s with token %q: %d (Location %q), want 401 or a redirect to /login",
						m, path, token, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 || open < len(openRoutes)-2 {
		t.Fatalf("checked %d requests and skipped %d open routes: the walk missed the router", checked, open)
	}
	t.Logf("%d requests to closed routes refused; %d open routes", checked, open)
}

// TestStaticServesNoListing: the static files the login page needs are
// served without a token, but no directory is listed, with or without one.
func TestStaticServesNoListing(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/static/", "/static", "/static/./", "/static//"} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), ".css") {
			t.Errorf("GET %s: %d, lists %q; want no listing", p, resp.StatusCode, b)
		}
	}
	for _, f := range []string{"/static/ferry.css", "/static/ferry.js"} {
		resp, err := http.Get(e.url + f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200 (the login page needs it)", f, resp.StatusCode)
		}
	}
}

// TestHostNetworkIsOptIn: networkMode "host" is refused on create, PUT
// and PATCH with a message naming the switch, and accepted once the daemon
// allows it; another network mode is accepted either way.
func TestHostNetworkIsOptIn(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	one := "/api/v1/connections/" + f.conn
	for _, m := range []string{"PATCH", "PUT"} {
		ae := e.fail(t, m, one, map[string]any{"networkMode": "host"}, 400)
		if ae.Field != "networkMode" || !strings.Contains(ae.Message, "allow-host-network") {
			t.Errorf("%s host: %+v, want the switch named", m, ae)
		}
	}
	e.fail(t, "POST", "/api/v1/connections", map[string]any{"sourceId": f.src, "destinationId": f.dst, "networkMode": "HOST"}, 400)
	e.do(t, "PATCH", one, map[string]any{"networkMode": "bridge"}, 200, nil)

	allowed := newEnv(t, func(c *Config) { c.AllowHostNetwork = true })
	g := allowed.fixture()
	var c connectionJSON
	allowed.do(t, "PATCH", "/api/v1/connections/"+g.conn, map[string]any{"networkMode": "host"}, 200, &c)
	if c.NetworkMode != "host" {
		t.Errorf("allowed: networkMode %q, want host", c.NetworkMode)
	}
}

// TestCrossOriginFormsRefused: a browser's cross-site POST to the login
// form or to a form behind it is refused with 403, whatever it carries.
func TestCrossOriginFormsRefused(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	for _, p := range []string{"/login", "/connections/" + f.conn + "/sync", "/logout"} {
		req, _ := http.NewRequest("POST", e.url+p, strings.NewReader("token="+testToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
}

package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TestUILogin verifies the login flow: pages send a browser without a
// session to the login page, a wrong token is refused without a cookie,
// the right one sets an HttpOnly, SameSite=Strict session cookie that is
// not the token, and that cookie opens pages but not the API, which
// keeps wanting the bearer header. /healthz stays open.
func TestUILogin(t *testing.T) {
	e := newEnv(t)

	resp, _ := e.page(t, "GET", "/connections?x=1", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/connections?x=1") {
		t.Fatalf("no session: got %d to %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.page(t, "GET", "/login?next=/jobs", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) || !strings.Contains(body, `value="/jobs"`) {
		t.Fatalf("login page: got %d\n%s", resp.StatusCode, body)
	}

	resp, body = e.page(t, "POST", "/login", nil, url.Values{"token": {"wrong-token-0123456789"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the token") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: got %d, cookies %v, want 401 with the form again and no cookie\n%s", resp.StatusCode, resp.Cookies(), body)
	}

	cookie, _ := e.login(t)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure {
		t.Errorf("cookie: got %+v, want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", cookie)
	}
	if strings.Contains(cookie.Value, testToken) {
		t.Errorf("the cookie carries the token: %q", cookie.Value)
	}
	if resp, body := e.page(t, "GET", "/connections", cookie, nil); resp.StatusCode != 200 || !strings.Contains(body, "Log out") {
		t.Errorf("with the cookie: got %d, want the connections page\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.page(t, "GET", "/login", cookie, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login page while logged in: got %d, want 303 on", resp.StatusCode)
	}

	req, _ := http.NewRequest("GET", e.url+"/api/v1/jobs", nil)
	req.AddCookie(cookie)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the cookie only: got %v %v, want 401", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	e.do(t, "GET", "/api/v1/jobs", nil, 200, nil)
	if resp, err := http.Get(e.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: got %v %v, want 200 without a token", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A script may read pages with the bearer header instead.
	resp, _ = e.page(t, "GET", "/jobs", nil, nil, "Authorization", "Bearer "+testToken)
	if resp.StatusCode != 200 {
		t.Errorf("page with the bearer header: got %d, want 200", resp.StatusCode)
	}
}

// TestUICSRF verifies that a form post needs the session's CSRF token
// and a same-origin request, and that logging out clears the cookie.
func TestUICSRF(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	cookie, csrf := e.login(t)
	other, otherCSRF := e.login(t)
	if otherCSRF == csrf || other.Value == cookie.Value {
		t.Fatal("two logins got the same session")
	}
	sync := "/connections/" + f.conn + "/sync"
	for _, c := range []struct {
		name   string
		cookie *http.Cookie
		form   url.Values
		header []string
		want   int
	}{
		{"no session", nil, url.Values{"csrf": {csrf}}, nil, http.StatusUnauthorized},
		{"no token", cookie, url.Values{}, nil, http.StatusForbidden},
		{"wrong token", cookie, url.Values{"csrf": {"x" + csrf}}, nil, http.StatusForbidden},
		{"another session's token", cookie, url.Values{"csrf": {otherCSRF}}, nil, http.StatusForbidden},
		{"cross-site", cookie, url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"other origin", cookie, url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
	} {
		resp, body := e.page(t, "POST", sync, c.cookie, c.form, c.header...)
		if resp.StatusCode != c.want || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: got %d %s, want %d as a page\n%s", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.want, body)
		}
	}
	if _, n, _ := e.db.Jobs(t.Context(), jobFilter(f.conn)); n != 0 {
		t.Fatalf("refused posts created %d jobs", n)
	}

	resp, _ := e.page(t, "POST", sync, cookie, url.Values{"csrf": {csrf}}, "Sec-Fetch-Site", "same-origin")
	jobs, n, _ := e.db.Jobs(t.Context(), jobFilter(f.conn))
	if resp.StatusCode != http.StatusSeeOther || n != 1 || resp.Header.Get("Location") != path("/jobs/%d", jobs[0].ID) {
		t.Fatalf("sync now: got %d to %q and %d jobs, want 303 to the new job", resp.StatusCode, resp.Header.Get("Location"), n)
	}
	if jobs[0].Trigger != store.TriggerManual {
		t.Errorf("sync now: the job's trigger is %q, want %q (a person in the UI)", jobs[0].Trigger, store.TriggerManual)
	}
	// A second sync while the first is active is a 409 page that links to
	// the active job.
	if resp, body := e.page(t, "POST", sync, cookie, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, path(`id="active-job" href="/jobs/%d"`, jobs[0].ID)) && !strings.Contains(body, path(`href="/jobs/%d" id="active-job"`, jobs[0].ID)) {
		t.Errorf("second sync: got %d, want a 409 page\n%s", resp.StatusCode, body)
	}

	resp, _ = e.page(t, "POST", "/logout", cookie, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: got %d, cookies %v, want 303 and the cookie deleted", resp.StatusCode, resp.Cookies())
	}
}

// TestSessions verifies that a session cookie expires, that a tampered
// one is refused, and that one issued under another token is refused
// (replacing the token ends every session).
func TestSessions(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ss := newSessions(testToken, nil)
	ss.now = func() time.Time { return now }
	value, expires := ss.issue()
	if !expires.Equal(now.Add(sessionTTL)) {
		t.Errorf("expires: got %v, want %v", expires, now.Add(sessionTTL))
	}
	sess, ok := ss.verify(value)
	if !ok || sess.csrf == "" || !sess.checkCSRF(sess.csrf) || sess.checkCSRF("") {
		t.Fatalf("fresh session: got %+v, %v", sess, ok)
	}
	exp, rest, _ := strings.Cut(value, ".")
	for name, v := range map[string]string{
		"later expiry":  exp + "9" + "." + rest,
		"other nonce":   exp + ".AAAA" + rest[4:],
		"no mac":        exp + "." + strings.Split(rest, ".")[0],
		"empty":         "",
		"token":         testToken,
		"another token": func() string { v, _ := newSessions("another-token-0123456789", nil).issue(); return v }(),
	} {
		if _, ok := ss.verify(v); ok {
			t.Errorf("%s: a forged cookie was accepted", name)
		}
	}
	now = now.Add(sessionTTL)
	if _, ok := ss.verify(value); ok {
		t.Error("an expired session was accepted")
	}
	if !ss.checkToken(" "+testToken+"\n") || ss.checkToken(testToken[:len(testToken)-1]) || ss.checkToken("") {
		t.Error("checkToken: want the token (pasted with whitespace) and nothing else")
	}
}

// TestLoginNextStaysLocal verifies that the login page's next parameter,
// after a login or for a browser already logged in, never redirects to
// another host, including the forms a browser's URL parser turns into
// one: it strips tabs and newlines, so "/\t/evil.example" is
// "//evil.example" there.
func TestLoginNextStaysLocal(t *testing.T) {
	e := newEnv(t)
	cookie, _ := e.login(t)
	for _, next := range []string{"//evil.example", "/\\evil.example", "/\t/evil.example", "/\x0b/evil.example",
		"/%09/evil.example", "https://evil.example/", "/\x00/evil.example", " //evil.example"} {
		resp, _ := e.page(t, "GET", "/login?next="+url.QueryEscape(next), cookie, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || strings.ContainsFunc(loc, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Errorf("logged in, next %q: got %d to %q, want 303 to a local path", next, resp.StatusCode, loc)
		}
		resp, _ = e.page(t, "POST", "/login", nil, url.Values{"token": {testToken}, "next": {next}})
		loc = resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || strings.ContainsFunc(loc, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Errorf("login, next %q: got %d to %q, want 303 to a local path", next, resp.StatusCode, loc)
		}
	}
}

// TestSessionSharedAcrossReplicas runs two servers on one store, as two
// replicas on one database do: each asks the store for the session key
// (offering a different one), and a login made on the first server is
// accepted by the second, its CSRF token included. A server with another
// key refuses the cookie.
func TestSessionSharedAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	key := func(offer string) []byte {
		v, err := e.db.SharedSecret(t.Context(), "ui_session_key", offer)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(v)
	}
	open := func(sessionKey []byte) *testEnv {
		srv, err := New(Config{Addr: "127.0.0.1:0", Token: testToken, SessionKey: sessionKey,
			Store: e.db, Jobs: e.jobs, Connectors: e.conns})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return &testEnv{t: t, dir: e.dir, db: e.db, jobs: e.jobs, conns: e.conns, log: e.log, srv: srv, url: srv.URL()}
	}
	a, b := open(key("replica-a-key")), open(key("replica-b-key"))
	cookie, csrf := a.login(t)
	if resp, _ := b.page(t, "GET", "/connections", cookie, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the other replica: GET /connections with the first one's cookie got %d, want 200", resp.StatusCode)
	}
	if resp, _ := b.page(t, "POST", "/logout", cookie, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other replica: logout with the first one's CSRF token got %d, want 303", resp.StatusCode)
	}
	other := open([]byte("not-the-shared-key"))
	if resp, _ := other.page(t, "GET", "/connections", cookie, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a server with another session key: got %d, want 303 to the login page", resp.StatusCode)
	}
}

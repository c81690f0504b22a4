package web

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ferrysync/ferry/store"
)

// TestBrowser walks the UI the way a user does, in headless Chromium: the
// connections page sends it to the login page, a wrong token is refused,
// the right one logs in with an HttpOnly, SameSite=Strict cookie; Reset
// asks first; Sync now opens the job page, which shows the log lines live
// while the job runs and follows it to its end; and no page's markup
// holds a secret, not even the line where a connector logged one.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	var sim *simJobs
	e := newEnv(t, func(cfg *Config) {
		sim = newSimJobs(t, cfg.Store.(*store.DB))
		cfg.Jobs = sim
	})
	sim.Lines = []string{"starting the read", "read 100 records of users", "connecting with password " + srcPassword,
		"read 200 records of users", "read 300 records of users", "read 400 records of users", "flushed every record"}
	f := e.fixture()
	row := "#connection-" + f.conn

	b.run(t, "open the connections page", chromedp.Navigate(e.url+"/connections"),
		chromedp.WaitVisible("#token", chromedp.ByID))
	if loc := b.location(t); !strings.HasSuffix(loc, "/login?next=%2Fconnections") {
		t.Fatalf("without a session: at %s, want the login page", loc)
	}

	var msg string
	b.run(t, "log in with a wrong token", chromedp.SendKeys("#token", "not-the-token-0123456789", chromedp.ByID),
		chromedp.Submit("#token", chromedp.ByID), chromedp.WaitVisible("p.error", chromedp.ByQuery),
		chromedp.Text("p.error", &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "not the token") || b.sessionCookie(t, e.url) != nil {
		t.Fatalf("wrong token: got %q and cookie %+v, want a refusal and no cookie", msg, b.sessionCookie(t, e.url))
	}

	b.run(t, "log in", chromedp.SendKeys("#token", testToken, chromedp.ByID), chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible(row+" button.sync", chromedp.ByQuery))
	c := b.sessionCookie(t, e.url)
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || strings.Contains(c.Value, testToken) {
		t.Fatalf("session cookie: got %+v, want HttpOnly, SameSite=Strict, not the token", c)
	}
	if html := b.checkPageNoSecrets(t, "connections"); !strings.Contains(html, "src → dst") || !strings.Contains(html, "never run") {
		t.Errorf("connections page: want the connection, never run\n%s", html)
	}

	// Clear asks first; saying no sends nothing. A listener on window runs
	// after the page's own (on document) and counts the submits it let
	// through. The click returns once the dialog is answered and the
	// submit event is handled, so the count is final then.
	b.accept.Store(false)
	var submitted int
	b.run(t, "click Clear and decline",
		chromedp.Evaluate(`window.submits = 0; window.addEventListener("submit", (ev) => { if (!ev.defaultPrevented) window.submits++; });`, nil),
		chromedp.Click(row+" button.clear", chromedp.ByQuery),
		chromedp.Evaluate(`window.submits`, &submitted))
	if _, n, _ := e.db.Jobs(t.Context(), jobFilter(f.conn)); b.dialogs.Load() != 1 || submitted != 0 || n != 0 {
		t.Fatalf("declined clear: %d dialogs, %d forms sent and %d jobs, want 1 dialog and nothing sent", b.dialogs.Load(), submitted, n)
	}

	b.run(t, "click Sync now", chromedp.Click(row+" button.sync", chromedp.ByQuery),
		chromedp.WaitVisible("#job-status", chromedp.ByID))
	jobs, _, _ := e.db.Jobs(t.Context(), jobFilter(f.conn))
	if len(jobs) != 1 || !strings.HasSuffix(b.location(t), path("/jobs/%d", jobs[0].ID)) {
		t.Fatalf("after Sync now: at %s with jobs %v, want the new job's page", b.location(t), jobs)
	}
	v := b.followJob(t, sim, "flushed every record")
	if v.Status != "succeeded" {
		t.Errorf("job page: got status %s, want succeeded", v.Status)
	}
	if !strings.Contains(v.Log, "connecting with password "+store.Mask) || strings.Count(v.Log, "\n") != len(sim.Lines) {
		t.Errorf("live log: want %d lines, the password masked; got\n%s", len(sim.Lines), v.Log)
	}
	html := b.checkPageNoSecrets(t, "job page")
	for _, want := range []string{"socket, PROTOBUF, 2 sockets", "COMPLETE", "700 records"} {
		if !strings.Contains(html, want) {
			t.Errorf("job page: want %q\n%s", want, html)
		}
	}

	for _, p := range []struct{ path, want string }{
		{"/connections/" + f.conn, "updated_at"},
		{"/jobs?status=succeeded", `class="badge succeeded"`},
		{"/sources", store.Mask},
		{"/destinations", store.Mask},
		{"/definitions", "ferry/source-test:dev"},
	} {
		b.run(t, "open "+p.path, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible("main h1", chromedp.ByQuery))
		if html := b.checkPageNoSecrets(t, p.path); !strings.Contains(html, p.want) {
			t.Errorf("%s: want %q\n%s", p.path, p.want, html)
		}
	}

	// Clear, confirmed, runs a clear job.
	b.accept.Store(true)
	b.run(t, "click Clear and confirm", chromedp.Navigate(e.url+"/connections"),
		chromedp.Click(row+" button.clear", chromedp.ByQuery), chromedp.WaitVisible("#job-status", chromedp.ByID))
	jobs, _, _ = e.db.Jobs(t.Context(), jobFilter(f.conn))
	if len(jobs) != 2 || jobs[0].Type != store.JobClear {
		t.Fatalf("confirmed clear: got jobs %v, want a new clear job", jobs)
	}
	b.followJob(t, sim, "flushed every record")

	b.run(t, "log out", chromedp.Click("form.logout button", chromedp.ByQuery), chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.Navigate(e.url+"/jobs"), chromedp.WaitVisible("#token", chromedp.ByID))
	if b.sessionCookie(t, e.url) != nil {
		t.Error("the session cookie outlived logging out")
	}
}

package web

import (
	"context"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ferrysync/ferry/store"
)

// The browser tier: the real server on loopback, a real store on a temp
// SQLite file, the simulated worker at the Jobs seam, and Debian's
// Chromium driven headless with chromedp. It skips without a Chromium
// binary, and fails instead when FERRY_REQUIRE_BROWSER=1 (CI).

// chromiumPath finds the browser (FERRY_CHROMIUM names another one), or
// skips, or fails under FERRY_REQUIRE_BROWSER=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	names := []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}
	if p := os.Getenv("FERRY_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium binary for the browser tests (apt-get install chromium)"
	if os.Getenv("FERRY_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + ", and FERRY_REQUIRE_BROWSER=1 requires them")
	}
	t.Skip(msg + "; set FERRY_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// browser is a headless Chromium with a fresh profile, and how it answers
// confirm dialogs.
type browser struct {
	ctx     context.Context
	accept  atomic.Bool  // the answer to the next confirm dialog
	dialogs atomic.Int64 // confirm dialogs seen
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	// A fresh profile, removed by hand rather than by t.TempDir: Chromium's
	// helper processes can still be writing to it for a moment after the
	// browser exits, which would fail TempDir's cleanup.
	profile, err := os.MkdirTemp("", "ferry-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	// One deadline for the whole browser session: a hung page fails the
	// test instead of the package timeout. It only guards against a hang,
	// so it is long enough for a session on a loaded machine.
	tctx, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(tctx, opts...)
	// chromedp reports protocol hiccups through log.Printf; keep them and
	// show them only when the test fails.
	var cdpLog syncBuffer
	logf := log.New(&cdpLog, "chromedp: ", 0).Printf
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // asks the browser to close, and waits for it
		cancelCtx()
		cancelAlloc() // waits for the process
		cancelTimeout()
		for i := 0; i < 50; i++ {
			if err = os.RemoveAll(profile); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Logf("remove the browser profile: %v", err)
		}
		if t.Failed() && cdpLog.String() != "" {
			t.Logf("chromedp log:\n%s", cdpLog.String())
		}
	})
	b := &browser{ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.dialogs.Add(1)
			accept := b.accept.Load()
			// The click that opened the dialog blocks until it is
			// answered, so answer from another goroutine.
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(accept)) }()
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	return b
}

// run runs browser actions and fails the test on an error.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// html returns the whole page's markup.
func (b *browser) html(t *testing.T) string {
	t.Helper()
	var html string
	b.run(t, "read the page", chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	return html
}

// location returns the page's URL.
func (b *browser) location(t *testing.T) string {
	t.Helper()
	var loc string
	b.run(t, "read the location", chromedp.Location(&loc))
	return loc
}

// sessionCookie returns the browser's session cookie for the server, or
// nil.
func (b *browser) sessionCookie(t *testing.T, url string) *network.Cookie {
	t.Helper()
	var cookies []*network.Cookie
	b.run(t, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{url}).Do(ctx)
		return err
	}))
	for _, c := range cookies {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

// jobView is what the job page shows of the live job.
type jobView struct {
	Status string `json:"status"`
	Log    string `json:"log"`
	Ended  bool   `json:"ended"`
	Reload string `json:"reload"`
}

const jobViewJS = `(() => {
	const s = document.getElementById("job-status"), l = document.getElementById("log"), live = document.getElementById("live");
	return {status: s ? s.textContent : "", log: l ? l.textContent : "",
		ended: !!live && live.getAttribute("data-ended") === "true", reload: live ? live.getAttribute("data-reload") : ""};
})()`

// followJob watches the job page of a job the simulated worker holds
// running. First the page must show the job running with every line of
// its log, streamed live (the worker writes them all, then waits); then
// the worker is released, and the page must follow the job to its end
// through its own reload, showing the log again. The deadline only
// guards against a hang: each state waited for comes.
func (b *browser) followJob(t *testing.T, sim *simJobs, lastLine string) jobView {
	t.Helper()
	b.waitJobView(t, "the running job with its whole log", func(v jobView) bool {
		return v.Status == "running" && strings.Contains(v.Log, lastLine)
	})
	sim.release(t)
	return b.waitJobView(t, "the ended job with its log", func(v jobView) bool {
		return store.JobStatus(v.Status).Terminal() && v.Ended && v.Reload == "false" && strings.Contains(v.Log, lastLine)
	})
}

// waitJobView reads the job page until cond holds.
func (b *browser) waitJobView(t *testing.T, what string, cond func(jobView) bool) jobView {
	t.Helper()
	var v jobView
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// Errors are expected while the page reloads itself.
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(jobViewJS, &v)); err == nil && cond(v) {
			return v
		}
	}
	t.Fatalf("the job page never showed %s; last seen %+v", what, v)
	return v
}

// checkPageNoSecrets checks the page's whole markup for secrets.
func (b *browser) checkPageNoSecrets(t *testing.T, where string) string {
	t.Helper()
	html := b.html(t)
	checkNoSecrets(t, where, html)
	return html
}

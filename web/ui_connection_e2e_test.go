package web

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// connSecret is planted in the scripted source's config; no page may
// show it.
const connSecret = "sntl-conn&7d1e<q"

// TestBrowserConnectionAndLiveJob is the connection half of the UI end to
// end: a real `ferry serve` on Docker, headless Chromium. It builds a
// connection in the browser (two of the scripted source's three streams,
// one incremental on the source's cursor, a Quartz cron schedule in a
// zone with its next runs shown before saving), syncs it with a throttled
// source and watches the job page move (two different intermediate counts
// and a growing chart, from the SSE events, no sleeps), opens the log,
// finds the JSONL files filled, clears the connection (the confirmation's
// exact text) and finds them empty and the state gone, and edits the
// schedule. Every page is screenshotted at 1280 and 390 px.
func TestBrowserConnectionAndLiveJob(t *testing.T) {
	b := newBrowser(t)
	runnertest.RequireDocker(t)
	srcImage := runnertest.BuildImage(t, "connector-scripted", "./connectors/connector-scripted")
	dstImage := runnertest.BuildImage(t, "destination-jsonl", "./connectors/destination-jsonl")
	s := startServe(t)
	check := &sentinelCheck{secrets: []string{connSecret}}
	p := &pageShots{b: b, dir: t.ArtifactDir(), check: check}
	q := chromedp.ByQuery

	// The ends through the API: the connector pages have their own test.
	var def struct {
		DefinitionID string `json:"definitionId"`
	}
	var actor struct {
		SourceID      string `json:"sourceId"`
		DestinationID string `json:"destinationId"`
	}
	s.api(t, "POST", "/definitions", map[string]any{"name": "scripted", "kind": "source", "image": srcImage}, &def)
	s.api(t, "POST", "/sources", map[string]any{"name": "Paced shop", "definitionId": def.DefinitionID, "configuration": map[string]any{
		"streams": []string{"orders", "users", "events"}, "secret": connSecret,
		"source": map[string]any{"records": 16, "state_every": 4, "pace_ms": 250}}}, &actor)
	srcID := actor.SourceID
	s.api(t, "POST", "/definitions", map[string]any{"name": "jsonl", "kind": "destination", "image": dstImage}, &def)
	s.api(t, "POST", "/destinations", map[string]any{"name": "Lake", "definitionId": def.DefinitionID,
		"configuration": map[string]any{"destination_path": "/local/out"}}, &actor)
	dstID := actor.DestinationID

	b.run(t, "sign in", chromedp.Navigate(s.url+"/connections"), chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", s.token, chromedp.ByID), chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("#new-connection", chromedp.ByID))
	p.shot(t, "connections-empty")
	b.run(t, "pick the ends", chromedp.Click("#new-connection", chromedp.ByID), chromedp.WaitVisible("#pick", chromedp.ByID),
		chromedp.SetValue("#f-sourceId", srcID, chromedp.ByID), chromedp.SetValue("#f-destinationId", dstID, chromedp.ByID),
		chromedp.Click("#pick-ends", chromedp.ByID), chromedp.WaitVisible("#connection-form", chromedp.ByID))
	p.shot(t, "connection-new")
	b.run(t, "choose streams and a Quartz schedule",
		chromedp.SendKeys("#f-name", "Shop → lake", chromedp.ByID),
		chromedp.Click(`#stream-events input[type=checkbox][name$=".selected"]`, q),
		setField(`#stream-orders select[name$=".syncMode"]`, "incremental_append"),
		setField(`#stream-users select[name$=".syncMode"]`, "full_refresh_overwrite"),
		setField(`select[name="schedule.type"]`, "cron"),
		setField(`input[name="schedule.cron"]`, "0 0 3 * * ?"),
		setField(`input[name="schedule.timezone"]`, "Europe/Berlin"),
		// The preview answers the typed schedule: three runs at 03:00 CET.
		chromedp.Poll(`document.querySelectorAll("#next-runs li").length === 3 &&
			document.querySelector("#next-runs li").textContent.includes("03:00:00 CE")`, nil, chromedp.WithPollingTimeout(time.Minute)))
	page := p.shot(t, "connection-new-filled")
	if !strings.Contains(page, "Incremental | Append") {
		t.Errorf("the builder lacks Airbyte's mode names\n%s", page)
	}
	b.run(t, "create", chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#edit", chromedp.ByID))
	page = p.shot(t, "connection-created")
	for _, want := range []string{"cron 0 0 3 * * ? (Europe/Berlin)", "incremental_append", "full_refresh_overwrite", "orders", "users"} {
		if !strings.Contains(page, want) {
			t.Errorf("connection page: want %q\n%s", want, page)
		}
	}
	if strings.Contains(page, ">events<") {
		t.Errorf("connection page: events was left out but is listed")
	}
	connURL := strings.TrimSuffix(b.location(t), "?done=created")

	// Sync now, and watch the job page move from the events.
	b.run(t, "sync now", chromedp.Click("#sync", chromedp.ByID), chromedp.WaitVisible("#progress", chromedp.ByID))
	jobURL := b.location(t)
	var seen struct {
		Counts int `json:"counts"`
		Grown  int `json:"grown"`
	}
	var watched string
	t.Cleanup(func() {
		if t.Failed() {
			_ = chromedp.Run(b.ctx, chromedp.Evaluate(`JSON.stringify({counts: window.__watch && [...window.__watch.counts],
				first: window.__watch && window.__watch.first, max: window.__watch && window.__watch.max,
				emitted: document.getElementById("p-emitted") && document.getElementById("p-emitted").textContent,
				log: document.getElementById("log") && document.getElementById("log").textContent.slice(0, 3000)})`, &watched))
			t.Logf("the job page as watched: %s", watched)
		}
	})
	b.run(t, "watch two intermediate counts and the chart grow", chromedp.Poll(`(() => {
			const w = window.__watch = window.__watch || {counts: new Set(), first: null, max: 0};
			const t = document.getElementById("p-emitted").textContent;
			if (!t.startsWith("0 records") && !t.startsWith("32 records")) { w.counts.add(t); }
			const n = Number(document.getElementById("chart").getAttribute("data-count"));
			if (w.first === null) { w.first = n; }
			w.max = Math.max(w.max, n);
			const res = {counts: w.counts.size, grown: w.max - w.first};
			return res.counts >= 2 && res.grown >= 2 ? res : null;
		})()`, &seen, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second)))
	p.shot(t, "job-running")
	jobID := jobURL[strings.LastIndex(jobURL, "/")+1:]
	if st := s.waitJob(t, atoi64(t, jobID)); st != "succeeded" {
		t.Fatalf("sync: %s, want succeeded", st)
	}
	b.run(t, "the finished job", chromedp.Navigate(jobURL), chromedp.WaitVisible("#chart", chromedp.ByID))
	var drawn string
	b.run(t, "read the chart", chromedp.AttributeValue("#chart", "data-count", &drawn, nil, chromedp.ByID))
	if n, _ := strconv.Atoi(drawn); n < 3 || !strings.Contains(p.shot(t, "job-succeeded"), "32 records") {
		t.Errorf("finished job: want 32 records and a chart of recorded samples (got %s points)", drawn)
	}
	var logText string
	b.run(t, "open the log", chromedp.Navigate(jobURL+"/attempts/1/log"), chromedp.Text("body", &logText, q))
	if !strings.Contains(logText, "orders") || strings.Contains(logText, connSecret) {
		t.Errorf("the attempt log: want the run's lines without the secret\n%s", logText)
	}
	for _, stream := range []string{"orders", "users"} {
		if n := jsonlCount(t, s, stream); n != 16 {
			t.Errorf("%s.jsonl: %d lines after the sync, want 16", stream, n)
		}
	}
	if n := jsonlCount(t, s, "events"); n > 0 {
		t.Errorf("events.jsonl: %d lines, want none (not selected)", n)
	}

	// Clear: the confirmation says what happens, the files empty, the
	// state goes.
	var confirm string
	b.run(t, "read the clear's confirmation", chromedp.Navigate(connURL), chromedp.WaitVisible("#clear", chromedp.ByID),
		chromedp.AttributeValue(`form[action$="/clear"]`, "data-confirm", &confirm, nil, q))
	if want := "Clear Shop → lake? This empties its selected streams (orders, users) in the destination and clears its committed state, so the next sync starts from nothing. The clear runs as a job with its own log."; confirm != want {
		t.Errorf("clear confirmation:\n got %q\nwant %q", confirm, want)
	}
	b.accept.Store(true)
	b.run(t, "clear", chromedp.Click("#clear", chromedp.ByID), chromedp.WaitVisible("#job-status", chromedp.ByID))
	clearURL := b.location(t)
	if st := s.waitJob(t, atoi64(t, clearURL[strings.LastIndex(clearURL, "/")+1:])); st != "succeeded" {
		t.Fatalf("clear: %s, want succeeded", st)
	}
	for _, stream := range []string{"orders", "users"} {
		if n := jsonlCount(t, s, stream); n > 0 {
			t.Errorf("%s.jsonl: %d lines after the clear, want none", stream, n)
		}
	}
	b.run(t, "the connection after the clear", chromedp.Navigate(connURL), chromedp.WaitVisible("#state-type", chromedp.ByID))
	if page := p.shot(t, "connection-cleared"); !strings.Contains(page, "Committed state: not_set.") {
		t.Errorf("after the clear: want no committed state\n%s", page)
	}

	// Edit: an interval instead of the cron.
	b.run(t, "edit", chromedp.Click("#edit", chromedp.ByID), chromedp.WaitVisible("#connection-form", chromedp.ByID))
	p.shot(t, "connection-edit")
	b.run(t, "every 12 hours", setField(`select[name="schedule.type"]`, "interval"),
		setField(`input[name="schedule.interval"]`, "12"), setField(`select[name="schedule.unit"]`, "hours"),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#done", chromedp.ByID))
	if page := p.shot(t, "connection-saved"); !strings.Contains(page, "every 12h00m") {
		t.Errorf("after the edit: want the interval schedule\n%s", page)
	}
	b.run(t, "jobs list", chromedp.Navigate(s.url+"/jobs"), chromedp.WaitVisible("main h1", q))
	p.shot(t, "jobs")
	check.search(t, "ferry serve's output", s.stderr.String())
	check.search(t, "the attempt logs", s.attemptLogs(t))
	t.Logf("saw %d intermediate counts and %d new chart points live; %d screenshots in %s: %s", seen.Counts, seen.Grown,
		len(p.files), p.dir, strings.Join(p.files, " "))
}

// jsonlCount counts the lines of destination-jsonl's file of a stream
// under the served data dir's local root; a missing file has none.
func jsonlCount(t *testing.T, s *served, stream string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dir, "local", "out", stream+".jsonl"))
	if os.IsNotExist(err) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(raw, []byte("\n"))
}

func atoi64(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a job id: %q", s)
	}
	return n
}

// setField sets a form control's value as a user would, with the input
// and change events the page's script listens to.
func setField(selector, value string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`,
		selector, value)
	return chromedp.Evaluate(js, nil)
}

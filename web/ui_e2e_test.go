package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferrysync/ferry/runner/runnertest"
)

// Sentinel secrets the end-to-end test types into the forms. formToken
// is the one api_token the formconn connector's check accepts (its
// wantToken). Each has
// characters that HTML, JSON and URLs escape, so every encoding differs.
const (
	formToken    = "sntl-token&3f9a<7c"
	formWrong    = "sntl-wrong&1234<v"
	formAPIKey   = "sntl-apikey&81d2<x"
	formEndpoint = "sntl-endpoint&55e1<y"
	formTunnel   = "sntl-tunnel&0b7f<z"
	formDest     = "sntl-dest&9c3e<w"
)

// TestBrowserConnectorSetup is the connector half of the UI end to end:
// a real `ferry serve` on Docker, headless Chromium. It signs in, adds
// connector images (one missing, shown with the engine's reason),
// creates a source through its generated form (a oneOf choice, a row
// added without JavaScript, secrets at the top, in the variant, in the
// row and behind a $ref), tests it with a wrong token (refused, the
// token masked) and saves it right (check succeeded), creates a
// destination, edits the source without retyping a secret and checks it
// still works, sees deletion refused while a connection uses it, and
// syncs. Every page is screenshotted at 1280 and 390 px into the test's
// artifact directory (go test -artifacts), and every page's markup, every
// form value, the attempt logs and the daemon's output are searched for
// the secrets in every encoding.
func TestBrowserConnectorSetup(t *testing.T) {
	b := newBrowser(t)
	runnertest.RequireDocker(t)
	srcImage := runnertest.BuildImage(t, "source-formconn", "./web/testdata/formconn")
	dstImage := runnertest.BuildImage(t, "connector-scripted", "./connectors/connector-scripted")
	s := startServe(t)
	check := &sentinelCheck{secrets: []string{formToken, formWrong, formAPIKey, formEndpoint, formTunnel, formDest}}
	p := &pageShots{b: b, dir: t.ArtifactDir(), check: check}
	q := chromedp.ByQuery
	field := func(name string) string { return `[name="` + name + `"]` }

	b.run(t, "sign in", chromedp.Navigate(s.url+"/definitions"), chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", s.token, chromedp.ByID), chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("a#new", q))
	p.shot(t, "definitions")

	addDefinition := func(name, kind, image string) string {
		b.run(t, "add definition "+name, chromedp.Navigate(s.url+"/definitions/new"), chromedp.WaitVisible("#f-name", chromedp.ByID))
		p.shot(t, "definition-new-"+kind)
		b.run(t, "fill definition "+name, chromedp.SendKeys("#f-name", name, chromedp.ByID),
			chromedp.SetValue("#f-kind", kind, chromedp.ByID), chromedp.SendKeys("#f-image", image, chromedp.ByID),
			chromedp.Click("#add", chromedp.ByID), chromedp.WaitVisible("#spec-status", chromedp.ByID))
		return p.shot(t, "definition-"+name)
	}
	if page := addDefinition("not-built", "source", "ferry/not-built:nowhere"); !strings.Contains(page, "not found") ||
		!strings.Contains(page, "build") {
		t.Errorf("a missing image: want the engine's reason on the definition page\n%s", page)
	}
	if page := addDefinition("formconn", "source", srcImage); !strings.Contains(page, "read: Form test source") ||
		!strings.Contains(page, `<dd id="short-name">formconn</dd>`) {
		t.Fatalf("formconn: want its spec read and its short name from the image's label\n%s", page)
	}
	defURL := b.location(t)
	addDefinition("scripted-destination", "destination", dstImage)

	// The source form: the oneOf choice, then a row (the form posts back,
	// and the typed secrets with it are not returned, so they come after).
	b.run(t, "open the new-source form", chromedp.Navigate(defURL), chromedp.Click("#new-actor", chromedp.ByID),
		chromedp.WaitVisible(field("api_token"), q))
	p.shot(t, "source-new")
	b.run(t, "name it, choose API key, add an endpoint row",
		chromedp.SendKeys("#f-_name", "Orders API", chromedp.ByID),
		chromedp.Evaluate(`(() => { const s = document.querySelector('select[name="credentials.auth_type"]');
			s.value = "key"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, nil),
		chromedp.WaitVisible(field("credentials.api_key"), q),
		chromedp.Click(`button[value="add:endpoints"]`, q), chromedp.WaitVisible(field("endpoints.0.url"), q))
	// Secrets are never sent back, so they are typed again after Test;
	// the other fields come back as typed.
	secrets := func(token string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.SendKeys(field("api_token"), token, q), chromedp.SendKeys(field("credentials.api_key"), formAPIKey, q),
			chromedp.SendKeys(field("endpoints.0.token"), formEndpoint, q), chromedp.SendKeys(field("tunnel.key"), formTunnel, q),
		}
	}
	b.run(t, "fill with a wrong token and Test", chromedp.SendKeys(field("endpoints.0.url"), "https://one.example", q),
		secrets(formWrong), chromedp.Click("#test", chromedp.ByID),
		chromedp.WaitVisible("#check-result", chromedp.ByID))
	page := p.shot(t, "source-test-failed")
	if !strings.Contains(page, "Check failed.") || !strings.Contains(page, "refused token") {
		t.Errorf("Test with a wrong token: want the connector's reason\n%s", page)
	}
	b.run(t, "fill right and Save", secrets(formToken), chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#edit", chromedp.ByID))
	page = p.shot(t, "source-created")
	if !strings.Contains(page, "Check succeeded.") {
		t.Fatalf("save: want the check's success on the source page\n%s", page)
	}
	srcURL := strings.TrimSuffix(b.location(t), "?done=created")
	srcID := srcURL[strings.LastIndex(srcURL, "/")+1:]

	// The destination, through the pick page.
	b.run(t, "new destination", chromedp.Navigate(s.url+"/destinations/new"), chromedp.WaitVisible("#definitions", chromedp.ByID))
	p.shot(t, "destination-pick")
	b.run(t, "open its form", chromedp.Click(`#definitions a`, q), chromedp.WaitVisible(field("secret"), q))
	p.shot(t, "destination-new")
	b.run(t, "fill and save it", chromedp.SendKeys("#f-_name", "Scripted sink", chromedp.ByID),
		chromedp.SendKeys(field("secret"), formDest, q), chromedp.SetValue(field("destination.ack"), "all", q),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#edit", chromedp.ByID))
	if page := p.shot(t, "destination-created"); !strings.Contains(page, "Check succeeded.") {
		t.Errorf("destination: want its check's success\n%s", page)
	}
	dstURL := strings.TrimSuffix(b.location(t), "?done=created")
	dstID := dstURL[strings.LastIndex(dstURL, "/")+1:]

	// Edit the source without retyping any secret: still checks out.
	b.run(t, "edit the source", chromedp.Navigate(srcURL+"/edit"), chromedp.WaitVisible(field("records"), q))
	p.shot(t, "source-edit")
	b.run(t, "change records and save", chromedp.SetValue(field("records"), "5", q),
		chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#edit", chromedp.ByID))
	if page := p.shot(t, "source-saved"); !strings.Contains(page, "Check succeeded.") || !strings.Contains(page, `"records": 5`) {
		t.Errorf("after an edit without secrets: want the check to succeed with records 5\n%s", page)
	}
	b.run(t, "Test on the source page", chromedp.Click("#test", chromedp.ByID), chromedp.WaitVisible("#check-result", chromedp.ByID))
	if page := p.shot(t, "source-tested"); !strings.Contains(page, "Check succeeded.") {
		t.Errorf("Test on the source page: want success\n%s", page)
	}

	// A connection (the API; its builder is the UI's next part), a sync,
	// and the source's page and refused delete that name it.
	var conn struct {
		ConnectionID string `json:"connectionId"`
	}
	s.api(t, "POST", "/connections", map[string]any{"name": "Orders → sink", "sourceId": srcID, "destinationId": dstID}, &conn)
	var job struct {
		JobID int64 `json:"jobId"`
	}
	s.api(t, "POST", "/jobs", map[string]any{"connectionId": conn.ConnectionID, "jobType": "sync"}, &job)
	if st := s.waitJob(t, job.JobID); st != "succeeded" {
		t.Errorf("sync: %s, want succeeded", st)
	}
	b.run(t, "source page", chromedp.Navigate(srcURL), chromedp.WaitVisible("#connections", chromedp.ByID))
	p.shot(t, "source-with-connection")
	b.run(t, "delete the used source", chromedp.Click("#delete", chromedp.ByID), chromedp.WaitVisible("#refusal", chromedp.ByID))
	if page := p.shot(t, "source-delete-refused"); !strings.Contains(page, "Orders → sink") {
		t.Errorf("delete page: want the connection named\n%s", page)
	}
	for _, path := range []string{"/sources", "/destinations", fmt.Sprintf("/jobs/%d", job.JobID)} {
		b.run(t, "open "+path, chromedp.Navigate(s.url+path), chromedp.WaitVisible("main h1", q))
		p.shot(t, strings.ReplaceAll(strings.Trim(path, "/"), "/", "-"))
	}

	logs := s.attemptLogs(t)
	if !strings.Contains(logs, "connecting with token") {
		t.Errorf("the attempt logs lack the connector's line\n%s", logs)
	}
	check.search(t, "the attempt log files", logs)
	check.search(t, "the attempt log (API)", string(s.api(t, "GET", fmt.Sprintf("/jobs/%d/attempts/1/logs", job.JobID), nil, nil)))
	check.search(t, "the source (API)", string(s.api(t, "GET", "/sources/"+srcID, nil, nil)))
	check.search(t, "ferry serve's output", s.stderr.String())
	t.Logf("searched %d texts for %d secrets; %d screenshots in %s: %s", check.seen, len(check.secrets), len(p.files), p.dir,
		strings.Join(p.files, " "))
}

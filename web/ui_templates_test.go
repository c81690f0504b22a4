package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite web/testdata/*.golden.html from the templates")

// samplePages names each template's page data type, so that its sample
// data in web/testdata/<template>.json decodes strictly into it.
var samplePages = map[string]func() any{
	"login":       func() any { return &loginPage{} },
	"connections": func() any { return &connectionsPage{} },
	"connection":  func() any { return &connectionPage{} },
	"jobs":        func() any { return &jobsPage{} },
	"job":         func() any { return &jobPage{} },
	"actors":      func() any { return &actorsPage{} },
	"definitions": func() any { return &definitionsPage{} },
	"error":       func() any { return &errorPage{} },
	// The connector pages (ui_definition.go, ui_actor*.go, ui_delete.go).
	"definition":     func() any { return &definitionPage{} },
	"definition_new": func() any { return &definitionForm{} },
	"actor":          func() any { return &actorPage{} },
	"actor_pick":     func() any { return &actorPage{} },
	"actor_form":     func() any { return &actorFormPage{} },
	"confirm":        func() any { return &confirmPage{} },
	// The connection builder and the busy page (ui_connection_*.go).
	"connection_form": func() any { return &connFormPage{} },
	"busy":            func() any { return &busyPage{} },
}

// TestTemplatesRender renders every template with its sample data and
// compares the HTML with the golden file beside it (-update rewrites
// them). The sample data must decode without unknown fields, so it keeps
// up with the page types.
func TestTemplatesRender(t *testing.T) {
	for name := range pages {
		if samplePages[name] == nil {
			t.Errorf("template %s has no sample data: add testdata/%s.json and a samplePages entry", name, name)
		}
	}
	for name, newPage := range samplePages {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			v := view{Page: newPage()}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("testdata/%s.json: %v", name, err)
			}
			rec := httptest.NewRecorder()
			if err := render(rec, httptest.NewRequest("GET", "/", nil), 200, name, v); err != nil {
				t.Fatal(err)
			}
			got := rec.Body.String()
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", ct)
			}
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("got CSP %q, want script-src 'self'", rec.Header().Get("Content-Security-Policy"))
			}
			if strings.Contains(got, "<script>alert") {
				t.Errorf("sample markup reached the page unescaped:\n%s", got)
			}
			golden := "testdata/" + name + ".golden.html"
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./web -run TestTemplatesRender -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestTemplateFuncs verifies the formatting helpers the templates use.
func TestTemplateFuncs(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	var nilTime *time.Time
	for _, c := range []struct{ got, want string }{
		{when(ts), "2025-01-02 02:04:05Z"},
		{when(&ts), "2025-01-02 02:04:05Z"},
		{when(nilTime), "—"},
		{when(time.Time{}), "—"},
		{byteSize(512), "512 B"},
		{byteSize(1536), "1.5 KiB"},
		{byteSize(3 << 30), "3.0 GiB"},
		{count(0), "0"},
		{count(999), "999"},
		{count(1234567), "1,234,567"},
		{count(-1234), "-1,234"},
		{humanDuration(850 * time.Millisecond), "850ms"},
		{humanDuration(12300 * time.Millisecond), "12.3s"},
		{humanDuration(245 * time.Second), "4m05s"},
		{humanDuration(130 * time.Minute), "2h10m"},
		{safeNext("/jobs/3?x=1"), "/jobs/3?x=1"},
		{safeNext("//evil.example/"), "/connections"},
		{safeNext("/\\evil.example"), "/connections"},
		{safeNext("https://evil.example/"), "/connections"},
		{safeNext("/login?next=/x"), "/connections"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

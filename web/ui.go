package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// The web UI: a handful of server-rendered pages in the shape of Drone's
// dashboard. html/template with a small func map, plain CSS, and one tiny
// script (confirm dialogs and the live log over SSE). Pages live at the
// root beside /api/v1, behind a session cookie (ui_auth.go); their
// handlers are constructors in ui_<page>.go that take the narrow Store
// and Jobs interfaces, so the API's JSON never changes shape because a
// page changed.

//go:embed templates/*.tmpl
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// view is what every template executes with: the page's own data under
// Page, and what the layout needs around it. Tests decode it from
// web/testdata/<template>.json.
type view struct {
	Title    string `json:"title"`
	Nav      string `json:"nav"`
	CSRF     string `json:"csrf"`
	LoggedIn bool   `json:"loggedIn"`
	Page     any    `json:"page"`
}

// pages holds one template set per page, each the layout plus the page's
// own file. Templates are parsed once, at package init, from the embedded
// files: a broken template is a programmer error that the render test
// catches, and writeError can render the error page without a Server.
var pages = mustParsePages()

func mustParsePages() map[string]*template.Template {
	// Files whose name starts with "_" hold templates that pages share
	// (the spec form), and join the layout in every set.
	base := template.Must(template.New("layout.tmpl").Funcs(uiFuncs).ParseFS(templateFS, "templates/layout.tmpl", "templates/_*.tmpl"))
	names, err := fs.Glob(templateFS, "templates/*.tmpl")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".tmpl")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return out
}

// render writes page name with status. It executes into a buffer first,
// so that a template error becomes a clean 500 instead of half a page.
// The layout's CSRF token and nav come from the request's session.
func render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if sess, ok := sessionFrom(r.Context()); ok {
		v.LoggedIn, v.CSRF = true, sess.csrf
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	pageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// pageHeaders are set on every page. Pages show configs and logs, so no
// cache keeps them; the CSP allows only our own script and stylesheet, so
// an injected tag could run nothing; and no other site may frame a page
// with buttons on it.
func pageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// staticHandler serves the stylesheet and the script. They hold nothing
// secret, and the login page needs them before anyone has logged in.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// errorPage is the error template's data: the same body the API would
// send as JSON.
type errorPage struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// wantsHTML reports whether an error should be a page rather than JSON:
// when the client asks for HTML, as a browser does on a page load or a
// form post. API clients send application/json, */* or nothing, and keep
// getting JSON. One route can thus serve both, as WTF's Error does.
func wantsHTML(r *http.Request) bool {
	return accepts(r, "text/html") && !strings.HasPrefix(r.Header.Get("Accept"), "application/json")
}

// writeErrorPage renders body as the error page. writeError calls it once
// it has mapped the error, so pages and the API share the one mapping.
func writeErrorPage(w http.ResponseWriter, r *http.Request, body errorBody) {
	v := view{Title: http.StatusText(body.Status), Page: errorPage{Status: body.Status, Code: body.Error,
		Message: body.Message, Field: body.Field}}
	if err := render(w, r, body.Status, "error", v); err != nil {
		// The error template itself failed: fall back to plain text.
		http.Error(w, body.Message, body.Status)
	}
}

// uiFuncs is the templates' func map, kept small.
var uiFuncs = template.FuncMap{
	"when":  when,
	"bytes": byteSize,
	"count": count,
	"join":  strings.Join,
	"inc":   func(i int) int { return i + 1 },
}

// when formats a time (or *time.Time) in UTC; nil or zero is a dash.
func when(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	}
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// byteSize writes n in binary units: 1.5 KiB.
func byteSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, 0
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	for f >= 1024 && unit < len(units)-1 {
		f /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %s", f, units[unit])
}

// count writes n with thousands separators: 1,234,567.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanDuration writes d rounded for people: 850ms, 12.3s, 4m05s, 2h10m.
func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

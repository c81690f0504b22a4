package web

import (
	"net/http"
	"strings"
)

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

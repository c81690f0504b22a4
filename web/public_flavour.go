package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ferrysync/ferry/store"
)

// One set of handlers serves two prefixes. /api/v1 is Ferry's own API;
// /api/public/v1 is where Airbyte self-hosted serves its public API v1,
// so that Airbyte's clients (the Terraform provider, the Python SDK) work
// with only the URL and the token changed. The handlers ask the request
// which it is and differ only where Airbyte's clients need them to:
//   - a create answers 200 (Airbyte's generated clients accept nothing
//     else), not Ferry's 201;
//   - errors are problem details (type, title, status, detail), Airbyte's
//     error shape, not Ferry's {status, error, message};
//   - an id in a body that names nothing is a 404, as Airbyte answers,
//     not Ferry's 400 naming the field;
//   - an interval schedule reads as Airbyte's "basic" schedule with its
//     basicTiming, custom namespaces as "custom_format", and a list's
//     missing next or previous page is left out rather than null, since
//     Airbyte's schemas type them as strings.
//
// Requests are read the same way on both: leniently (json.go).

// publicPrefix is the base path of Airbyte's public API.
const publicPrefix = "/api/public/v1"

// isPublic reports whether r came in through Airbyte's public API.
func isPublic(r *http.Request) bool {
	return r.URL.Path == publicPrefix || strings.HasPrefix(r.URL.Path, publicPrefix+"/")
}

// prefixOf is the API prefix r came in through, for Location headers and
// links.
func prefixOf(r *http.Request) string {
	if isPublic(r) {
		return publicPrefix
	}
	return apiPrefix
}

// createdStatus is the status of a successful create.
func createdStatus(r *http.Request) int {
	if isPublic(r) {
		return http.StatusOK
	}
	return http.StatusCreated
}

// writeCreated answers a create: its Location and the created object.
func writeCreated(w http.ResponseWriter, r *http.Request, path string, v any) {
	w.Header().Set("Location", prefixOf(r)+path)
	writeJSON(w, createdStatus(r), v)
}

// missingRef is a reference in a request body to something that does not
// exist: a 400 naming the field on Ferry's API, a 404 on Airbyte's.
func missingRef(r *http.Request, err error, field, msg string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if isPublic(r) {
		return &requestError{status: http.StatusNotFound, field: field, msg: field + " " + msg}
	}
	return &store.ValidationError{Field: field, Message: msg}
}

// problemBody is an error on the public API: RFC 9457 problem details, as
// Airbyte answers, with Ferry's field at fault as an extension member.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

// writeProblem writes body as problem details.
func writeProblem(w http.ResponseWriter, body errorBody) {
	p := problemBody{Type: "about:blank", Title: strings.ReplaceAll(body.Error, "_", "-"),
		Status: body.Status, Detail: body.Message, Field: body.Field}
	if p.Title == "" {
		p.Title = strings.ToLower(strings.ReplaceAll(http.StatusText(body.Status), " ", "-"))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(body.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

// notImplemented answers an operation of Airbyte's public API that Ferry
// does not have.
func notImplemented(r *http.Request) error {
	return &requestError{status: http.StatusNotImplemented,
		msg: r.Method + " " + strings.TrimPrefix(r.URL.Path, publicPrefix) + " is an operation of Airbyte's public API that Ferry does not implement"}
}

// unsupportedPublic lists the first path segments of the public API's
// operations that Ferry does not implement; their paths answer 501 rather
// than 404, so a client learns it reached Ferry and what is missing.
var unsupportedPublic = map[string]bool{
	"config_templates": true, "regions": true, "connector_definitions": true, "oauth": true,
	"permissions": true, "organizations": true, "users": true, "tags": true, "embedded": true,
}

// isUnsupportedPublic reports whether r names an operation of Airbyte's
// public API that Ferry does not implement.
func isUnsupportedPublic(r *http.Request) bool {
	if !isPublic(r) {
		return false
	}
	rest := strings.TrimPrefix(r.URL.Path, publicPrefix+"/")
	first, _, _ := strings.Cut(rest, "/")
	return unsupportedPublic[first] || rest == "sources/initiateOAuth" ||
		strings.HasPrefix(rest, "workspaces/") && strings.HasSuffix(rest, "/oauthCredentials") ||
		strings.Contains(rest, "/definitions/declarative_sources")
}

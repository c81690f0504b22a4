package web

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3 description of the API. It is written by
// hand next to the handlers; TestOpenAPIMatchesRoutes keeps the two in
// step, both ways.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
}

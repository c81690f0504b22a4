package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ferrysync/ferry/store"
)

// errorBody is every error response: the HTTP status, a short code, a
// message meant for people and, for invalid input, the field at fault
// (a JSON path into the request, e.g. "configuration.port").
type errorBody struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// requestError is an error the API itself found in a request: bad JSON,
// an unknown field, a bad query parameter, a body too large.
type requestError struct {
	status int
	field  string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// badRequest returns a 400 naming the field.
func badRequest(field, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// connectorError is a connector that could not answer spec, check or
// discover. Its message, secrets masked, is the user's to read: a missing
// image or a bad config is theirs to fix.
type connectorError struct{ msg string }

func (e *connectorError) Error() string { return e.msg }

// errorCodes are the short codes of the statuses the API answers with.
var errorCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusInternalServerError:   "internal_error",
	http.StatusNotImplemented:        "not_implemented",
	http.StatusBadGateway:            "connector_error",
	http.StatusInsufficientStorage:   "storage_full",
}

// writeError is the one place an error becomes a response. Store errors
// keep their user-facing messages; anything unexpected is a 500 whose
// detail goes only to the log, since driver or file-system text can name
// paths and internals.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	body := errorBody{Message: err.Error()}
	var re *requestError
	var ve *store.ValidationError
	var mbe *http.MaxBytesError
	var ce *connectorError
	switch {
	case errors.As(err, &mbe):
		body.Status = http.StatusRequestEntityTooLarge
		body.Message = fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &re):
		body.Status, body.Field = re.status, re.field
	case errors.As(err, &ve):
		body.Status, body.Field, body.Message = http.StatusBadRequest, ve.Field, ve.Message
		if ve.Field != "" {
			body.Message = ve.Field + " " + ve.Message
		}
	case errors.Is(err, store.ErrNotFound):
		body.Status = http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		body.Status = http.StatusConflict
	case errors.As(err, &ce):
		body.Status = http.StatusBadGateway
	case errors.Is(err, store.ErrStorageFull):
		body.Status = http.StatusInsufficientStorage
		body.Message = "the data disk is full; free space and retry"
		log.Error("request failed: storage full", "method", r.Method, "path", r.URL.Path, "error", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
		return
	default:
		body.Status = http.StatusInternalServerError
		body.Message = "internal error"
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	body.Error = errorCodes[body.Status]
	if isPublic(r) {
		writeProblem(w, body)
		return
	}
	if wantsHTML(r) {
		writeErrorPage(w, r, body)
		return
	}
	writeJSON(w, body.Status, body)
}

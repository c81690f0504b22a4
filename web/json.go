package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBodyBytes caps a request body. Connector configs and
// catalogs are small; a megabyte leaves room and bounds what one request
// can make the server buffer.
const DefaultMaxBodyBytes = 1 << 20

// decode reads the request body as JSON into v: one object, nothing after
// it. Fields v does not know are ignored, as Airbyte ignores them: its
// clients send fields Ferry has no use for (resourceAllocation, mappers,
// secretId), and a GET edited and sent back carries read-only ones
// (createdAt, nextRunAt, sourceType), which must not fail the update. The
// values of the fields v knows are checked strictly by the handlers. The
// body is capped by the server's middleware; going over surfaces here as a
// *http.MaxBytesError.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType,
				msg: fmt.Sprintf("Content-Type is %q; send the body as JSON with Content-Type: application/json", ct)}
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err // *http.MaxBytesError, or the client went away
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "request body is required: a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "request body has data after the JSON object")
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 naming the field.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body ends early")
	case errors.As(err, &te):
		field := te.Field
		return badRequest(field, "%s must be %s, not %s", orBody(field), jsonKind(te.Type.Kind().String()), te.Value)
	}
	return badRequest("", "invalid JSON: %v", err)
}

func orBody(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "ptr", "interface":
		return "a value of another type"
	}
	return "a number"
}

// writeJSON writes v with status. An encoding error after the header
// cannot change the status any more; the client sees a cut body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

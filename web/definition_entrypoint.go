package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ferrysync/ferry/store"
)

// setEntrypoint sets the entrypoint a user gave (the API's or the page's):
// kept over the image's from then on. An empty one clears it, so that the
// image's is read again (at its next change or spec refresh); nothing is
// read now, since only runtimes without an image engine need it.
func setEntrypoint(d *store.Definition, argv []string) {
	if len(argv) == 0 {
		d.Entrypoint, d.EntrypointSource = nil, ""
		return
	}
	// The store refuses blank or oversized strings, naming the field.
	d.Entrypoint, d.EntrypointSource = slices.Clone(argv), store.EntrypointFromAPI
}

// takeImageEntrypoint keeps the command an image declares on its
// definition, unless a user set one (which wins and is kept). An image
// that declares none, or a runtime that cannot inspect images, leaves the
// definition's as it was.
func takeImageEntrypoint(d *store.Definition, argv []string) {
	if len(argv) == 0 || d.EntrypointSource == store.EntrypointFromAPI {
		return
	}
	d.Entrypoint, d.EntrypointSource = slices.Clone(argv), store.EntrypointFromImage
}

// entrypointText is how the definition page shows and edits an
// entrypoint: its words separated by spaces, or its JSON array when a word
// holds a space or a quote (or could be read as JSON).
func entrypointText(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	for _, a := range argv {
		if strings.ContainsAny(a, " \t\r\n\"'") || strings.HasPrefix(a, "[") {
			b, _ := json.Marshal(argv) //nolint:errchkjson // a slice of strings
			return string(b)
		}
	}
	return strings.Join(argv, " ")
}

// parseEntrypointText reads what the page's entrypoint field holds: a JSON
// array of strings, or words separated by whitespace (as
// AIRBYTE_ENTRYPOINT is read). Empty is none.
func parseEntrypointText(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return strings.Fields(s), nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		return nil, &store.ValidationError{Field: "entrypoint", Message: "must be words separated by spaces or a JSON array of strings"}
	}
	return argv, nil
}

// entrypointErrors files a problem with one of the entrypoint's words
// ("entrypoint[1]") under the page's one entrypoint field, counting the
// words from one as people do.
func entrypointErrors(errs map[string]string) {
	for f, msg := range errs {
		var i int
		if _, err := fmt.Sscanf(f, "entrypoint[%d]", &i); err == nil {
			delete(errs, f)
			errs["entrypoint"] = fmt.Sprintf("word %d %s", i+1, msg)
		}
	}
}

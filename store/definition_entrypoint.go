package store

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Where a definition's entrypoint came from (Definition.EntrypointSource).
const (
	// EntrypointFromImage: read from the image when the definition was
	// registered or its image changed; read again at the next change.
	EntrypointFromImage = "image"
	// EntrypointFromAPI: set by a user; an image change keeps it.
	EntrypointFromAPI = "api"
)

// Limits on an entrypoint: a command and its leading arguments, not a
// script. Linux bounds one argument to 128 KiB; these are far below, and
// the whole array travels in a pod's environment.
const (
	MaxEntrypointArgs   = 64
	MaxEntrypointArgLen = 4096
)

// validateEntrypoint checks d's entrypoint and its source. It returns a
// *ValidationError naming the field ("entrypoint" or "entrypoint[i]").
func (d *Definition) validateEntrypoint() error {
	if d.Entrypoint == nil {
		return nil // its source is cleared when stored
	}
	if len(d.Entrypoint) == 0 {
		return invalid("entrypoint", "must hold the command; leave it unset (null) for none")
	}
	if len(d.Entrypoint) > MaxEntrypointArgs {
		return invalid("entrypoint", "has %d strings, more than %d", len(d.Entrypoint), MaxEntrypointArgs)
	}
	for i, a := range d.Entrypoint {
		field := fmt.Sprintf("entrypoint[%d]", i)
		switch {
		case strings.TrimSpace(a) == "":
			return invalid(field, "must not be empty or blank")
		case len(a) > MaxEntrypointArgLen:
			return invalid(field, "is longer than %d bytes", MaxEntrypointArgLen)
		case strings.ContainsRune(a, 0):
			return invalid(field, "must not hold a NUL byte")
		}
	}
	switch d.EntrypointSource {
	case "", EntrypointFromImage, EntrypointFromAPI:
	default:
		return invalid("entrypointSource", "must be %s or %s", EntrypointFromImage, EntrypointFromAPI)
	}
	return nil
}

// entrypointColumns are the stored form of d's entrypoint: its JSON (or
// NULL) and its source, "api" when a caller set one without saying.
func (d *Definition) entrypointColumns() (any, string, error) {
	if d.Entrypoint == nil {
		d.EntrypointSource = ""
		return nil, "", nil
	}
	if d.EntrypointSource == "" {
		d.EntrypointSource = EntrypointFromAPI
	}
	b, err := json.Marshal(d.Entrypoint)
	if err != nil {
		return nil, "", fmt.Errorf("encode entrypoint: %w", err)
	}
	return string(b), d.EntrypointSource, nil
}

// scanEntrypoint decodes the stored entrypoint (NULL is none).
func scanEntrypoint(raw *string) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(*raw), &argv); err != nil {
		return nil, fmt.Errorf("decode stored entrypoint: %w", err)
	}
	return argv, nil
}

package web

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/ferrysync/ferry/store"
)

// Secrets never leave through the API. Configs come back masked by the
// store. What the API adds is masking by value in the text it relays:
// a connector's check message or error, a schema error that quotes the
// value it rejected. Those can echo a password, so every such text passes
// a redactor built from the config's secret values first.

// redactor replaces secret values with the mask. The zero value and nil
// redact nothing.
type redactor struct{ r *strings.Replacer }

// newRedactor masks the given values, longest first so that a secret
// containing another is masked whole. Values under 4 bytes are skipped, as
// the runner's redactor does: masking "1" everywhere protects nothing and
// ruins the text.
func newRedactor(values ...[]string) *redactor {
	seen := map[string]bool{}
	var vals []string
	for _, vs := range values {
		for _, v := range vs {
			if len(v) >= 4 && !seen[v] {
				seen[v] = true
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 {
		return &redactor{}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, store.Mask)
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (r *redactor) redact(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// secretValuesOf returns the values of the secret fields of a plaintext
// config, as text: it masks a copy with the spec's airbyte_secret fields
// and collects whatever the mask replaced. A config that does not parse
// has no values to find (its validation fails on its own).
func secretValuesOf(spec, config json.RawMessage) []string {
	masked, err := store.MaskSecrets(spec, config)
	if err != nil {
		return nil
	}
	var plain, mask any
	if decodeNumber(config, &plain) != nil || decodeNumber(masked, &mask) != nil {
		return nil
	}
	var out []string
	collectReplaced(plain, mask, &out)
	return out
}

func decodeNumber(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// collectReplaced walks two decoded JSON trees of the same shape and
// appends the plain value wherever the masked tree holds the mask.
func collectReplaced(plain, masked any, out *[]string) {
	switch m := masked.(type) {
	case string:
		if m != store.Mask {
			return
		}
		switch p := plain.(type) {
		case string:
			if p != store.Mask {
				*out = append(*out, p)
			}
		case nil:
		default:
			b, _ := json.Marshal(p)
			*out = append(*out, string(b))
		}
	case map[string]any:
		p, _ := plain.(map[string]any)
		for k, v := range m {
			collectReplaced(p[k], v, out)
		}
	case []any:
		p, _ := plain.([]any)
		for i, v := range m {
			if i < len(p) {
				collectReplaced(p[i], v, out)
			}
		}
	}
}

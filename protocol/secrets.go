package protocol

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// SecretMask replaces secret values in everything Ferry and its connectors
// print or return. It is the mask Airbyte's API uses (PROTOCOL.md 7.5).
const SecretMask = "**********"

// SecretValues returns the values of every config field that the
// connectionSpecification schema marks "airbyte_secret": true, at any
// depth: nested properties, oneOf/anyOf/allOf branches, array items and
// additionalProperties. A secret object or array contributes every leaf.
// Non-string secrets are returned as their JSON text. Malformed input
// yields what could be found; it never fails, since redaction must not be
// the reason a log line is lost.
func SecretValues(schema, config json.RawMessage) []string {
	var s, c any
	if json.Unmarshal(schema, &s) != nil || json.Unmarshal(config, &c) != nil {
		return nil
	}
	return SecretValuesOf(s, c)
}

// SecretValuesOf is SecretValues on decoded JSON.
func SecretValuesOf(schema, config any) []string {
	var out []string
	collectSecrets(schema, config, &out, 0)
	return out
}

func collectSecrets(schema, value any, out *[]string, depth int) {
	s, ok := schema.(map[string]any)
	if !ok || value == nil || depth > 64 {
		return
	}
	if secret, _ := s["airbyte_secret"].(bool); secret {
		collectLeaves(value, out)
		return
	}
	for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
		if branches, ok := s[kw].([]any); ok {
			for _, b := range branches {
				collectSecrets(b, value, out, depth+1)
			}
		}
	}
	switch v := value.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for key, child := range v {
			if ps, ok := props[key]; ok {
				collectSecrets(ps, child, out, depth+1)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				collectSecrets(ap, child, out, depth+1)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for _, child := range v {
				collectSecrets(items, child, out, depth+1)
			}
		}
	}
}

func collectLeaves(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case map[string]any:
		for _, c := range v {
			collectLeaves(c, out)
		}
	case []any:
		for _, c := range v {
			collectLeaves(c, out)
		}
	case nil:
	default:
		b, _ := json.Marshal(v)
		*out = append(*out, string(b))
	}
}

// Redactor replaces secret values with SecretMask. The zero value and nil
// redact nothing. It is safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
}

// minSecretLen is the shortest value redacted: masking "1" or "a"
// everywhere would destroy a log without protecting anything.
const minSecretLen = 3

// NewRedactor returns a Redactor for the given secret values. Each value is
// matched as written and in its JSON-escaped forms, since messages often
// quote configs; longer values win over their prefixes.
func NewRedactor(secrets []string) *Redactor {
	forms := make(map[string]bool)
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		forms[s] = true
		q := strconv.Quote(s)
		forms[q[1:len(q)-1]] = true
		b, _ := json.Marshal(s)
		forms[string(b[1:len(b)-1])] = true
	}
	if len(forms) == 0 {
		return &Redactor{}
	}
	list := make([]string, 0, len(forms))
	for f := range forms {
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, f := range list {
		pairs = append(pairs, f, SecretMask)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Empty reports whether the redactor masks nothing.
func (r *Redactor) Empty() bool { return r == nil || r.r == nil }

// Redact returns s with every secret value masked.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.r == nil || s == "" {
		return s
	}
	return r.r.Replace(s)
}

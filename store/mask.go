package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
)

var maskJSON = json.RawMessage(`"` + Mask + `"`)

// MaskSecrets returns config with every secret value replaced by the mask
// "**********": the values of fields marked "airbyte_secret": true anywhere
// in spec (a ConnectorSpecification or its connectionSpecification), and
// any encrypted value. Use it on any config that leaves Ferry (API output,
// logs). It returns a *ValidationError when spec or config is malformed.
func MaskSecrets(spec, config json.RawMessage) (json.RawMessage, error) {
	t, err := parseSecretTree(spec)
	if err != nil {
		return nil, err
	}
	c, err := compactObject("config", config)
	if err != nil {
		return nil, err
	}
	out, err := t.rewrite(c, nil, "", func(_ jsonPath, _, _ json.RawMessage) (json.RawMessage, error) {
		return maskJSON, nil
	})
	if err != nil {
		return nil, invalid("config", "malformed: %s", jsonErrText(err))
	}
	return maskEnvelopes(out)
}

// maskEnvelopes replaces every encrypted value with the mask.
func maskEnvelopes(config json.RawMessage) (json.RawMessage, error) {
	return walkAll(config, "", func(_ jsonPath, v json.RawMessage) (json.RawMessage, bool, error) {
		if _, ok := envelopeText(v); ok {
			return maskJSON, true, nil
		}
		return v, false, nil
	})
}

// MergeSecrets returns incoming with each secret value that equals the mask
// replaced by the value at the same location in stored: an update that
// sends back a masked config keeps the stored secrets. Both configs are
// plaintext. A masked value with nothing stored at its location is a
// *ValidationError naming the field.
func MergeSecrets(spec, stored, incoming json.RawMessage) (json.RawMessage, error) {
	t, err := parseSecretTree(spec)
	if err != nil {
		return nil, err
	}
	return t.mergeSecrets(stored, incoming)
}

func (t *secretTree) mergeSecrets(stored, incoming json.RawMessage) (json.RawMessage, error) {
	in, err := compactObject("config", incoming)
	if err != nil {
		return nil, err
	}
	var st json.RawMessage
	if len(bytes.TrimSpace(stored)) > 0 {
		if st, err = compactObject("stored config", stored); err != nil {
			return nil, err
		}
	}
	out, err := t.rewrite(in, st, "", func(p jsonPath, v, old json.RawMessage) (json.RawMessage, error) {
		if !bytes.Equal(v, maskJSON) {
			return v, nil
		}
		if old == nil || kindOf(old) == 'n' || bytes.Equal(old, maskJSON) {
			return nil, invalid("config."+string(p), "is the mask %q but no secret is stored there", Mask)
		}
		return old, nil
	})
	var ve *ValidationError
	if err != nil && !errors.As(err, &ve) {
		return nil, invalid("config", "malformed: %s", jsonErrText(err))
	}
	return out, err
}

// secretValues lists the plaintext forms of secret values for log
// redaction: strings unquoted, other JSON values as written. Empty values
// are skipped, and longer values come first, so a strings.Replacer built
// from them masks a secret before any secret that is its prefix.
func secretValues(raw []json.RawMessage) []string {
	seen := make(map[string]bool)
	var out []string
	for _, v := range raw {
		s := string(v)
		if kindOf(v) == '"' {
			if err := json.Unmarshal(v, &s); err != nil {
				continue
			}
		}
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

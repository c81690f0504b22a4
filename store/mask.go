package store

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/ferrysync/ferry/secret"
)

var maskJSON = json.RawMessage(`"` + Mask + `"`)

// MaskSecrets returns config with every secret value replaced by the mask
// "**********": the values of fields marked "airbyte_secret": true anywhere
// in spec (a ConnectorSpecification or its connectionSpecification), and
// any encrypted value. Use it on any config that leaves Ferry (API output,
// logs). It returns a *ValidationError when spec or config is malformed.
func MaskSecrets(spec, config json.RawMessage) (json.RawMessage, error) {
	paths, err := specSecrets(spec)
	if err != nil {
		return nil, err
	}
	c, err := compactObject("config", config)
	if err != nil {
		return nil, err
	}
	out, err := rewrite(paths, c, nil, "", func(_ jsonPath, _, _ json.RawMessage) (json.RawMessage, error) {
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
	paths, err := specSecrets(spec)
	if err != nil {
		return nil, err
	}
	return mergeSecrets(paths, stored, incoming)
}

func mergeSecrets(paths *secret.Paths, stored, incoming json.RawMessage) (json.RawMessage, error) {
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
	out, err := rewrite(paths, in, st, "", func(p jsonPath, v, old json.RawMessage) (json.RawMessage, error) {
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

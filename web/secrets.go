package web

import (
	"encoding/json"

	"github.com/ferrysync/ferry/secret"
)

// Secrets never leave through the API. Configs come back masked by the
// store. What the API adds is masking by value in the text it relays: a
// connector's check message or error, a failure reason, a log line, a
// schema error that quotes the value it rejected. Any of those can echo a
// password, so each passes a redactor built from the configs' secret
// values first.

// newRedactor masks every value in the lists.
func newRedactor(values ...[]string) *secret.Redactor {
	var all []string
	for _, vs := range values {
		all = append(all, vs...)
	}
	return secret.NewRedactor(all)
}

// secretValuesOf returns the values of the airbyte_secret fields of a
// plaintext config under a definition's ConnectorSpecification, found as
// the store finds the fields it encrypts.
func secretValuesOf(spec, config json.RawMessage) []string {
	return secret.Values(spec, config)
}

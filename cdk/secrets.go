package cdk

import "github.com/ferrysync/ferry/protocol"

// SecretMask replaces secret values in everything the kit prints. It is the
// mask Airbyte's API uses (PROTOCOL.md 7.5).
const SecretMask = protocol.SecretMask

// SecretValues returns the values of every config field that the spec's
// connectionSpecification marks "airbyte_secret": true, at any depth:
// nested properties, oneOf/anyOf/allOf branches, array items and
// additionalProperties. Non-string secrets are returned in their JSON text.
// schema and config are decoded JSON (any).
func SecretValues(schema, config any) []string { return protocol.SecretValuesOf(schema, config) }

// Redactor replaces secret values with SecretMask; see protocol.Redactor.
type Redactor = protocol.Redactor

// NewRedactor returns a Redactor for the given secret values, matched as
// written and in their JSON-escaped forms.
func NewRedactor(secrets []string) *Redactor { return protocol.NewRedactor(secrets) }

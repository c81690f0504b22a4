package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/secret"
)

// Which config values are secret is decided by secret.Find, the one finder
// that redaction uses too, so a value the store encrypts is also a value
// every log and message masks.

// specSecrets reads the secret paths of a spec (a ConnectorSpecification or
// its connectionSpecification). A spec the finder cannot read is a
// *ValidationError. An empty spec has no secrets.
func specSecrets(spec json.RawMessage) (*secret.Paths, error) {
	p, err := secret.Find(spec)
	if err != nil {
		return nil, invalid("spec", "%v", err)
	}
	return p, nil
}

// withEnvelopes adds to p every location where stored, a stored config,
// holds an encrypted value. A value that was encrypted stays a secret
// whatever a later spec says: a new spec that drops an airbyte_secret flag,
// or a definition whose cached spec was cleared, must not write the
// plaintext into the database, and an update sending the mask back for
// such a field keeps the stored value.
func withEnvelopes(p *secret.Paths, stored json.RawMessage) (*secret.Paths, error) {
	m, err := envelopePaths(stored)
	if err != nil {
		return nil, err
	}
	return p.Union(m), nil
}

// envelopePaths returns the locations of the encrypted values in stored.
func envelopePaths(stored json.RawMessage) (*secret.Paths, error) {
	return secret.Marked(stored, func(v json.RawMessage) bool {
		_, ok := envelopeText(v)
		return ok
	})
}

// rewrite returns v with every value at a secret location replaced by
// fn(path, value, peer), where peer is the value at the same location in
// another document (nil when absent or when no peer document is given).
// Null values are left alone: there is nothing to hide. Everything else
// keeps its bytes.
func rewrite(p *secret.Paths, v, peer json.RawMessage, path jsonPath, fn func(path jsonPath, v, peer json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if p == nil {
		return v, nil
	}
	if p.Secret() {
		if kindOf(v) == 'n' {
			return v, nil
		}
		return fn(path, v, peer)
	}
	switch kindOf(v) {
	case '{':
		ms, err := objectMembers(v)
		if err != nil {
			return nil, err
		}
		peers := map[string]json.RawMessage{}
		if kindOf(peer) == '{' {
			pms, err := objectMembers(peer)
			if err != nil {
				return nil, err
			}
			for _, m := range pms {
				peers[m.Key] = m.Value
			}
		}
		for i := range ms {
			k := ms[i].Key
			if ms[i].Value, err = rewrite(p.Key(k), ms[i].Value, peers[k], path.key(k), fn); err != nil {
				return nil, err
			}
		}
		return buildObject(ms), nil
	case '[':
		es, err := arrayElems(v)
		if err != nil {
			return nil, err
		}
		var pes []json.RawMessage
		if kindOf(peer) == '[' {
			if pes, err = arrayElems(peer); err != nil {
				return nil, err
			}
		}
		for i := range es {
			var pe json.RawMessage
			if i < len(pes) {
				pe = pes[i]
			}
			if es[i], err = rewrite(p.Index(i), es[i], pe, path.index(i), fn); err != nil {
				return nil, err
			}
		}
		return buildArray(es), nil
	}
	return v, nil
}

// jsonErrText shortens a JSON error for users.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return err.Error()
}

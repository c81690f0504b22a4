package store

import (
	"context"
	"encoding/json"
)

// The configs of sources and destinations are stored with their secret
// values encrypted (see secrets.go); the helpers here move configs between
// plaintext, stored and masked forms inside transactions.

// UpdateActorConfig replaces only the config of a source or destination,
// as a connector's CONTROL message asks (docs/protocol.md 2.4). Masked values
// keep the stored secrets. It returns ErrNotFound or a *ValidationError.
func (db *DB) UpdateActorConfig(ctx context.Context, kind ActorKind, id string, config json.RawMessage) error {
	return db.update(ctx, "update "+string(kind)+" config", func(tx *txn) error {
		old, err := findActor(ctx, tx, kind, id)
		if err != nil {
			return err
		}
		return updateActorConfig(ctx, tx, old, config)
	})
}

// updateActorConfig merges masked values from old's stored config into
// config, encrypts it, and writes it; old is updated in place.
func updateActorConfig(ctx context.Context, tx *txn, old *Actor, config json.RawMessage) error {
	paths, err := actorSecretPaths(ctx, tx, old)
	if err != nil {
		return err
	}
	if paths, err = withEnvelopes(paths, old.Config); err != nil {
		return err
	}
	in, err := compactObject("config", config)
	if err != nil {
		return err
	}
	storedPlain, err := tx.db.key.openConfig(old.ID, old.Config)
	if err != nil {
		return err
	}
	merged, err := mergeSecrets(paths, storedPlain, in)
	if err != nil {
		return err
	}
	sealed, err := tx.db.key.sealConfig(paths, old.ID, merged)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE actors SET config = ?, updated_at = ? WHERE id = ?`,
		string(sealed), formatTime(tx.now), old.ID); err != nil {
		return err
	}
	old.Config, old.UpdatedAt = sealed, tx.now
	return nil
}

// ActorConfig returns the decrypted config of a source or destination and
// its secret values, for running the connector. Never log or return it to
// users. It returns ErrNotFound, or an error when a secret cannot be
// decrypted (a wrong key file).
func (db *DB) ActorConfig(ctx context.Context, kind ActorKind, id string) (*ResolvedConfig, error) {
	var rc *ResolvedConfig
	err := db.view(ctx, "get "+string(kind)+" config", func(tx *txn) error {
		a, err := findActor(ctx, tx, kind, id)
		if err != nil {
			return err
		}
		rc, err = resolveConfig(tx.db.key, a)
		return err
	})
	return rc, err
}

func resolveConfig(k *Key, a *Actor) (*ResolvedConfig, error) {
	plain, err := k.openConfig(a.ID, a.Config)
	if err != nil {
		return nil, err
	}
	// The encrypted values are the secrets: the store encrypted them at
	// the locations secret.Find names, and keeps them encrypted after.
	paths, err := envelopePaths(a.Config)
	if err != nil {
		return nil, err
	}
	return &ResolvedConfig{Config: plain, Secrets: paths.Values(plain)}, nil
}

// resealActors re-encrypts the configs of d's actors under d's spec, after
// the spec changed. Values the new spec marks secret are encrypted; values
// already encrypted stay so even when the new spec no longer marks them (or
// d has no spec), since decrypting them would write secrets in the clear.
func resealActors(ctx context.Context, tx *txn, d *Definition) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+actorColumns+` FROM actors WHERE definition_id = ?`, d.ID)
	if err != nil {
		return err
	}
	var actors []*Actor
	for rows.Next() {
		a, err := scanActor(rows)
		if err != nil {
			rows.Close()
			return err
		}
		actors = append(actors, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range actors {
		paths, err := specSecrets(d.Spec)
		if err != nil {
			return err
		}
		if paths, err = withEnvelopes(paths, a.Config); err != nil {
			return err
		}
		plain, err := tx.db.key.openConfig(a.ID, a.Config)
		if err != nil {
			return err
		}
		sealed, err := tx.db.key.sealStored(paths, a.ID, plain)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE actors SET config = ? WHERE id = ?`, string(sealed), a.ID); err != nil {
			return err
		}
	}
	return nil
}

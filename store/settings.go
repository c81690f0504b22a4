package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Settings are install-wide values every replica reads from the database
// rather than from its data dir.
const (
	settingKeyFingerprint = "secrets_key_fingerprint"
)

// ErrKeyMismatch is returned (wrapped) by CheckKey when the key differs
// from the one the database's secrets were sealed with.
var ErrKeyMismatch = errors.New("secrets key mismatch")

// CheckKey compares the key's fingerprint with the one stored in the
// database, storing it on first use. Replicas that share a database must
// share the key (FERRY_SECRET_KEY_FILE); one that does not would write
// secrets the others cannot read, so it is stopped here with an error that
// names both fingerprints (never the key).
func (db *DB) CheckKey(ctx context.Context) error {
	if db.key == nil {
		return errors.New("store: check key: no key")
	}
	var stored string
	err := db.update(ctx, "check key", func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, settingKeyFingerprint).Scan(&stored)
		if errNoRows(err) {
			stored = db.key.Fingerprint()
			_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)`,
				settingKeyFingerprint, stored, formatTime(tx.now))
		}
		return err
	})
	if err != nil {
		return err
	}
	if stored != db.key.Fingerprint() {
		return fmt.Errorf("store: %w: this process's secrets key has fingerprint %s, but the database's secrets were sealed with the key of fingerprint %s; every replica must use the same key file (FERRY_SECRET_KEY_FILE)",
			ErrKeyMismatch, db.key.Fingerprint(), stored)
	}
	return nil
}

// Setting returns an install-wide setting, or "" and false when unset.
func (db *DB) Setting(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := db.view(ctx, "get setting", func(tx *txn) error {
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	})
	if errors.Is(err, ErrNotFound) || errNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// SettingOrCreate returns the setting, storing value first when it is
// unset: the first replica's value wins, and every replica gets it.
func (db *DB) SettingOrCreate(ctx context.Context, name, value string) (string, error) {
	var v string
	err := db.update(ctx, "set setting", func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
		if errNoRows(err) {
			v = value
			_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)`,
				name, value, formatTime(tx.now))
		}
		return err
	})
	return v, err
}

// SharedSecret returns the install-wide secret setting name, storing
// value (sealed with the secrets key) when it is unset: the first
// replica's value wins and every replica reads it back in the clear.
func (db *DB) SharedSecret(ctx context.Context, name, value string) (string, error) {
	if db.key == nil {
		return "", errors.New("store: shared secret: no key")
	}
	sealed, err := db.key.seal([]byte(mustJSONString(value)), "setting:"+name)
	if err != nil {
		return "", fmt.Errorf("store: shared secret: %w", err)
	}
	stored, err := db.SettingOrCreate(ctx, name, string(sealed))
	if err != nil {
		return "", err
	}
	plain, err := db.key.open([]byte(stored), "setting:"+name)
	if err != nil {
		return "", fmt.Errorf("store: shared secret %s: %w", name, err)
	}
	var out string
	if err := json.Unmarshal(plain, &out); err != nil {
		return "", fmt.Errorf("store: shared secret %s: %w", name, err)
	}
	return out, nil
}

func mustJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

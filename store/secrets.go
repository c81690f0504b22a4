package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrysync/ferry/secret"
)

// KeyFileName is the name of the key file in the data directory.
const KeyFileName = "secret.key"

// keySize is AES-256's key size.
const keySize = 32

// Mask is what the API shows in place of a secret value (Airbyte's
// SECRETS_MASK). An update that sends it keeps the stored value.
const Mask = secret.Mask

// envelopePrefix marks an encrypted value; v1 is AES-256-GCM with a 12-byte
// random nonce, base64(nonce || ciphertext || tag), and the owner's id as
// additional data, so a ciphertext copied into another row fails to open.
const envelopePrefix = "enc:v1:"

// envelopeKey is the single member of the object that replaces a secret
// value in a stored config: {"_secret":"enc:v1:..."}, as Airbyte stores
// {"_secret": "<coordinate>"}.
const envelopeKey = "_secret"

// Key encrypts and decrypts secrets at rest. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
	// fingerprint names the key without revealing it: replicas compare it
	// with the one stored in the database (CheckKey).
	fingerprint string
}

// Fingerprint returns 16 hex digits of an HMAC of a fixed text under the
// key: equal keys give equal fingerprints, and it tells nothing of the key.
func (k *Key) Fingerprint() string { return k.fingerprint }

// NewKey returns a Key for a 32-byte AES-256 key.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("store: key: want %d bytes, got %d", keySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("ferry secrets key fingerprint v1"))
	return &Key{aead: aead, fingerprint: hex.EncodeToString(mac.Sum(nil)[:8])}, nil
}

// LoadKeyFile reads a key file written as LoadOrCreateKey writes one (32
// bytes, base64), refusing one that others may read. Replicas sharing a
// PostgreSQL database all read the same one (FERRY_SECRET_KEY_FILE).
func LoadKeyFile(path string) (*Key, error) {
	k, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: key file %s does not exist", path)
	}
	return k, err
}

// LoadOrCreateKey reads the key file <dir>/secret.key, creating it with a
// new random key (mode 0600) on first use. A key file that others may read
// is refused rather than used, since it unlocks every stored secret. Losing
// the file makes the stored secrets unreadable; back it up with the
// database.
func LoadOrCreateKey(dir string) (*Key, error) {
	path := filepath.Join(dir, KeyFileName)
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	// Write a temporary file and link it into place: the link is atomic and
	// fails if another process created the key meanwhile, in which case
	// that key wins and is read back.
	tmp, err := os.CreateTemp(dir, ".secret.key-*")
	if err != nil {
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	text := base64.StdEncoding.EncodeToString(raw) + "\n"
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("store: create key: %w", err)
	}
	return readKeyFile(path)
}

func readKeyFile(path string) (*Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("store: key file %s has mode %04o; want 0600 (chmod 600 it)", path, perm)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("store: read key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, fmt.Errorf("store: key file %s: not base64", path)
	}
	return NewKey(raw)
}

// seal encrypts a JSON value into an envelope object.
func (k *Key) seal(plain []byte, owner string) (json.RawMessage, error) {
	if k == nil {
		return nil, errors.New("no secret key configured (store.WithKey)")
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := k.aead.Seal(nonce, nonce, plain, []byte(owner))
	s, err := json.Marshal(envelopePrefix + base64.StdEncoding.EncodeToString(sealed))
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`{"` + envelopeKey + `":` + string(s) + `}`), nil
}

// open decrypts an envelope object made by seal for the same owner.
func (k *Key) open(env json.RawMessage, owner string) (json.RawMessage, error) {
	if k == nil {
		return nil, errors.New("no secret key configured (store.WithKey)")
	}
	text, ok := envelopeText(env)
	if !ok {
		return nil, errors.New("not an encrypted secret")
	}
	sealed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, envelopePrefix))
	if err != nil || len(sealed) < k.aead.NonceSize() {
		return nil, errors.New("malformed encrypted secret")
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(owner))
	if err != nil {
		return nil, errors.New("cannot decrypt secret: wrong key file or corrupted value")
	}
	return plain, nil
}

// envelopeText returns the ciphertext text of an envelope object, and
// whether v is one: an object with the single member "_secret" holding a
// string that starts with envelopePrefix.
func envelopeText(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '{' || !bytes.Contains(v, []byte(envelopePrefix)) {
		return "", false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || len(m) != 1 {
		return "", false
	}
	var s string
	if err := json.Unmarshal(m[envelopeKey], &s); err != nil || !strings.HasPrefix(s, envelopePrefix) {
		return "", false
	}
	return s, true
}

// sealConfig encrypts the secret values of a plaintext config (compacted,
// a JSON object) for owner. It refuses a config that already holds an
// encrypted value, or the mask at a secret location, since either would be
// stored as if it were the secret.
func (k *Key) sealConfig(paths *secret.Paths, owner string, plain json.RawMessage) (json.RawMessage, error) {
	_, err := walkAll(plain, "", func(p jsonPath, v json.RawMessage) (json.RawMessage, bool, error) {
		if _, ok := envelopeText(v); ok {
			return nil, false, invalid(fieldName(p), "must not be an encrypted value")
		}
		return v, false, nil
	})
	if err != nil {
		return nil, err
	}
	return rewrite(paths, plain, nil, "", func(p jsonPath, v, _ json.RawMessage) (json.RawMessage, error) {
		if bytes.Equal(v, maskJSON) {
			return nil, invalid(fieldName(p), "is the mask %q; send the secret itself", Mask)
		}
		return k.seal(v, owner)
	})
}

// sealStored re-encrypts a config the store already held (decrypted), under
// changed paths. Unlike sealConfig it takes any value as it is, the mask
// included: the value was stored before, so refusing it would only block
// the spec change.
func (k *Key) sealStored(paths *secret.Paths, owner string, plain json.RawMessage) (json.RawMessage, error) {
	return rewrite(paths, plain, nil, "", func(_ jsonPath, v, _ json.RawMessage) (json.RawMessage, error) {
		return k.seal(v, owner)
	})
}

// openConfig decrypts every encrypted value of a stored config and returns
// the plaintext config. It needs no spec: the envelopes mark themselves.
func (k *Key) openConfig(owner string, stored json.RawMessage) (json.RawMessage, error) {
	return walkAll(stored, "", func(p jsonPath, v json.RawMessage) (json.RawMessage, bool, error) {
		if _, ok := envelopeText(v); !ok {
			return v, false, nil
		}
		plain, err := k.open(v, owner)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", fieldName(p), err)
		}
		return plain, true, nil
	})
}

func fieldName(p jsonPath) string {
	if p == "" {
		return "config"
	}
	return "config." + string(p)
}

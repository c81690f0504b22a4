package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"time"

	"github.com/ferrysync/ferry/runner"
	"github.com/ferrysync/ferry/web"
)

// loadAPIToken returns the API token: the one in <data-dir>/token, or,
// when replicas share a database, the install-wide one kept there
// (sealed with the shared secrets key), so a token works on every
// replica. The first replica's token wins; the others write it into
// their token file. created is true when this call made the token.
func (d *Daemon) loadAPIToken() (token string, created bool, err error) {
	token, created, err = web.LoadOrCreateToken(d.cfg.DataDir)
	if err != nil || !d.cfg.Shared() {
		return token, created, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shared, err := d.db.SharedSecret(ctx, "api_token", token)
	if err != nil {
		return "", false, err
	}
	if shared != token {
		path := filepath.Join(d.cfg.DataDir, web.TokenFileName)
		if err := runner.WriteFileAtomic(path, []byte(shared+"\n"), 0o600); err != nil {
			return "", false, err
		}
		created = false
	}
	return shared, created, nil
}

// loadSessionKey returns the key that signs the UI's login cookies: nil
// on a database of its own (web derives the key from the token), and on a
// shared one the install-wide key kept in the database (sealed with the
// shared secrets key), so a login made on one replica works on every
// replica. The first replica's random key wins.
func (d *Daemon) loadSessionKey() ([]byte, error) {
	if !d.cfg.Shared() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	shared, err := d.db.SharedSecret(ctx, "ui_session_key", base64.RawStdEncoding.EncodeToString(fresh))
	if err != nil {
		return nil, err
	}
	return base64.RawStdEncoding.DecodeString(shared)
}

// bootstrapHere reports whether this replica registers the reference
// connectors (and the demo connection) at its first start: always on its
// own database; on a shared one, only the replica that takes the
// bootstrap lease, so replicas starting together do not race.
func (d *Daemon) bootstrapHere(ctx context.Context) (bool, error) {
	if !d.cfg.Shared() {
		return true, nil
	}
	return d.db.AcquireLeadership(ctx, "bootstrap", d.instanceID, d.cfg.Replica.Lease)
}

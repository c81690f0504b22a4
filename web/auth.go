package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferrysync/ferry/store"
)

// TokenFileName is the file in the data dir that holds the API token.
const TokenFileName = "token"

// tokenBytes is the token's entropy: 256 bits, hex-encoded.
const tokenBytes = 32

// LoadOrCreateToken returns the API token kept in <dataDir>/token,
// generating one from crypto/rand when the file does not exist yet.
// created reports that it did: the caller prints the token once, in that
// first start's log, and never again. The file is created with O_EXCL and
// mode 0600, so two starts racing cannot both write one, and no other user
// can read it.
func LoadOrCreateToken(dataDir string) (token string, created bool, err error) {
	path := filepath.Join(dataDir, TokenFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return parseToken(path, b)
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("read token: %w", err)
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("generate token: %w", err)
	}
	token = hex.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process won the race: use its token.
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false, fmt.Errorf("read token: %w", err)
		}
		return parseToken(path, b)
	}
	if err != nil {
		return "", false, fmt.Errorf("create token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("write token: %w", err)
	}
	return token, true, nil
}

// parseToken accepts a token file an operator may have written by hand:
// surrounding whitespace is ignored, but it must be long enough to guess
// no faster than a generated one would be worth.
func parseToken(path string, b []byte) (string, bool, error) {
	t := strings.TrimSpace(string(b))
	if len(t) < 16 || strings.ContainsAny(t, " \t\r\n") {
		return "", false, fmt.Errorf("token file %s must hold one token of at least 16 characters", path)
	}
	return t, false, nil
}

// authorized reports whether r carries a bearer token the server takes:
// the static token, or a live access token of an application. The
// comparison with the static token takes the same time whatever the
// guess, so response timing does not leak how much of a guess was right.
//
// A wrong bearer value counts against the remote address (failed
// credentials, api_tokens.go), and once the address has used them up,
// every bearer value is refused, the right one included, until its bucket
// refills: otherwise a guesser could tell a right guess by its answer. An
// expired access token is not counted: it was once right, and a client
// that forgot to refresh is not guessing. Token values are never logged.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := strings.TrimSpace(h[len(prefix):])
	failures, addr := s.sessions.auth.failures, addrKey(r)
	if blocked, _ := failures.blocked(addr); blocked {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1 {
		return true
	}
	switch s.accessToken(r, got) {
	case store.TokenValid:
		return true
	case store.TokenExpired:
		return false
	}
	if ok, _ := failures.take(addr); ok {
		if blocked, retry := failures.blocked(addr); blocked {
			s.log.Warn("too many failed credentials; refusing this address for a while",
				"remote", addr, "retry_after", retry.Round(time.Second))
		}
	}
	return false
}

// accessToken checks got as an application's access token. A store
// failure is logged and refuses the request.
func (s *Server) accessToken(r *http.Request, got string) store.TokenStatus {
	apps, ok := s.cfg.Store.(Applications)
	if !ok || !strings.HasPrefix(got, store.AccessTokenPrefix) {
		return store.TokenUnknown
	}
	status, _, err := apps.CheckAccessToken(r.Context(), got)
	if err != nil {
		s.log.Error("check access token", "error", err)
		return store.TokenExpired // not the client's fault: do not count it
	}
	return status
}

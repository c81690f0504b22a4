package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Browser sessions. A browser cannot send the API's bearer header on a
// page load or an EventSource, so the UI logs in once with the token and
// then carries a cookie.
//
// The cookie is not the token. It is "<expiry>.<nonce>.<mac>", where mac
// is an HMAC-SHA256 over expiry and nonce, keyed by a key derived from
// the token (or, when replicas share a database, by a random key kept
// there, sealed like a secret: Config.SessionKey). So:
//   - a leaked cookie (a browser profile, a proxy log) does not give away
//     the token, which works with the bearer header forever, while the
//     cookie stops working when it expires (sessionTTL);
//   - sessions are stateless: no table, and they survive a daemon restart;
//   - replacing the token file and restarting invalidates every session
//     at once, which is also the only way to revoke one before it
//     expires. Logging out deletes the cookie from that browser.
//
// The cookie is HttpOnly (no script can read it) and SameSite=Strict (no
// other site's page, form or link makes the browser send it), and Secure
// when the request came over TLS. As a second line against cross-site
// forms, every POST carries a per-session CSRF token, an HMAC of the
// session's nonce under the same key: stateless, bound to the session,
// and useless to an attacker who cannot read our pages. net/http's
// CrossOriginProtection (Sec-Fetch-Site, Origin) is the third.
//
// The API under /api/v1 never accepts the cookie: only the bearer
// header, which browsers do not attach on their own, so the API needs no
// CSRF defence at all.

const (
	// sessionCookie is the cookie's name.
	sessionCookie = "ferry_session"
	// sessionTTL is how long a login lasts.
	sessionTTL = 12 * time.Hour
	// csrfField is the form field that carries the CSRF token.
	csrfField = "csrf"
)

// sessions issues and checks session cookies and CSRF tokens. It also
// carries auth, the rest of the server's credentials state (access token
// lifetime, rate limits; api_tokens.go), since every credential check,
// the login form's included, reaches it.
type sessions struct {
	key      []byte // HMAC key, derived from the token or the shared key
	tokenMAC []byte // MAC of the token, for comparing a login attempt
	now      func() time.Time
	auth     *authState
}

// newSessions derives the HMAC key from shared when it is set (the key
// every replica reads from the database) and from the token otherwise.
// Either way it is bound to the token too, so replacing the token still
// ends every session.
func newSessions(token string, shared []byte) *sessions {
	base := []byte(token)
	if len(shared) > 0 {
		base = append(mac(shared, "ferry ui shared session key"), token...)
	}
	s := &sessions{key: mac(base, "ferry ui session key v1"), now: time.Now, auth: newAuthState()}
	s.tokenMAC = mac(s.key, "token\x00"+token)
	return s
}

// mac is HMAC-SHA256(key, msg).
func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// checkToken reports whether a pasted token is the server's. Comparing
// MACs of equal length leaks neither the token's content nor its length
// through timing.
func (s *sessions) checkToken(token string) bool {
	return hmac.Equal(mac(s.key, "token\x00"+strings.TrimSpace(token)), s.tokenMAC)
}

// session is a verified session.
type session struct {
	expires time.Time
	csrf    string // the CSRF token its forms carry
}

var b64 = base64.RawURLEncoding

// issue returns a new session's cookie value and expiry.
func (s *sessions) issue() (string, time.Time) {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	expires := s.now().Add(sessionTTL).Truncate(time.Second)
	payload := strconv.FormatInt(expires.Unix(), 10) + "." + b64.EncodeToString(nonce)
	return payload + "." + b64.EncodeToString(mac(s.key, "session\x00"+payload)), expires
}

// verify checks a cookie value's MAC and expiry.
func (s *sessions) verify(value string) (session, bool) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return session{}, false
	}
	payload, sig := value[:i], value[i+1:]
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(s.key, "session\x00"+payload)) {
		return session{}, false
	}
	exp, nonce, ok := strings.Cut(payload, ".")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || nonce == "" {
		return session{}, false
	}
	expires := time.Unix(unix, 0)
	if !s.now().Before(expires) {
		return session{}, false
	}
	return session{expires: expires, csrf: b64.EncodeToString(mac(s.key, "csrf\x00"+nonce))}, true
}

// checkCSRF reports whether a form's token is the session's.
func (sess session) checkCSRF(token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(sess.csrf))
}

type sessionKey struct{}

func withSession(ctx context.Context, sess session) context.Context {
	return context.WithValue(ctx, sessionKey{}, sess)
}

// sessionFrom returns the request's session, set by the UI middleware.
func sessionFrom(ctx context.Context) (session, bool) {
	sess, ok := ctx.Value(sessionKey{}).(session)
	return sess, ok
}

// safeNext returns a local path to go to after logging in, or
// /connections: never another host, so the login form cannot be used to
// send a user elsewhere ("//evil.example", "/\evil.example"). Control
// characters and spaces are refused too: a browser's URL parser strips
// tabs and newlines, so "/\t/evil.example" would become "//evil.example".
func safeNext(next string) string {
	bad := strings.ContainsFunc(next, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' })
	if bad || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		next == "/login" || strings.HasPrefix(next, "/login?") {
		return "/connections"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/connections"
	}
	return next
}

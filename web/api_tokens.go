package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ferrysync/ferry/store"
)

// Applications and their access tokens, Airbyte's client credentials: a
// script creates an application once (ferry token create, or POST
// /applications with the static token), keeps its client id and secret,
// and trades them at POST /applications/token for a bearer token valid
// AccessTokenTTL. The routes are served under both the public API prefix
// and Ferry's own, since Airbyte's clients call either.

// Applications is the part of *store.DB these routes use. It is not in
// Store so a Store without it still builds a server: its token routes
// then answer 501 and only the static token is accepted.
type Applications interface {
	CreateApplication(ctx context.Context, name string) (*store.Application, string, error)
	Application(ctx context.Context, id string) (*store.Application, error)
	Applications(ctx context.Context) ([]*store.Application, error)
	DeleteApplication(ctx context.Context, id string) (*store.Application, error)
	IssueAccessToken(ctx context.Context, clientID, clientSecret string, ttl time.Duration) (string, time.Time, error)
	CheckAccessToken(ctx context.Context, token string) (store.TokenStatus, string, error)
}

var _ Applications = (*store.DB)(nil)

// DefaultAccessTokenTTL is how long an access token lasts, as in Airbyte.
const DefaultAccessTokenTTL = 15 * time.Minute

// The limits on credentials. Failed credentials (a wrong bearer token, a
// wrong token pasted at the login form, a wrong client secret) are
// counted per remote address: 20 at once, then one more every 3 seconds;
// past that, every request from the address that presents credentials is
// refused with 429 until the bucket refills, the right token included, so
// guessing is capped at 20 a minute. POST /applications/token is limited
// besides, right or wrong: per address 30 at once then one every 2 s, and
// per client id 10 at once then one every 6 s; a client that caches its
// token for its 15 minutes never comes near.
const (
	failureBurst      = 20
	failurePeriod     = 3 * time.Second
	tokenAddrBurst    = 30
	tokenAddrPeriod   = 2 * time.Second
	tokenClientBurst  = 10
	tokenClientPeriod = 6 * time.Second
)

// publicAPIPrefix is where Airbyte's public API is served.
const publicAPIPrefix = "/api/public/v1"

// authState is the server's credentials state besides the static token
// and the sessions: the access token lifetime and the rate limits. It
// lives in sessions (ui_auth.go), which every credential check reaches.
type authState struct {
	tokenTTL time.Duration
	failures *limiter // failed credentials, per address
	byAddr   *limiter // token requests, per address
	byClient *limiter // token requests, per client id
}

func newAuthState() *authState {
	return &authState{
		tokenTTL: DefaultAccessTokenTTL,
		failures: newLimiter(failureBurst, failurePeriod),
		byAddr:   newLimiter(tokenAddrBurst, tokenAddrPeriod),
		byClient: newLimiter(tokenClientBurst, tokenClientPeriod),
	}
}

// setClock makes every limiter read now (tests).
func (a *authState) setClock(now func() time.Time) {
	a.failures.now, a.byAddr.now, a.byClient.now = now, now, now
}

// SetAccessTokenTTL sets how long the access tokens that
// POST /applications/token issues last; call it before Open. Zero or less
// keeps DefaultAccessTokenTTL.
func (s *Server) SetAccessTokenTTL(d time.Duration) {
	if d > 0 {
		s.sessions.auth.tokenTTL = d
	}
}

// tokenRoutes registers the application and token routes under both
// prefixes, and the guard that answers 429 to an address that failed too
// often (see guardCredentials).
func (s *Server) tokenRoutes() {
	for _, prefix := range []string{publicAPIPrefix, apiPrefix} {
		// The token route needs no token: it is how one is obtained.
		s.router.Handle(prefix+"/applications/token", s.middleware(http.HandlerFunc(s.handleAccessToken), false)).
			Methods(http.MethodPost)
		s.router.Handle(prefix+"/applications", s.middleware(http.HandlerFunc(s.handleListApplications), true)).
			Methods(http.MethodGet)
		s.router.Handle(prefix+"/applications", s.middleware(http.HandlerFunc(s.handleCreateApplication), true)).
			Methods(http.MethodPost)
		s.router.Handle(prefix+"/applications/{applicationId}", s.middleware(http.HandlerFunc(s.handleGetApplication), true)).
			Methods(http.MethodGet)
		s.router.Handle(prefix+"/applications/{applicationId}", s.middleware(http.HandlerFunc(s.handleDeleteApplication), true)).
			Methods(http.MethodDelete)
	}
	// Airbyte's generated clients (its Python SDK, hence Airflow's
	// operator, and the Terraform provider) default their token URL to
	// /v1/applications/token on the server's host, the path Airbyte Cloud
	// serves. Answering there too means a client pointed at Ferry needs
	// only its server URL and credentials, not a token URL as well.
	s.router.Handle("/v1/applications/token", s.middleware(http.HandlerFunc(s.handleAccessToken), false)).
		Methods(http.MethodPost)
	s.router.Use(s.guardCredentials)
}

// guardCredentials refuses, with 429 and Retry-After, a request that
// carries a bearer header from an address whose failed credentials are
// used up. authorized refuses it too; this only gives the client the
// better answer on matched routes.
func (s *Server) guardCredentials(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			if blocked, retry := s.sessions.auth.failures.blocked(addrKey(r)); blocked {
				s.writeTooMany(w, r, retry, "too many failed credentials from this address")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// apps returns the store's applications, or a 501.
func (s *Server) apps() (Applications, error) {
	a, ok := s.cfg.Store.(Applications)
	if !ok {
		return nil, &requestError{status: http.StatusNotImplemented, msg: "this server keeps no applications"}
	}
	return a, nil
}

// applicationJSON is Airbyte's ApplicationRead. The client secret is
// there only in the answer to a create: afterwards Ferry has only its
// hash, and shows hiddenSecret.
type applicationJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	CreatedAt    int64  `json:"createdAt"` // Unix milliseconds, as in Airbyte's examples
}

// hiddenSecret stands for a client secret that cannot be shown again.
const hiddenSecret = "**********"

func toApplicationJSON(a *store.Application, secret string) applicationJSON {
	if secret == "" {
		secret = hiddenSecret
	}
	return applicationJSON{ID: a.ID, Name: a.Name, ClientID: a.ClientID, ClientSecret: secret, CreatedAt: a.CreatedAt.UnixMilli()}
}

func (s *Server) handleListApplications(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := apps.Applications(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Applications []applicationJSON `json:"applications"`
	}{Applications: []applicationJSON{}}
	for _, a := range list {
		out.Applications = append(out.Applications, toApplicationJSON(a, ""))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleCreateApplication answers 200, as Airbyte does, with the secret
// in clear this once.
func (s *Server) handleCreateApplication(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeLenient(r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.Name == nil {
		writeError(w, r, s.log, badRequest("name", "name is required"))
		return
	}
	a, secret, err := apps.CreateApplication(r.Context(), *in.Name)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("application created", "application_id", a.ID, "client_id", a.ClientID)
	writeJSON(w, http.StatusOK, toApplicationJSON(a, secret))
}

func (s *Server) handleGetApplication(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := apps.Application(r.Context(), mux.Vars(r)["applicationId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toApplicationJSON(a, ""))
}

// handleDeleteApplication answers 200 with the deleted application, as
// Airbyte's document says; its tokens stop working at once.
func (s *Server) handleDeleteApplication(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := apps.DeleteApplication(r.Context(), mux.Vars(r)["applicationId"])
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("application deleted; its tokens are revoked", "application_id", a.ID)
	writeJSON(w, http.StatusOK, toApplicationJSON(a, ""))
}

// accessTokenJSON is Airbyte's AccessTokenResponse (OAuth 2's shape).
type accessTokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"` // seconds
}

// handleAccessToken trades a client id and secret for an access token.
// Limits come first, so a refused request costs no database work; a
// wrong secret counts as a failed credential of the address.
func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	auth, addr := s.sessions.auth, addrKey(r)
	if blocked, retry := auth.failures.blocked(addr); blocked {
		s.writeTooMany(w, r, retry, "too many failed credentials from this address")
		return
	}
	if ok, retry := auth.byAddr.take(addr); !ok {
		s.writeTooMany(w, r, retry, "too many token requests from this address")
		return
	}
	in, err := readTokenRequest(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ok, retry := auth.byClient.take(in.clientID); !ok {
		s.writeTooMany(w, r, retry, "too many token requests for this client id")
		return
	}
	apps, err := s.apps()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	token, expires, err := apps.IssueAccessToken(r.Context(), in.clientID, in.clientSecret, auth.tokenTTL)
	if errors.Is(err, store.ErrBadCredentials) {
		auth.failures.take(addr)
		s.log.Warn("access token refused: wrong client credentials", "remote", addr)
		writeError(w, r, s.log, &requestError{status: http.StatusUnauthorized, msg: "wrong client id or client secret"})
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("access token issued", "client_id", in.clientID, "expires", expires.UTC().Format(time.RFC3339))
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, accessTokenJSON{AccessToken: token, TokenType: "Bearer",
		ExpiresIn: int64(auth.tokenTTL / time.Second)})
}

// tokenRequest is a token request's credentials.
type tokenRequest struct{ clientID, clientSecret string }

// readTokenRequest reads the credentials as Airbyte's clients send them:
// JSON or a form, with the fields spelled clientId or client_id (and
// clientSecret or client_secret), and an optional grant type (grant_type,
// grant-type or grantType) that must be client_credentials.
func readTokenRequest(r *http.Request) (tokenRequest, error) {
	fields := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return tokenRequest{}, tokenFormError(err)
		}
		for k := range r.PostForm {
			fields[k] = r.PostForm.Get(k)
		}
	case "", "application/json":
		var m map[string]any
		if err := decodeLenient(r, &m); err != nil {
			return tokenRequest{}, err
		}
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return tokenRequest{}, badRequest(k, "%s must be a string", k)
			}
			fields[k] = str
		}
	default:
		return tokenRequest{}, &requestError{status: http.StatusUnsupportedMediaType,
			msg: fmt.Sprintf("Content-Type is %q; send JSON or application/x-www-form-urlencoded", mt)}
	}
	id, err1 := oneOf(fields, "client_id", "clientId")
	secret, err2 := oneOf(fields, "client_secret", "clientSecret")
	grant, err3 := oneOf(fields, "grant_type", "grant-type", "grantType")
	switch {
	case errors.Join(err1, err2, err3) != nil:
		return tokenRequest{}, cmp.Or(err1, err2, err3)
	case id == "":
		return tokenRequest{}, badRequest("client_id", "client_id (or clientId) is required")
	case secret == "":
		return tokenRequest{}, badRequest("client_secret", "client_secret (or clientSecret) is required")
	case grant != "" && grant != "client_credentials":
		return tokenRequest{}, badRequest("grant_type", "grant_type is %q; only client_credentials is supported", grant)
	}
	return tokenRequest{clientID: id, clientSecret: secret}, nil
}

// oneOf returns the value of whichever of the names is set, or "". Two
// spellings that disagree are an error.
func oneOf(fields map[string]string, names ...string) (string, error) {
	var val, from string
	for _, n := range names {
		v, ok := fields[n]
		if !ok {
			continue
		}
		if from != "" && v != val {
			return "", badRequest(n, "%s and %s disagree", from, n)
		}
		val, from = v, n
	}
	return val, nil
}

func tokenFormError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return badRequest("", "malformed form body")
}

// decodeLenient reads one JSON object into v, ignoring unknown fields:
// Airbyte's clients send fields these routes do not use.
func decodeLenient(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "request body is required: a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "request body has data after the JSON object")
	}
	return nil
}

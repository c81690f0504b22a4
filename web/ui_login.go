package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// crossOrigin refuses cross-origin browser POSTs by their Sec-Fetch-Site
// or Origin header. Its zero value trusts no other origin.
var crossOrigin http.CrossOriginProtection

// loginPage is the login template's data.
type loginPage struct {
	Next  string `json:"next"`
	Error string `json:"error"`
}

// cookieSession returns the session of the request's cookie, if valid.
func (s *Server) cookieSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	return s.sessions.verify(c.Value)
}

// uiAuth guards a page or a form action. A valid session cookie or the
// bearer header lets the request through; without either, a page load
// goes to the login page and anything else (a form post, an EventSource)
// gets a 401. A POST must also pass the cross-origin check and, when it
// rides on the cookie, carry the session's CSRF token: a bearer header is
// never sent by a browser on its own, so it needs no CSRF token.
func (s *Server) uiAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.cookieSession(r)
		bearer := !ok && s.authorized(r)
		if !ok && !bearer {
			if r.Method == http.MethodGet && !accepts(r, "text/event-stream") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			writeError(w, r, s.log, &requestError{status: http.StatusUnauthorized,
				msg: "log in first: your session is missing or has expired"})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
			if err := crossOrigin.Check(r); err != nil {
				writeError(w, r, s.log, &requestError{status: http.StatusForbidden, msg: "cross-origin form refused"})
				return
			}
			if !bearer && !sess.checkCSRF(r.PostFormValue(csrfField)) {
				writeError(w, r, s.log, &requestError{status: http.StatusForbidden,
					msg: "this form is stale or came from another site: reload the page and try again"})
				return
			}
		}
		if ok {
			r = r.WithContext(withSession(r.Context(), sess))
		}
		h.ServeHTTP(w, r)
	})
}

// eitherAuth guards what browsers and API clients both reach: the 404 and
// 405 answers. A session or the bearer header lets the request through;
// without either, a browser goes to the login page and an API client gets
// the API's 401.
func (s *Server) eitherAuth(h http.Handler) http.Handler {
	api := s.middleware(h, true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess, ok := s.cookieSession(r); ok {
			h.ServeHTTP(w, r.WithContext(withSession(r.Context(), sess)))
			return
		}
		if r.Method == http.MethodGet && wantsHTML(r) && !s.authorized(r) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// handleLoginPage shows the form where the user pastes the token. A
// browser that is logged in already goes on.
func handleLoginPage(ss *sessions) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.URL.Query().Get("next"))
		if c, err := r.Cookie(sessionCookie); err == nil {
			if _, ok := ss.verify(c.Value); ok {
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
		}
		_ = render(w, r, http.StatusOK, "login", view{Title: "Log in", Page: loginPage{Next: next}})
	}
}

// handleLogin checks the pasted token and, when it is right, sets the
// session cookie. A wrong token is a 401 with the form again, and counts
// against the address's failed credentials (api_tokens.go): past the
// limit the form answers 429 without looking at the token. The form
// has no CSRF token (there is no session yet); the cross-origin check
// keeps other sites from logging a browser in.
func handleLogin(ss *sessions, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := crossOrigin.Check(r); err != nil {
			writeError(w, r, log, &requestError{status: http.StatusForbidden, msg: "cross-origin login refused"})
			return
		}
		next := safeNext(r.PostFormValue("next"))
		addr := addrKey(r)
		if blocked, retry := ss.auth.failures.blocked(addr); blocked {
			secs := int64(retry/time.Second) + 1
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			_ = render(w, r, http.StatusTooManyRequests, "login", view{Title: "Log in", Page: loginPage{Next: next,
				Error: fmt.Sprintf("Too many wrong tokens from this address. Try again in %d s.", secs)}})
			return
		}
		if !ss.checkToken(r.PostFormValue("token")) {
			ss.auth.failures.take(addr)
			log.Warn("ui login refused: wrong token", "remote", r.RemoteAddr)
			_ = render(w, r, http.StatusUnauthorized, "login", view{Title: "Log in", Page: loginPage{Next: next,
				Error: "That is not the token. It is in <data-dir>/token on the machine that runs ferry serve."}})
			return
		}
		value, expires := ss.issue()
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires,
			MaxAge: int(sessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// handleLogout deletes the session cookie from this browser.
func handleLogout() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}

// secureRequest reports whether the browser reached us over TLS, directly
// or through a proxy that says so; the cookie is then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

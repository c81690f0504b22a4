package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// DefaultAddr is where the API listens unless told otherwise: loopback
// only, so a fresh install is not reachable from the network.
const DefaultAddr = "127.0.0.1:8000"

// DefaultShutdownTimeout bounds Close.
const DefaultShutdownTimeout = 10 * time.Second

// Config is what a Server is built from.
type Config struct {
	// Addr is the listen address; empty is DefaultAddr, and ":0" picks a
	// free port (tests).
	Addr string
	// Token is the bearer token every request but /healthz must carry.
	// It is required: there are no default credentials.
	Token string
	// SessionKey signs the UI's login cookies and CSRF tokens. Empty
	// derives it from Token, which suits one replica; replicas that share
	// a database pass the key kept there (the daemon does), so a login
	// made on one replica works on every replica.
	SessionKey []byte
	// MetricsPublic serves /metrics without the token, for a Prometheus
	// that cannot send one.
	MetricsPublic bool
	// AllowHostNetwork accepts networkMode "host" on connections (the
	// daemon's --allow-host-network); otherwise it is refused.
	AllowHostNetwork bool
	// Store, Jobs and Connectors are the server's dependencies; all are
	// required.
	Store      Store
	Jobs       Jobs
	Connectors Connectors
	// Logger receives request failures; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; zero is DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ShutdownTimeout bounds Close; zero is DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// LogPollInterval is how often a followed attempt log is read for new
	// lines when no event woke the reader; zero is 200ms.
	LogPollInterval time.Duration
}

// Server is the HTTP server: it owns the listener, the http.Server and the
// router. Open listens (so listen errors come back at once and ":0"
// works), Close shuts down.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	srv    *http.Server
	router *mux.Router

	// ctx is the parent of every request's context. Close cancels it
	// before shutting down, so that SSE streams, which would otherwise
	// hold Shutdown until its timeout, end at once.
	ctx    context.Context
	cancel context.CancelFunc

	streams  *streamCache
	metrics  *metrics
	sessions *sessions // the UI's login sessions (ui_auth.go)
}

// New builds a server and its routes. It does not listen yet.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Token == "":
		return nil, errors.New("web: a token is required")
	case cfg.Store == nil || cfg.Jobs == nil || cfg.Connectors == nil:
		return nil, errors.New("web: Store, Jobs and Connectors are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.LogPollInterval <= 0 {
		cfg.LogPollInterval = 200 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		log:      log.With("component", "web"),
		router:   mux.NewRouter(),
		streams:  newStreamCache(),
		metrics:  newMetrics(cfg.Store),
		sessions: newSessions(cfg.Token, cfg.SessionKey),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	s.srv = &http.Server{
		Handler:           s.recoverer(s.router),
		ReadHeaderTimeout: 10 * time.Second,
		// ReadTimeout bounds reading a request; net/http lifts it once the
		// handler runs, so it does not cut SSE streams. No WriteTimeout:
		// those streams live as long as an attempt.
		ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Open listens on the configured address and serves in the background.
// It also takes the metrics baseline, so counters count from now.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	if err := s.metrics.baseline(s.ctx); err != nil {
		s.log.Warn("metrics baseline", "error", err)
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "error", err)
		}
	}()
	s.log.Info("api listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on (after Open).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL returns the server's base URL, e.g. http://127.0.0.1:8000.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops live streams, then shuts down within ShutdownTimeout.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// routes registers every route: /healthz, /metrics and the UI's pages at
// the root, the API under /api/v1, each resource's routes in its
// api_<entity>.go and each page's in its ui_<page>.go.
func (s *Server) routes() {
	notFound := s.eitherAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUnsupportedPublic(r) {
			writeError(w, r, s.log, notImplemented(r))
			return
		}
		writeError(w, r, s.log, &requestError{status: http.StatusNotFound, msg: "no route " + r.URL.Path})
	}))
	notAllowed := s.eitherAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPublic(r) {
			// The public API's paths are Airbyte's; a method Ferry does not
			// serve on one is an operation it does not implement.
			writeError(w, r, s.log, notImplemented(r))
			return
		}
		writeError(w, r, s.log, &requestError{status: http.StatusMethodNotAllowed,
			msg: r.Method + " is not allowed on " + r.URL.Path})
	}))
	s.router.NotFoundHandler, s.router.MethodNotAllowedHandler = notFound, notAllowed

	s.router.Handle("/healthz", s.middleware(http.HandlerFunc(s.handleHealth), false)).Methods(http.MethodGet, http.MethodHead)
	s.router.Handle("/metrics", s.middleware(s.metrics.handler(s.log), !s.cfg.MetricsPublic)).Methods(http.MethodGet)

	// API routes are registered on the root router with their full paths:
	// with a PathPrefix subrouter, gorilla/mux 1.8.1 answers a wrong
	// method with 404 instead of 405.
	api := apiRouter{s}
	api.handle(http.MethodGet, "/openapi.json", s.handleOpenAPI)
	// Airbyte's health check, open like /healthz (the document sets no
	// security on it).
	for _, prefix := range []string{apiPrefix, publicPrefix} {
		s.router.Handle(prefix+"/health", s.middleware(http.HandlerFunc(s.handleHealth), false)).Methods(http.MethodGet, http.MethodHead)
	}
	s.workspaceRoutes(api)
	s.definitionRoutes(api)
	s.actorRoutes(api, sourceKind)
	s.actorRoutes(api, destinationKind)
	s.streamRoutes(api)
	s.connectionRoutes(api)
	s.stateRoutes(api)
	s.jobRoutes(api)
	s.logRoutes(api)
	s.replicaRoutes(api) // GET /api/v1/replicas (api_replicas.go)
	s.configAPIRoutes(api)
	s.tokenRoutes() // applications and access tokens, both prefixes (api_tokens.go)

	// The web UI: pages at the root, behind a session cookie (ui_routes.go).
	s.uiRoutes()
}

// apiPrefix is the base path of Ferry's own API.
const apiPrefix = "/api/v1"

// apiRouter registers routes behind the token, under both API prefixes
// (public_flavour.go says how the two differ).
type apiRouter struct{ s *Server }

func (a apiRouter) handle(method, path string, h http.HandlerFunc) {
	for _, prefix := range []string{apiPrefix, publicPrefix} {
		a.s.router.Handle(prefix+path, a.s.middleware(h, true)).Methods(method)
	}
}

// handleFerry registers a route under Ferry's own prefix only.
func (a apiRouter) handleFerry(method, path string, h http.HandlerFunc) {
	a.s.router.Handle(apiPrefix+path, a.s.middleware(h, true)).Methods(method)
}

// middleware caps the request body and, when auth is set, requires the
// token.
func (s *Server) middleware(h http.Handler, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			writeError(w, r, s.log, &requestError{status: http.StatusUnauthorized,
				msg: "missing or wrong bearer token: send Authorization: Bearer <the token in <data-dir>/token>"})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// recoverer answers a panicking handler with a 500 and logs the panic,
// instead of net/http's dropped connection.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// handleHealth answers without auth, for probes and compose healthchecks.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	// status for Ferry's probes, available for Airbyte's configuration
	// API clients.
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "available": true})
}

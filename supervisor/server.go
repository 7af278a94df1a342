package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readHeaderTimeout bounds a slow client's request headers (Slowloris). No
// write timeout: the live event stream keeps responses open.
const readHeaderTimeout = 10 * time.Second

// Snapshotter is what the engine offers the JSON API. Each method returns a
// JSON-marshallable point-in-time copy; it is called on the HTTP request's
// goroutine and must not block on a call's goroutine for long.
type Snapshotter interface {
	Calls() any
	Agents() any
	Queues() any
}

// ServerConfig configures the HTTP listener.
type ServerConfig struct {
	Address string // listen address for ListenAndServe, e.g. "127.0.0.1:8080"
	// Token is the admin bearer token: every /api/v1/ route accepts it;
	// empty refuses them all. ReadToken, when set, is accepted by the
	// read-only routes (GET) too, never by a state-changing one.
	Token, ReadToken string
	Logger           *slog.Logger // nil discards
	Metrics          *Metrics     // nil: no /metrics route
	State            Snapshotter  // nil: the /api/v1 snapshots answer 503
	Healthy          func() bool  // nil: always healthy
}

// Server is hotline's HTTP listener: /healthz, /metrics, the JSON API and any
// route added with Handle.
type Server struct {
	cfg    ServerConfig
	logger *slog.Logger
	mux    *http.ServeMux
	srv    *http.Server
}

// NewServer builds the server and its routes; nothing listens until Serve.
func NewServer(cfg ServerConfig) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, logger: logger, mux: http.NewServeMux()}
	s.srv = &http.Server{
		Addr:              cfg.Address,
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics.Registry(), promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}))
	}
	s.Handle("GET /api/v1/calls", s.snapshot(Snapshotter.Calls), false)
	s.Handle("GET /api/v1/agents", s.snapshot(Snapshotter.Agents), false)
	s.Handle("GET /api/v1/queues", s.snapshot(Snapshotter.Queues), false)
}

// Handle adds a route; pattern is a net/http ServeMux pattern such as
// "POST /api/v1/agents/{id}/pause". Every route under /api/v1/ answers 401
// unless the request carries "Authorization: Bearer TOKEN" (the snapshots
// carry caller numbers and phone addresses): a stateChanging route only the
// admin token, a read-only one the read token too. Other routes are open.
// Safe to call while serving. Like ServeMux.Handle it panics on an invalid
// or conflicting pattern: a programmer error found when the engine wires
// its routes.
func (s *Server) Handle(pattern string, h http.Handler, stateChanging bool) {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	if stateChanging || strings.HasPrefix(path, "/api/") {
		h = s.requireToken(h, !stateChanging)
	}
	s.mux.Handle(pattern, h)
}

// Serve answers HTTP on l until Shutdown; it then returns nil. Any other
// failure of the listener is returned. It blocks.
func (s *Server) Serve(l net.Listener) error {
	s.logger.Info("supervisor: http listening", "address", l.Addr().String())
	if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%w: %w", ErrServe, err)
	}
	return nil
}

// ListenAndServe listens on cfg.Address (TCP) and serves as Serve does.
func (s *Server) ListenAndServe() error {
	l, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("%w: listen %s: %w", ErrServe, s.cfg.Address, err)
	}
	return s.Serve(l)
}

// Shutdown stops accepting connections and waits for active requests to
// finish, or for ctx to end. Serve then returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// serveHTTP routes through the mux; when no route matches, it turns the mux's
// plain-text 404 and 405 answers into JSON errors (keeping the Allow header).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		w = &jsonErrorWriter{ResponseWriter: w}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.cfg.Healthy != nil && !s.cfg.Healthy() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// snapshot returns a handler writing one of the engine's snapshots as JSON.
func (s *Server) snapshot(get func(Snapshotter) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.State == nil {
			writeJSONError(w, http.StatusServiceUnavailable, "no engine state")
			return
		}
		writeJSON(w, s.logger, r.URL.Path, http.StatusOK, get(s.cfg.State))
	}
}

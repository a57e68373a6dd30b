// Package server is `sluice serve`: a long-running gateway that syncs
// manifests on cron schedules and on request, and serves a REST API
// (described by an embedded OpenAPI document), Prometheus metrics and a
// security review page. It authenticates OIDC bearer tokens offline
// against a JWKS file and static API tokens, maps them to roles, and
// records every call that changes state in the ledger with the caller's
// identity. It holds the state store for its whole life, because the
// store admits one process at a time; other processes reach it through
// the API. Decisions stay in the library: approvals decides separation
// of duties, ingest runs syncs, scanners builds reports.
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/ingest"
	"github.com/sluice-dev/sluice/ingest/blobs"
	"github.com/sluice-dev/sluice/ingest/state"
	"github.com/sluice-dev/sluice/internal/pipeline"
)

// RunnerBuilder returns a runner that records actor in the ledger, and a
// function to call when the run ends.
type RunnerBuilder func(actor string) (*ingest.Runner, func() error, error)

// Option changes a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRunnerBuilder replaces how runners are built (default: from the
// configuration with internal/pipeline).
func WithRunnerBuilder(b RunnerBuilder) Option { return func(s *Server) { s.buildRunner = b } }

// WithRequester sets where package requests are filed (default:
// ManifestRequester writing manifests into the configured requests folder).
func WithRequester(r PackageRequester) Option { return func(s *Server) { s.requester = r } }

// WithPluginRequester sets how plugin requests are filed (default:
// RunnerPluginRequester with the server's runners).
func WithPluginRequester(p PluginRequester) Option { return func(s *Server) { s.plugins = p } }

// Server is a running gateway.
type Server struct {
	cfg         *Config
	db          *state.DB
	blobs       *blobs.Store
	log         *slog.Logger
	auth        *authenticator
	runs        *runManager
	metrics     *metrics
	requester   PackageRequester
	plugins     PluginRequester
	buildRunner RunnerBuilder
	sessions    *sessions
	routes      []route
	handler     http.Handler
	closeOnce   sync.Once
	closeErr    error
}

// New opens the configured data directory and builds the server. Close
// releases the store.
func New(cfg *Config, opts ...Option) (*Server, error) {
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	auth, err := newAuthenticator(cfg)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	if s.db, err = state.Open(filepath.Join(cfg.DataDir, "sluice.db")); err != nil {
		return nil, err
	}
	if s.blobs, err = blobs.Open(filepath.Join(cfg.DataDir, "blobs")); err != nil {
		s.db.Close()
		return nil, err
	}
	if s.buildRunner == nil {
		settings, err := cfg.pipelineSettings()
		if err != nil {
			s.db.Close()
			return nil, err
		}
		s.buildRunner = func(actor string) (*ingest.Runner, func() error, error) {
			return pipeline.Build(settings, s.db, s.blobs, actor, s.log)
		}
	}
	if s.requester == nil {
		s.requester = &ManifestRequester{Dir: cfg.RequestsDir}
	}
	if s.plugins == nil {
		s.plugins = &RunnerPluginRequester{Build: s.buildRunner}
	}
	s.metrics = newMetrics(s.db)
	s.sessions = newSessions()
	s.runs = newRunManager(s)
	s.handler = s.routesHandler()
	return s, nil
}

// Handler returns the HTTP handler of the API, metrics and review page.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the scheduler, waits for running syncs and closes the
// store. Calls after the first return the first call's error.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.runs.stop(s.cfg.ShutdownGrace)
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Start starts the scheduler: it resumes syncs a previous stop
// interrupted, runs once each schedule missed while the server was down,
// and then follows the schedules.
func (s *Server) Start() error {
	return s.runs.start()
}

// Serve listens on the configured address until ctx ends, then shuts
// down gracefully: it stops accepting requests, lets a running sync go on
// for the shutdown grace period, and interrupts it after that. An
// interrupted sync is resumed at the next Start. ready, when not nil, is
// called with the listening address.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	if err := s.Start(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if s.cfg.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.Cert, s.cfg.TLS.Key)
		if err != nil {
			l.Close()
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		l = tls.NewListener(l, srv.TLSConfig)
		scheme = "https"
		s.sessions.secure = true
	}
	addr := scheme + "://" + l.Addr().String()
	s.log.Info("serving", "address", addr)
	if ready != nil {
		ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("stopping: no new requests; a running sync gets the shutdown grace period",
		"grace", s.cfg.ShutdownGrace)
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	s.runs.stop(s.cfg.ShutdownGrace)
	s.log.Info("stopped")
	return err
}

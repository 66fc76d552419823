// Package server is the HTTP face of riskzone: echo routes, middleware (auth,
// CSRF, limits, logging), handlers grouped by audience and the embedded web
// assets.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Config is the server's configuration, built once by cmd.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string
	// BodyLimit caps request bodies, e.g. "10M".
	BodyLimit string
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// SecureCookies sets the Secure flag on cookies (behind TLS).
	SecureCookies bool
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration
	// Password are the argon2id parameters of hashes the server makes.
	Password zoning.PasswordParams
	// Tiles configures the vector tiles, TileJSON and styles (server/tiles.go,
	// docs/tiles.md); the zero value is ready to serve.
	Tiles TileConfig
	// Public configures the public side: framing origins, base URL, CAP
	// sender, lookup refresh and webhook deliveries.
	Public PublicConfig
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.BodyLimit == "" {
		c.BodyLimit = "10M"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.Password.Memory == 0 {
		c.Password = zoning.DefaultPasswordParams()
	}
	c.Public.Defaults()
}

// Server wires the HTTP routes to the store.
type Server struct {
	cfg   Config
	store *postgis.Store
	log   *slog.Logger
	echo  *echo.Echo
	// background holds the workers (cache invalidation, deliveries) that run
	// while the server serves; they stop when the serving context ends.
	background []func(ctx context.Context)
}

// onStart registers a background worker started by ListenAndServe (or by
// Start in tests) and stopped with its context.
func (s *Server) onStart(run func(ctx context.Context)) {
	s.background = append(s.background, run)
}

// Start runs the background workers until ctx ends; ListenAndServe calls it.
// Tests that serve s.Handler() with httptest call it themselves.
func (s *Server) Start(ctx context.Context) {
	for _, run := range s.background {
		go run(ctx)
	}
}

// New builds the server and its routes.
func New(cfg Config, store *postgis.Store, log *slog.Logger) *Server {
	cfg.Defaults()
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{cfg: cfg, store: store, log: log, echo: e}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(s.requestLog)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(cfg.BodyLimit))
	s.routes()
	return s
}

// Handler exposes the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) routes() {
	s.echo.GET("/healthz", s.healthz)
	s.echo.GET("/readyz", s.readyz)
	s.authRoutes()
	s.expertRoutes()
	s.zoneRoutes()
	s.tileRoutes()
	s.publicRoutes()
	s.ogcRoutes()
	s.importRoutes()
	s.appRoutes()
}

// healthz answers while the process runs.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database is reachable and migrated.
func (s *Server) readyz(c echo.Context) error {
	if err := s.store.Ready(c.Request().Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": readyReason(err)})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func readyReason(err error) string {
	if errors.Is(err, postgis.ErrSchemaBehind) {
		return "database schema is not current"
	}
	return "database unreachable"
}

// ListenAndServe listens on cfg.Addr and serves until ctx is cancelled, then
// shuts down gracefully. A taken port is reported as such. ready, when not
// nil, receives the bound address once the server listens.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if isAddrInUse(err) {
			return fmt.Errorf("listen on %s: the address is already in use (another riskzone or server runs there; pick another with --addr)", s.cfg.Addr)
		}
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	s.Start(bg)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

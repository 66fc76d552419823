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
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/tiles"
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
	// InsecureDev is local development over plain http: cookies lose the
	// Secure flag, answers carry no Strict-Transport-Security, links without
	// Public.BaseURL follow the request's Host, and outbound requests may
	// use plain http (still only to public addresses unless Outbound.Allow
	// names them). Off, the default, is production behind TLS.
	InsecureDev bool
	// Outbound says where webhook deliveries and the base style fetch may
	// connect besides public https addresses (server/outbound.go).
	Outbound OutboundConfig
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
	// Limits are the per-address rate limits, body caps per endpoint and
	// trusted proxies (server/limits.go, docs/operations.md).
	Limits LimitConfig
	// Streams bounds the anonymous public streams (exports, OGC items):
	// their own pool, a statement_timeout and concurrency limits per kind
	// and per address (server/streams.go, docs/operations.md).
	Streams StreamConfig
	// HTTP server timeouts: ReadHeaderTimeout (default 10 s), ReadTimeout
	// (whole request, default 2 min), WriteTimeout (whole answer, default
	// 10 min: exports stream), IdleTimeout (keep-alive, default 2 min).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// DBCheckInterval is how often the database is pinged to enter and
	// leave degraded mode (default 1 s; server/degraded.go).
	DBCheckInterval time.Duration
	// LiftingCheckInterval is the period of the scheduled lifting-eligibility
	// check, run once per period across replicas (default 1 h; negative:
	// never; server/workers/scheduled.go).
	LiftingCheckInterval time.Duration
	// MetricsAddr, when set, serves /metrics without authentication on a
	// separate (private) listen address; on Addr it needs an admin.
	MetricsAddr string
	// FastAddr, when set, serves the public lookup and warm public tiles on
	// a listen address of its own, with a lighter HTTP stack
	// (fast_listener.go); Addr keeps serving them too.
	FastAddr string
	// Alerts configures the alerts of overdue closed-loop steps
	// (server/workers/alerts.go).
	Alerts workers.AlertConfig
	// Now is the clock of the zoning handlers (cases, zones, screenings,
	// lifting, proposals): the day of each is taken from it in the county's
	// calendar. nil means time.Now; tests set it.
	Now func() time.Time
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
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 2 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Minute
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.DBCheckInterval <= 0 {
		c.DBCheckInterval = time.Second
	}
	if c.LiftingCheckInterval == 0 {
		c.LiftingCheckInterval = time.Hour
	}
	c.Public.Defaults()
	c.Limits.Defaults()
	c.Streams.Defaults()
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
	// health is what the server knows of the database (degraded mode).
	health dbHealth
	// metrics is the Prometheus registry and the request instruments.
	metrics *metrics
	// tileSvc is the tile service, for its cache metrics.
	tileSvc *tiles.Service
	// tileH answers tiles; the fast listener serves warm public tiles
	// through it.
	tileH *tileHandlers
	// sched runs the scheduled lifting-eligibility check.
	sched *workers.Scheduler
	// limits are the per-address rate limits; public the public side (the
	// fast listener answers from both).
	limits *rateLimits
	public *publicSite
	// streams are the public pool and limits of anonymous exports and OGC
	// items (streams.go).
	streams *publicStreams
	// imports is the geography import service and its jobs runner
	// (imports.go).
	imports *imports
	// out checks outbound URLs and connections (outbound.go).
	out *outbound
	// accounts throttles failed sign-ins per username (nil: off); hashes
	// bounds concurrent argon2id work; verify checks a password (a test
	// may slow it down).
	accounts *accountThrottle
	hashes   *hashSlots
	verify   func(password, hash string) (bool, error)
}

// linkBase is the base of every published link (CAP, Atom, TileJSON, OGC,
// webhook payloads): Public.BaseURL; without it, under InsecureDev, the
// request's own scheme and Host (local development); otherwise nothing,
// so links are relative. A client's Host or X-Forwarded-Proto never makes
// a link when a public URL is configured; serve refuses to start without
// one unless --insecure-dev.
func (s *Server) linkBase(c echo.Context) string {
	if b := s.cfg.Public.BaseURL; b != "" {
		return strings.TrimRight(b, "/")
	}
	if s.cfg.InsecureDev && c != nil {
		return c.Scheme() + "://" + c.Request().Host
	}
	return ""
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

// New builds the server and its routes. A TrustedProxies entry that is not
// an address or CIDR is logged and ignored (serve checks them first).
func New(cfg Config, store *postgis.Store, log *slog.Logger) *Server {
	cfg.Defaults()
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{cfg: cfg, store: store, log: log, echo: e}
	out, err := parseOutbound(cfg.Outbound)
	if err != nil {
		log.Error("outbound allowlist ignored", "err", err)
		out, _ = parseOutbound(OutboundConfig{InsecureHTTP: cfg.Outbound.InsecureHTTP})
	}
	s.out = out
	if x, err := ipExtractor(cfg.Limits.TrustedProxies); err != nil {
		log.Error("trusted proxies ignored", "err", err)
	} else if x != nil {
		e.IPExtractor = x
	}
	s.metrics = newMetrics(s)
	e.HTTPErrorHandler = s.handleError
	// Ahead of routing, in this order: metrics time everything, headers
	// go on every answer, rate limits and degraded mode refuse early. The
	// warm-tile path (tileRoutes) comes after them.
	e.Pre(s.metrics.observe)
	e.Pre(s.securityHeaders)
	s.limits = newRateLimits(s, cfg.Limits)
	s.accounts, s.hashes, s.verify = newAccountThrottle(cfg.Limits), newHashSlots(cfg.Limits), zoning.VerifyPassword
	e.Pre(s.limits.middleware)
	e.Pre(s.degradedGate)
	e.Use(middleware.RequestID())
	e.Use(s.requestLog)
	e.Use(middleware.Recover())
	e.Use(s.degradedErrors)
	e.Use(s.bodyLimits())
	s.streams = newPublicStreams(s, store, cfg.Streams)
	s.backgroundWorkers()
	s.routes()
	return s
}

// CheckConfig reports configuration New would have to ignore.
func CheckConfig(cfg Config) error {
	if _, err := ipExtractor(cfg.Limits.TrustedProxies); err != nil {
		return err
	}
	out, err := parseOutbound(cfg.Outbound)
	if err != nil {
		return err
	}
	if err := cfg.Alerts.Check(out.checkURL); err != nil {
		return err
	}
	if b := cfg.Tiles.BaseStyleURL; b != "" {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("base style URL %q: want an absolute http(s) URL of a MapLibre style", b)
		}
		if err := out.checkURL(b); err != nil {
			return fmt.Errorf("base style URL: %w", err)
		}
	}
	for _, p := range []struct{ name, v string }{{"public URL", cfg.Public.BaseURL}, {"tiles public URL", cfg.Tiles.PublicURL}} {
		if p.v == "" {
			continue
		}
		if err := checkPublicURL(p.v, cfg.InsecureDev); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	if cfg.Public.BaseURL == "" && !cfg.InsecureDev {
		return fmt.Errorf("--public-url is missing: published links (CAP, Atom, TileJSON, OGC) need the service's public address, e.g. https://zones.example.gov.cn (or run with --insecure-dev for local development)")
	}
	return nil
}

// checkPublicURL accepts a public address: scheme and host, no query;
// https unless insecure.
func checkPublicURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q: want an absolute URL like https://zones.example.gov.cn", raw)
	}
	if u.Scheme == "http" && !insecure {
		return fmt.Errorf("%q: want https (http only with --insecure-dev)", raw)
	}
	return nil
}

// Handler exposes the routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) routes() {
	s.echo.GET("/healthz", s.healthz)
	s.echo.GET("/readyz", s.readyz)
	s.metricsRoute()
	s.authRoutes()
	s.expertRoutes()
	s.zoneRoutes()
	s.ruleSetRoutes()
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
		if isDBUnreachable(err) {
			s.setDBDown(true, err)
		}
		s.log.Warn("not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": readyReason(err)})
	}
	// The database answered: leave degraded mode now rather than at the
	// next background check, so that a replica that says it is ready also
	// takes writes.
	s.setDBDown(false, nil)
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
	// A base style naming what is not an origin would go into every page's
	// Content-Security-Policy: refuse to start rather than serve it.
	if err := s.tileSvc.FetchBaseStyle(ctx); err != nil {
		return fmt.Errorf("base style %s: %w", s.cfg.Tiles.BaseStyleURL, err)
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		if isAddrInUse(err) {
			return fmt.Errorf("listen on %s: the address is already in use (another riskzone or server runs there; pick another with --addr)", s.cfg.Addr)
		}
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 3)
	var msrv *http.Server
	if s.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for metrics: %w", s.cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.MetricsHandler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics listener: %w", err)
			}
		}()
		s.log.Info("metrics listening", "addr", mln.Addr().String())
	}
	var fln net.Listener
	if s.cfg.FastAddr != "" {
		if fln, err = net.Listen("tcp", s.cfg.FastAddr); err != nil {
			ln.Close()
			if msrv != nil {
				msrv.Close()
			}
			return fmt.Errorf("listen on %s for the fast listener: %w", s.cfg.FastAddr, err)
		}
		s.log.Info("fast listener listening", "addr", fln.Addr().String(), "paths", lookupPath+" /tiles/")
	}
	if ready != nil {
		ready(ln.Addr())
	}
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	s.Start(bg)
	fastDone := make(chan struct{})
	if fln != nil {
		go func() {
			defer close(fastDone)
			if err := s.ServeFast(bg, fln); err != nil {
				errc <- err
			}
		}()
	} else {
		close(fastDone)
	}
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	stopBackground() // the fast listener closes its connections too
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	<-fastDone
	return nil
}

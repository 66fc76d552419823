package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/riskzone/riskzone/zoning"
)

// The lookup listener serves the public lookup alone on an address of its
// own (Config.LookupAddr, `serve --lookup-addr`), with fasthttp instead of
// net/http. The lookup is what a whole city calls at once when a notice goes
// out; answering it takes about 4 µs, and on a 2-core machine net/http's
// per-request work (a goroutine-per-connection read loop, header maps, the
// response writer) caps it near the throughput of a hello-world handler,
// where fasthttp, reusing its request contexts and buffers, serves about
// twice as many requests per core (bench/lookup.sh measures both, with nginx
// as the baseline). A load balancer routes /api/v1/public/lookup there
// (docs/operations.md); the route on the main address stays, answering the
// same bytes.
//
// The answers are those of the route: the same parsing (parseLookupQuery),
// index and JSON (encodeLookup), caching, CORS and security headers, error
// bodies (ErrorBody), per-address rate limit, stale marking in degraded
// mode and request metrics (route label /api/v1/public/lookup). Only GET
// and HEAD of the lookup path and /healthz exist there; anything else is a
// JSON 404 or 405.

// Header values of every answer of the listener.
const (
	dataCSP        = "default-src 'none'; sandbox; frame-ancestors 'none'"
	referrerPolicy = "strict-origin-when-cross-origin"
)

// lookupListener is the fasthttp server of the lookup listener.
func (s *Server) lookupListener() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               s.serveLookupListener,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
		// Lookups are GETs: a query string, no body.
		ReadBufferSize:     8 << 10,
		MaxRequestBodySize: 1 << 10,
		CloseOnShutdown:    true,
		Logger:             fasthttpLogger{s.log},
	}
}

// ServeLookup serves the lookup listener on ln until ctx ends (then it
// closes its connections and returns nil).
func (s *Server) ServeLookup(ctx context.Context, ln net.Listener) error {
	srv := s.lookupListener()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("lookup listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("lookup listener: shutdown: %w", err)
	}
	return nil
}

// fasthttpLogger sends fasthttp's messages (connection errors) to the log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("lookup listener", "msg", fmt.Sprintf(format, args...))
}

// serveLookupListener answers one request of the lookup listener and times
// it like the routes' metrics do.
func (s *Server) serveLookupListener(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	m := s.metrics
	m.inFlight.Inc()
	route := s.answerLookupListener(ctx)
	m.inFlight.Dec()
	method := http.MethodGet
	switch {
	case ctx.IsHead():
		method = http.MethodHead
	case !ctx.IsGet():
		method = "OTHER"
	}
	m.duration.WithLabelValues(method, route, statusText(ctx.Response.StatusCode())).Observe(time.Since(start).Seconds())
}

// statusText is strconv.Itoa for the statuses the listener answers, without
// an allocation for the common one.
func statusText(code int) string {
	if code == http.StatusOK {
		return "200"
	}
	return strconv.Itoa(code)
}

// answerLookupListener writes the answer and returns the route label.
func (s *Server) answerLookupListener(ctx *fasthttp.RequestCtx) string {
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", referrerPolicy)
	if s.cfg.SecureCookies {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.Set("Content-Security-Policy", dataCSP)
	h.Set("X-Frame-Options", "DENY")
	path := ctx.Path()
	switch {
	case string(path) == "/healthz":
		if !ctx.IsGet() && !ctx.IsHead() {
			h.Set("Allow", "GET, HEAD")
			listenerError(ctx, http.StatusMethodNotAllowed, "only GET and HEAD")
			return "/healthz"
		}
		writeListenerJSON(ctx, http.StatusOK, map[string]string{"status": "ok"})
		return "/healthz"
	case string(path) != lookupPath:
		listenerError(ctx, http.StatusNotFound, "not found: this address serves "+lookupPath+" only")
		return "unrouted"
	case !ctx.IsGet() && !ctx.IsHead():
		h.Set("Allow", "GET, HEAD")
		listenerError(ctx, http.StatusMethodNotAllowed, "the lookup answers GET and HEAD")
		return lookupPath
	}
	if rl := s.limits; rl.public != nil {
		ip := s.listenerClientIP(ctx)
		if !rl.exempt(ip) {
			if ok, _ := rl.public.Allow(ip); !ok {
				s.metrics.rateLimited.WithLabelValues("public").Inc()
				h.Set("Retry-After", "1")
				listenerError(ctx, http.StatusTooManyRequests, "too many requests from your address: slow down and retry in a moment")
				return lookupPath
			}
		}
	}
	if s.health.Down() {
		h.Set(HeaderStale, "1")
	}
	now := time.Now()
	args := ctx.QueryArgs()
	lq, err := parseLookupQuery(func(name string) string { return string(args.Peek(name)) }, now)
	if err != nil {
		listenerError(ctx, http.StatusBadRequest, zoning.Message(err))
		return lookupPath
	}
	p := s.public
	ix := p.index.Load()
	if ix == nil {
		// Not built yet (the first request after start): build it, bounded.
		bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ix, err = p.currentIndex(bctx)
		cancel()
		if err != nil {
			if isDBUnreachable(err) {
				s.setDBDown(true, err)
				h.Set("Retry-After", strconv.Itoa(retryAfterDegraded))
				listenerError(ctx, http.StatusServiceUnavailable, "the database is unavailable: retry in a moment")
				return lookupPath
			}
			s.log.Error("internal error", "path", lookupPath, "listener", "lookup", "err", err)
			listenerError(ctx, http.StatusInternalServerError, "internal error")
			return lookupPath
		}
	}
	p.stats.fast.Add(1)
	buf := lookupBuffer()
	defer releaseLookupBuffer(buf)
	if err := encodeLookup(buf, ix.answer(lq, now)); err != nil {
		s.log.Error("internal error", "path", lookupPath, "listener", "lookup", "err", err)
		listenerError(ctx, http.StatusInternalServerError, "internal error")
		return lookupPath
	}
	h.Set("Cache-Control", lookupCacheControl[0])
	h.Set("Access-Control-Allow-Origin", "*")
	h.SetContentType(lookupContentType[0])
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetBody(buf.Bytes()) // copied: the buffer goes back to the pool
	return lookupPath
}

// listenerClientIP is the client's address: the peer, or what the trusted
// proxies' X-Forwarded-For says (the same extractor as the routes).
func (s *Server) listenerClientIP(ctx *fasthttp.RequestCtx) string {
	if s.echo.IPExtractor == nil {
		return ctx.RemoteIP().String()
	}
	r := &http.Request{RemoteAddr: ctx.RemoteAddr().String(), Header: http.Header{}}
	if v := ctx.Request.Header.Peek("X-Forwarded-For"); len(v) > 0 {
		r.Header.Set("X-Forwarded-For", string(v))
	}
	return s.echo.IPExtractor(r)
}

// listenerError writes an error as the routes do: ErrorBody as JSON.
func listenerError(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeListenerJSON(ctx, status, ErrorBody{Error: ErrorDetail{Code: codeOf(status), Message: msg}})
}

func writeListenerJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(append(b, '\n'))
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
)

// The fast listener serves the public hot paths — the lookup and warm
// public tiles — on an address of its own (Config.FastAddr, `serve
// --fast-addr`), with fasthttp instead of net/http. They are what a whole
// city calls at once when a notice goes out: a lookup takes about 4 µs and
// a warm tile is a cache read, and on a 2-core machine net/http's
// per-request work (a goroutine-per-connection read loop, header maps, the
// response writer) caps them near the throughput of a hello-world handler,
// where fasthttp, reusing its request contexts and buffers, serves about
// twice as many requests per core (bench/lookup.sh and bench/tiles.sh
// measure both, with nginx as the baseline). A load balancer routes
// /api/v1/public/lookup and /tiles/ there (docs/operations.md); the main
// address keeps serving both, with the same bytes.
//
// The answers are those of the routes. Lookups: the same parsing
// (lookup.ParseQuery), index and JSON (encodeLookup). Tiles: the routes'
// fast path (cachedPublic: a public set, a valid ?v=, no credentials, no
// revalidation, a cached tile) and its headers; every other tile request
// (a miss, a restricted set, If-None-Match, bad input) goes to the routes
// themselves through fasthttpadaptor, middleware and all. Both: caching,
// CORS and security headers, error bodies (ErrorBody), per-address rate
// limit, stale marking in degraded mode and request metrics under the
// routes' labels. Besides /healthz, any other path is a JSON 404, and
// other methods get 405.

// Header values of every answer of the listener.
const (
	dataCSP        = "default-src 'none'; sandbox; frame-ancestors 'none'"
	referrerPolicy = "strict-origin-when-cross-origin"
)

// fastListener is the fasthttp server of the fast listener.
func (s *Server) fastListener() *fasthttp.Server {
	routes := fasthttpadaptor.NewFastHTTPHandler(s.echo)
	return &fasthttp.Server{
		Handler:               func(ctx *fasthttp.RequestCtx) { s.serveFast(ctx, routes) },
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
		// Lookups and tiles are GETs: a query string, no body.
		ReadBufferSize:     8 << 10,
		MaxRequestBodySize: 1 << 10,
		CloseOnShutdown:    true,
		Logger:             fasthttpLogger{s.log},
	}
}

// ServeFast serves the fast listener on ln until ctx ends (then it
// closes its connections and returns nil).
func (s *Server) ServeFast(ctx context.Context, ln net.Listener) error {
	srv := s.fastListener()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fast listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("fast listener: shutdown: %w", err)
	}
	return nil
}

// fasthttpLogger sends fasthttp's messages (connection errors) to the log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fast listener", "msg", fmt.Sprintf(format, args...))
}

// serveFast answers one request of the fast listener and times it like
// the routes' metrics do. Tile requests it cannot answer from the
// cache go to the routes (through an adaptor), which answer and count them
// as on the main address.
func (s *Server) serveFast(ctx *fasthttp.RequestCtx, routes fasthttp.RequestHandler) {
	var tile warmTile
	if bytes.HasPrefix(ctx.Path(), tilesPrefix) {
		var ok bool
		if tile, ok = s.listenerTile(ctx); !ok {
			routes(ctx)
			return
		}
	}
	start := time.Now()
	m := s.metrics
	m.inFlight.Inc()
	route := s.answerFast(ctx, tile)
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

var tilesPrefix = []byte("/tiles/")

// warmTile is a public tile request answered from the cache.
type warmTile struct {
	tl *tiles.Tile
	v  string
}

// listenerTile is the answer from the cache to a tile request, as the
// routes' fast path finds it (GET or HEAD, no credentials, no
// revalidation, a public set, a valid ?v=, a cached tile); ok is false for
// anything else.
func (s *Server) listenerTile(ctx *fasthttp.RequestCtx) (warmTile, bool) {
	h := s.tileH
	rh := &ctx.Request.Header
	if h == nil || (!ctx.IsGet() && !ctx.IsHead()) || len(rh.Peek("Authorization")) > 0 || len(rh.Peek("If-None-Match")) > 0 {
		return warmTile{}, false
	}
	_, tl, v, ok := h.cachedPublic(string(ctx.Path()), string(ctx.URI().QueryString()))
	if !ok {
		return warmTile{}, false
	}
	return warmTile{tl: tl, v: v}, true
}

// writeListenerTile writes a cached public tile as writeTile does.
func (s *Server) writeListenerTile(ctx *fasthttp.RequestCtx, w warmTile) {
	h := &ctx.Response.Header
	tl := w.tl
	gz := tl.Body != nil && acceptsGzip(string(ctx.Request.Header.Peek("Accept-Encoding")))
	body, etag, _ := tl.Encoding(gz)
	h.Set("Cache-Control", s.tileH.cacheControl(tl, w.v)[0])
	h.Set("Vary", "Accept-Encoding")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Etag", etag[0])
	if tl.Body == nil {
		ctx.SetStatusCode(http.StatusNoContent)
		return
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.SetContentType(mvtContentType)
	ctx.SetStatusCode(http.StatusOK)
	ctx.Response.SetBodyRaw(body) // the cache's bytes, never changed
}

// listenerLimited applies the public rate limit to the client; true when it
// refused the request (429 written).
func (s *Server) listenerLimited(ctx *fasthttp.RequestCtx) bool {
	rl := s.limits
	if rl.public == nil {
		return false
	}
	ip := s.listenerClientIP(ctx)
	if rl.exempt(ip) {
		return false
	}
	if ok, _ := rl.public.Allow(ip); ok {
		return false
	}
	s.metrics.rateLimited.WithLabelValues("public").Inc()
	ctx.Response.Header.Set("Retry-After", "1")
	listenerError(ctx, http.StatusTooManyRequests, publicLimitMessage)
	return true
}

// answerFast writes the answer and returns the route label.
func (s *Server) answerFast(ctx *fasthttp.RequestCtx, tile warmTile) string {
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", referrerPolicy)
	if !s.cfg.InsecureDev {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.Set("Content-Security-Policy", dataCSP)
	h.Set("X-Frame-Options", "DENY")
	if tile.tl != nil {
		if s.listenerLimited(ctx) {
			return tileRoute
		}
		if s.health.Down() {
			h.Set(HeaderStale, "1")
		}
		s.tileH.hits.Add(1)
		s.writeListenerTile(ctx, tile)
		return tileRoute
	}
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
		listenerError(ctx, http.StatusNotFound, "not found: this address serves "+lookupPath+" and /tiles/ only")
		return "unrouted"
	case !ctx.IsGet() && !ctx.IsHead():
		h.Set("Allow", "GET, HEAD")
		listenerError(ctx, http.StatusMethodNotAllowed, "the lookup answers GET and HEAD")
		return lookupPath
	}
	if s.listenerLimited(ctx) {
		return lookupPath
	}
	if s.health.Down() {
		h.Set(HeaderStale, "1")
	}
	now := time.Now()
	args := ctx.QueryArgs()
	lq, err := lookup.ParseQuery(func(name string) string { return string(args.Peek(name)) }, now)
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
			s.log.Error("internal error", "path", lookupPath, "listener", "fast", "err", err)
			listenerError(ctx, http.StatusInternalServerError, "internal error")
			return lookupPath
		}
	}
	p.stats.fast.Add(1)
	buf := lookupBuffer()
	defer releaseLookupBuffer(buf)
	if err := encodeLookup(buf, ix.Answer(lq, now)); err != nil {
		s.log.Error("internal error", "path", lookupPath, "listener", "fast", "err", err)
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

package server

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// Public streams (docs/operations.md, "Public streams"): the anonymous
// exports (/api/v1/export/…) and OGC API items (/ogc/collections/{id}/items)
// hold a database connection for as long as the client takes to read the
// answer. They read from a pool of their own under a statement_timeout, and
// run under concurrency limits per kind and per client address, so that a
// crowd of slow anonymous readers finds 429s instead of the main pool's
// connections, which signed-in requests and every write keep using.

// StreamConfig bounds the anonymous public streams. Zero fields take the
// defaults.
type StreamConfig struct {
	// PoolSize is the connections of the public pool (default 8).
	PoolSize int
	// StatementTimeout is the statement_timeout of the public pool's
	// sessions (default 30 s). A statement's time includes sending its rows,
	// so it also bounds how long one anonymous download may take.
	StatementTimeout time.Duration
	// Exports and Items are how many anonymous streams of each kind run at
	// once across all clients (default 4 each: together the pool's size);
	// PerAddress how many one client address runs at once, both kinds
	// together (default 2). Over any of them the answer is 429 with
	// Retry-After at once: nothing queues.
	Exports, Items, PerAddress int
	// RetryAfter is the Retry-After of that 429 (default 5 s).
	RetryAfter time.Duration
}

// Defaults fills unset fields.
func (c *StreamConfig) Defaults() {
	if c.PoolSize <= 0 {
		c.PoolSize = 8
	}
	if c.StatementTimeout <= 0 {
		c.StatementTimeout = 30 * time.Second
	}
	if c.Exports <= 0 {
		c.Exports = 4
	}
	if c.Items <= 0 {
		c.Items = 4
	}
	if c.PerAddress <= 0 {
		c.PerAddress = 2
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
}

// The kinds of public stream, each with its own limit.
const (
	streamExports = "exports"
	streamItems   = "items"
)

// streamStoreKey is where publicStream leaves the public pool's store in
// the echo context.
const streamStoreKey = "riskzone.streamStore"

// publicStreams holds the public pool and the counts of running streams.
type publicStreams struct {
	s     *Server
	cfg   StreamConfig
	store *postgis.Store // the public pool; the main store if it could not open

	// held, when set (tests), runs in every export and items stream,
	// anonymous or not, once its first row is written and flushed to the
	// client, while the stream holds its database connection: a test holds
	// streams open with it as a slow reader would.
	held func(r *http.Request, kind string)

	mu     sync.Mutex
	kinds  map[string]int
	byAddr map[string]int // only addresses with a stream running: bounded by the limits
}

// newPublicStreams opens the public pool beside store. If it cannot, the
// server logs it and the streams, still limited, read the main pool.
func newPublicStreams(s *Server, store *postgis.Store, cfg StreamConfig) *publicStreams {
	ps := &publicStreams{s: s, cfg: cfg, store: store, kinds: map[string]int{}, byAddr: map[string]int{}}
	if store == nil || store.Pool == nil {
		return ps
	}
	pub, err := store.OpenPublic(postgis.PublicPoolConfig{MaxConns: int32(cfg.PoolSize), StatementTimeout: cfg.StatementTimeout})
	if err != nil {
		s.log.Error("public stream pool not opened: public streams read the main pool", "err", err)
		return ps
	}
	ps.store = pub
	return ps
}

// limit is the concurrency limit of kind.
func (ps *publicStreams) limit(kind string) int {
	if kind == streamItems {
		return ps.cfg.Items
	}
	return ps.cfg.Exports
}

// acquire takes a slot of kind for addr (exempt: no per-address count), or
// reports which limit is full ("address" or "kind").
func (ps *publicStreams) acquire(kind, addr string, exempt bool) (release func(), full string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !exempt && ps.byAddr[addr] >= ps.cfg.PerAddress {
		return nil, "address"
	}
	if ps.kinds[kind] >= ps.limit(kind) {
		return nil, "kind"
	}
	if !exempt {
		ps.byAddr[addr]++
	}
	ps.kinds[kind]++
	var once sync.Once
	return func() {
		once.Do(func() {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			ps.kinds[kind]--
			if exempt {
				return
			}
			if ps.byAddr[addr]--; ps.byAddr[addr] <= 0 {
				delete(ps.byAddr, addr)
			}
		})
	}, ""
}

// publicStream guards the routes of a kind of public stream: an anonymous
// request takes a slot (or is refused) and reads the public pool; a
// signed-in one is not counted and reads the main pool.
func (s *Server) publicStream(kind string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if principal(c).Authenticated() {
				return next(c)
			}
			ps := s.streams
			addr := s.remoteAddr(c)
			release, full := ps.acquire(kind, addr, s.limits.exempt(addr))
			if release == nil {
				return ps.refuse(c, kind, full)
			}
			defer release()
			c.Set(streamStoreKey, ps.store)
			return ps.timedOut(c, next(c))
		}
	}
}

// refuse answers 429 for a full stream limit.
func (ps *publicStreams) refuse(c echo.Context, kind, full string) error {
	ps.s.metrics.rateLimited.WithLabelValues("streams").Inc()
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(1, ps.cfg.RetryAfter.Round(time.Second)/time.Second))))
	msg := "too many downloads from your address at once: wait for one to finish, then retry"
	if full == "kind" {
		msg = "too many public " + kind + " are running at once: retry in a moment"
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusTooManyRequests)
	}
	return c.JSON(http.StatusTooManyRequests, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusTooManyRequests), Message: msg}})
}

// timedOut answers a statement cancelled by the public pool's
// statement_timeout as 503 with a clear message instead of an internal
// error. A stream already under way was cut by streamFailed (the client
// sees a broken transfer) and does not get here; a cancel because the
// client went away is not a timeout.
func (ps *publicStreams) timedOut(c echo.Context, err error) error {
	if err == nil || c.Response().Committed || c.Request().Context().Err() != nil || !isStatementTimeout(err) {
		return err
	}
	ps.s.log.Warn("public stream past statement_timeout", "route", c.Path(), "timeout", ps.cfg.StatementTimeout.String())
	h := c.Response().Header()
	h.Set("Retry-After", "60")
	h.Set(echo.HeaderCacheControl, "no-store")
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusServiceUnavailable)
	}
	return c.JSON(http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusServiceUnavailable),
		Message: "the query took longer than a public download may take: narrow it (county, level, bbox, limit) or retry later"}})
}

// isStatementTimeout: SQLSTATE 57014 (query_canceled). The caller has
// ruled out the other cancel, pgx's when the request's context ends; the
// message is not compared, as it follows the server's lc_messages.
func isStatementTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}

// streamStore is the store a public stream's handler reads: the public
// pool for an anonymous stream, else the main one.
func (s *Server) streamStore(c echo.Context) *postgis.Store {
	if st, ok := c.Get(streamStoreKey).(*postgis.Store); ok && st != nil {
		return st
	}
	return s.store
}

// streamHeld runs the test hook of a stream that has written its first row
// (flush makes the row reach the client first).
func (s *Server) streamHeld(c echo.Context, kind string, flush func()) {
	ps := s.streams
	if ps.held == nil {
		return
	}
	flush()
	c.Response().Flush()
	ps.held(c.Request(), kind)
}

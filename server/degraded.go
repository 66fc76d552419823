package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// Degraded mode (docs/operations.md): when PostgreSQL stops answering, the
// server keeps running on what it holds in memory.
//
//   - public tiles answer from the tile cache (versions as last known) and
//     lookups from the lookup index; every GET/HEAD answer carries
//     HeaderStale while the database is down;
//   - writes (any method but GET, HEAD, OPTIONS) answer 503 with
//     Retry-After, before touching anything;
//   - reads that need the database answer 503 with Retry-After instead of
//     an internal error;
//   - /readyz answers 503, so a load balancer prefers a healthy replica;
//   - a background check (server/workers/dbwatch.go) pings the database
//     every DBCheckInterval and leaves degraded mode by itself when it
//     answers again (the pool opens new connections; the change listeners
//     reconnect on their own).

// HeaderStale marks answers served while the database is unreachable: they
// come from memory and may be behind the latest published data.
const HeaderStale = "X-Riskzone-Stale"

// retryAfterDegraded is the Retry-After (seconds) of answers refused while
// the database is down.
const retryAfterDegraded = 5

// dbHealth is what the server knows of the database.
type dbHealth struct {
	down  atomic.Bool
	since atomic.Int64 // unix nanoseconds of the last change
}

// Down reports whether the database is known to be unreachable.
func (h *dbHealth) Down() bool { return h.down.Load() }

// set records the state and reports whether it changed.
func (h *dbHealth) set(down bool) bool {
	if h.down.Swap(down) == down {
		return false
	}
	h.since.Store(time.Now().UnixNano())
	return true
}

func (s *Server) setDBDown(down bool, cause error) {
	if !s.health.set(down) {
		return
	}
	if down {
		s.log.Warn("database unreachable: serving from memory (degraded mode)", "err", cause)
	} else {
		s.log.Info("database reachable again: leaving degraded mode")
	}
}

// degradedGate is a middleware ahead of routing (so it covers warm tiles
// too): while the database is down it marks reads as stale and refuses
// writes.
func (s *Server) degradedGate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if s.health.Down() && !exemptFromDegraded(r.URL.Path) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
				return unavailable(c, "the database is unavailable: changes cannot be saved now; retry in a moment")
			}
			c.Response().Header().Set(HeaderStale, "1")
		}
		return next(c)
	}
}

// degradedErrors turns a handler's failure to reach the database into a
// 503 with Retry-After (instead of an internal error), and enters degraded
// mode at once rather than at the next check.
func (s *Server) degradedErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed || zoning.Kind(err) != nil || exemptFromDegraded(c.Request().URL.Path) {
			return err
		}
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return err
		}
		if isDBUnreachable(err) {
			s.setDBDown(true, err)
		}
		if !s.health.Down() {
			return err
		}
		s.log.Warn("request failed while the database is unreachable", "method", c.Request().Method, "route", c.Path(), "err", err)
		c.Response().Header().Set(HeaderStale, "1")
		return unavailable(c, "the database is unavailable: retry in a moment")
	}
}

// exemptFromDegraded are the paths that answer for themselves.
func exemptFromDegraded(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// unavailable writes a 503 with Retry-After.
func unavailable(c echo.Context, msg string) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterDegraded))
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusServiceUnavailable)
	}
	return c.JSON(http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusServiceUnavailable), Message: msg}})
}

// isDBUnreachable reports whether err says the database could not be
// reached or went away (as opposed to a query that failed).
func isDBUnreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false // a slow query or a client gone, not a database gone
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P: operator intervention (shutdown,
		// crash, cannot connect now).
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "failed to connect")
}

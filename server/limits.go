package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/riskzone/riskzone/zoning"
)

// LimitConfig holds the request limits (docs/operations.md, "Limits").
// Zero fields take the defaults; a negative rate turns that limit off.
type LimitConfig struct {
	// PublicRate is the sustained requests per second one client address
	// may make (every route but health, readiness and metrics), PublicBurst
	// the requests it may make at once. Defaults 50/s, burst 200: a map
	// opening fetches a few dozen tiles at once.
	PublicRate  float64
	PublicBurst int
	// LoginRate is the sustained login attempts per second one address may
	// make, LoginBurst at once. Defaults 10 per minute, burst 10.
	LoginRate  float64
	LoginBurst int
	// ClientTTL is how long a quiet address is remembered (default 3 min);
	// it bounds the limiter's memory.
	ClientTTL time.Duration
	// TrustedProxies are the CIDRs of load balancers and CDNs whose
	// X-Forwarded-For names the client; empty: the peer address is the
	// client (a header from anyone else is not believed).
	TrustedProxies []string
	// ExemptLoopback lets clients on the loopback address escape the
	// per-address rate limits (serve --limit-exempt-loopback), for a
	// benchmark on the same machine. Off by default: anyone who can reach
	// the service from the machine itself (a compromised neighbour process,
	// an SSRF) must not get unlimited sign-ins; a reverse proxy on the same
	// machine belongs in TrustedProxies instead. The per-account sign-in
	// throttle and the hash bound apply to loopback regardless.
	ExemptLoopback bool
	// AccountFailures is how many failed sign-ins one username may have
	// (from any address) before further attempts are refused with 429 for
	// AccountBaseDelay, doubled with each further failure up to
	// AccountMaxDelay; a success resets it, as do AccountWindow of quiet.
	// Defaults 5, 1 s, 15 min, 1 h; negative AccountFailures: off.
	// AccountCapacity bounds the usernames remembered (default 50 000, the
	// least recently tried dropped first).
	AccountFailures  int
	AccountBaseDelay time.Duration
	AccountMaxDelay  time.Duration
	AccountWindow    time.Duration
	AccountCapacity  int
	// HashConcurrency bounds the argon2id hashes computed at once (default
	// GOMAXPROCS); a sign-in that finds no slot within HashWait (default
	// 1 s) answers 503 with Retry-After instead of queueing.
	HashConcurrency int
	HashWait        time.Duration
	// AuthBodyLimit caps the body of auth endpoints (default 16 KiB);
	// EditBodyLimit of zone edits, proposal decisions, notices and admin
	// writes such as subscribers (default 4 MiB); every other body is
	// capped by Config.BodyLimit (10 MiB), case and trace uploads included:
	// a bulk upload (up to maxBulkCases as JSON or CSV) needs more room
	// than an edit.
	AuthBodyLimit int64
	EditBodyLimit int64
}

// Defaults fills unset fields.
func (l *LimitConfig) Defaults() {
	if l.PublicRate == 0 {
		l.PublicRate = 50
	}
	if l.PublicBurst <= 0 {
		l.PublicBurst = 200
	}
	if l.LoginRate == 0 {
		l.LoginRate = 10.0 / 60
	}
	if l.LoginBurst <= 0 {
		l.LoginBurst = 10
	}
	if l.AccountFailures == 0 {
		l.AccountFailures = 5
	}
	if l.AccountBaseDelay <= 0 {
		l.AccountBaseDelay = time.Second
	}
	if l.AccountMaxDelay <= 0 {
		l.AccountMaxDelay = 15 * time.Minute
	}
	if l.AccountWindow <= 0 {
		l.AccountWindow = time.Hour
	}
	if l.AccountCapacity <= 0 {
		l.AccountCapacity = 50000
	}
	if l.HashConcurrency <= 0 {
		l.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if l.HashWait <= 0 {
		l.HashWait = time.Second
	}
	if l.ClientTTL <= 0 {
		l.ClientTTL = 3 * time.Minute
	}
	if l.AuthBodyLimit <= 0 {
		l.AuthBodyLimit = 16 << 10
	}
	if l.EditBodyLimit <= 0 {
		l.EditBodyLimit = 4 << 20
	}
}

// rateLimits are the per-address limiters (echo's memory store over
// golang.org/x/time/rate, forgetting addresses quiet for ClientTTL).
type rateLimits struct {
	s      *Server
	public middleware.RateLimiterStore // nil: off
	login  middleware.RateLimiterStore
	// exemptLoopback: loopback clients escape these limits (configured).
	exemptLoopback bool
}

func newRateLimits(s *Server, l LimitConfig) *rateLimits {
	rl := &rateLimits{s: s, exemptLoopback: l.ExemptLoopback}
	if l.PublicRate > 0 {
		rl.public = middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(l.PublicRate), Burst: l.PublicBurst, ExpiresIn: l.ClientTTL})
	}
	if l.LoginRate > 0 {
		rl.login = middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(l.LoginRate), Burst: l.LoginBurst, ExpiresIn: l.ClientTTL})
	}
	return rl
}

// publicLimitMessage is the error message of a request over the public
// per-address limit (the routes and the fast listener).
const publicLimitMessage = "too many requests from your address: slow down and retry in a moment"

// middleware runs ahead of routing (warm tiles count too).
func (rl *rateLimits) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if (rl.public == nil && rl.login == nil) || exemptFromDegraded(r.URL.Path) {
			return next(c)
		}
		ip := rl.s.remoteAddr(c)
		if rl.exempt(ip) {
			return next(c)
		}
		if rl.public != nil {
			if ok, _ := rl.public.Allow(ip); !ok {
				return rl.refuse(c, "public", publicLimitMessage)
			}
		}
		if rl.login != nil && r.Method == http.MethodPost && r.URL.Path == loginPath {
			if ok, _ := rl.login.Allow(ip); !ok {
				return rl.refuse(c, "login", "too many sign-in attempts from your address: wait a minute and retry")
			}
		}
		return next(c)
	}
}

// exempt reports whether the client address escapes the limits: loopback,
// when ExemptLoopback says so.
func (rl *rateLimits) exempt(ip string) bool {
	if !rl.exemptLoopback {
		return false
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && a.IsLoopback()
}

func (rl *rateLimits) refuse(c echo.Context, limit, msg string) error {
	rl.s.metrics.rateLimited.WithLabelValues(limit).Inc()
	c.Response().Header().Set("Retry-After", "1")
	if limit == "login" {
		c.Response().Header().Set("Retry-After", "60")
	}
	return c.JSON(http.StatusTooManyRequests, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusTooManyRequests), Message: msg}})
}

// ipExtractor is the echo IPExtractor for the trusted proxies, or nil
// (the peer address) when there are none.
func ipExtractor(cidrs []string) (echo.IPExtractor, error) {
	if len(cidrs) == 0 {
		return nil, nil
	}
	var opts []echo.TrustOption
	opts = append(opts, echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false))
	for _, c := range cidrs {
		_, n, err := parseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", c)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// bodyLimits caps request bodies by route (after routing): auth endpoints
// take little, edits a few MiB, anything else Config.BodyLimit.
func (s *Server) bodyLimits() echo.MiddlewareFunc {
	general := middleware.BodyLimit(s.cfg.BodyLimit)
	auth := capBody(s.cfg.Limits.AuthBodyLimit)
	edit := capBody(s.cfg.Limits.EditBodyLimit)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		g, a, e := general(next), auth(next), edit(next)
		return func(c echo.Context) error {
			switch p := c.Path(); {
			case strings.HasPrefix(p, "/api/v1/auth/"):
				return a(c)
			case strings.HasPrefix(p, "/api/v1/zones") || strings.HasPrefix(p, "/api/v1/proposals/") ||
				strings.HasPrefix(p, "/api/v1/admin/") || strings.HasPrefix(p, "/api/v1/notices"):
				return e(c)
			}
			return g(c)
		}
	}
}

// capBody refuses bodies over limit bytes with 413: a declared length at
// once, a longer body when it is read.
func capBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return zoning.Errorf(zoning.ErrTooLarge, "the request body is larger than %d bytes", limit)
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			}
			return next(c)
		}
	}
}

// securityHeaders sets headers every answer carries, ahead of routing:
// nosniff, a referrer policy, HSTS behind TLS and, unless the handler set
// its own, a Content-Security-Policy: strict for data, one fit for the map
// pages for HTML, never framed except /embed (which names the sites that
// may frame it). X-Frame-Options follows the policy's frame-ancestors for
// older browsers.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		h := res.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if !s.cfg.InsecureDev {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		path := c.Request().URL.Path
		res.Before(func() {
			csp := h.Get("Content-Security-Policy")
			if csp == "" {
				anc := "'none'"
				if path == "/embed" {
					anc = frameAncestors(s.cfg.Public.FrameAncestors)
				}
				if strings.HasPrefix(h.Get(echo.HeaderContentType), "text/html") {
					csp = htmlCSP + anc
				} else {
					csp = "default-src 'none'; sandbox; frame-ancestors " + anc
				}
				h.Set("Content-Security-Policy", csp)
			}
			switch {
			case strings.Contains(csp, "frame-ancestors 'none'"):
				h.Set("X-Frame-Options", "DENY")
			case strings.Contains(csp, "frame-ancestors 'self'"):
				h.Set("X-Frame-Options", "SAMEORIGIN")
			}
		})
		return next(c)
	}
}

// htmlCSP is the policy of HTML pages that do not set their own: scripts
// and styles from this site only (MapLibre needs blob: workers), map data
// from this site, an external base map over https; frame-ancestors follows.
const htmlCSP = "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; script-src 'self'; " +
	"worker-src 'self' blob:; child-src blob:; connect-src 'self' https:; font-src 'self' https:; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors "

// mapCSP is a page's policy with the origins of the external base map
// (serve --base-style-url: the style's own, its glyphs', sprites' and
// sources') added to connect-src and img-src, where MapLibre loads them
// from. Without a base map it is csp unchanged.
func (s *Server) mapCSP(csp string) string {
	if s.tileSvc == nil {
		return csp
	}
	return withOrigins(csp, s.tileSvc.BaseOrigins())
}

// withOrigins adds origins to the connect-src and img-src directives of a
// policy.
func withOrigins(csp string, origins []string) string {
	if len(origins) == 0 {
		return csp
	}
	extra := " " + strings.Join(origins, " ")
	dirs := strings.Split(csp, ";")
	for i, d := range dirs {
		name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name == "connect-src" || name == "img-src" {
			dirs[i] = d + extra
		}
	}
	return strings.Join(dirs, ";")
}

func frameAncestors(origins []string) string {
	if len(origins) == 0 {
		return "*"
	}
	return strings.Join(origins, " ")
}

// parseCIDR reads a CIDR, or a single address as its own /32 or /128.
func parseCIDR(s string) (net.IP, *net.IPNet, error) {
	if ip, n, err := net.ParseCIDR(s); err == nil {
		return ip, n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, nil, fmt.Errorf("not an address or CIDR: %q", s)
	}
	bits := 128
	if ip.To4() != nil {
		ip, bits = ip.To4(), 32
	}
	return ip, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

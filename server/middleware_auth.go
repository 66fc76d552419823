package server

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// Names of the credentials on the wire.
const (
	// sessionCookieName holds the session secret (HttpOnly, SameSite=Lax).
	sessionCookieName = "rz_session"
	// csrfHeaderName carries the session's CSRF token on cookie-authenticated writes.
	csrfHeaderName = "X-CSRF-Token"
	// csrfFormField carries it in HTML forms instead.
	csrfFormField = "csrf_token"
	// authContextKey is where authenticate leaves the authState in the echo context.
	authContextKey = "riskzone.auth"
)

// authState is what authenticate learned about a request's credentials.
type authState struct {
	principal   zoning.Principal
	csrfToken   string // of the session, when principal.Via is session
	sessionHash []byte // SHA-256 of the cookie, when principal.Via is session
	// refused is set when the request carried a session cookie that is unknown,
	// expired or revoked: the request runs as anonymous, but a protected route
	// answers with this error instead of "sign in".
	refused error
}

// authenticate resolves the credentials of every request into a
// zoning.Principal kept in the echo context (read it with principal(c)):
//
//   - Authorization: Bearer rz_… (an API token) wins over a cookie. A token
//     that is malformed, unknown, expired or revoked is answered 401 at once,
//     on any route: the client asked to act as someone and cannot.
//   - Otherwise the session cookie. A stale cookie leaves the request
//     anonymous, so public pages keep working, and protected routes answer 401.
//   - Otherwise the request is anonymous.
//
// Secrets never reach a log line or an error message.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := authState{principal: zoning.Anonymous()}
		ctx := c.Request().Context()
		if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			token = strings.TrimSpace(token)
			if !strings.EqualFold(scheme, "Bearer") {
				return refuseBearer(c, "unsupported Authorization scheme: send \"Authorization: Bearer rz_…\" with an API token")
			}
			if !zoning.LooksLikeAPIToken(token) {
				return refuseBearer(c, "malformed API token: want \"Bearer rz_…\"")
			}
			p, err := s.store.PrincipalByTokenHash(ctx, zoning.HashSecret(token))
			switch {
			case errors.Is(err, zoning.ErrNotFound):
				return refuseBearer(c, "API token unknown, expired or revoked")
			case err != nil:
				return err
			}
			st.principal = p
		} else if ck, err := c.Cookie(sessionCookieName); err == nil && ck.Value != "" {
			hash := zoning.HashSecret(ck.Value)
			ses, err := s.store.SessionByHash(ctx, hash)
			switch {
			case errors.Is(err, zoning.ErrNotFound):
				st.refused = zoning.Errorf(zoning.ErrUnauthorized, "your session has expired or ended: sign in again")
			case err != nil:
				return err
			default:
				st.principal = ses.Principal
				st.csrfToken = ses.CSRFToken
				st.sessionHash = hash
			}
		}
		c.Set(authContextKey, st)
		return next(c)
	}
}

// refuseBearer answers 401 for a bad API token, with the RFC 6750 challenge.
func refuseBearer(c echo.Context, msg string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="riskzone", error="invalid_token"`)
	return zoning.Errorf(zoning.ErrUnauthorized, "%s", msg)
}

func authStateOf(c echo.Context) authState {
	if st, ok := c.Get(authContextKey).(authState); ok {
		return st
	}
	return authState{principal: zoning.Anonymous()}
}

// principal is who makes the request (zoning.Anonymous() when nobody signed
// in). Handlers use it for authorization decisions beyond requireRole (e.g.
// zoning.Principal.SecondPerson) and for the audit log (s.auditOrigin).
func principal(c echo.Context) zoning.Principal { return authStateOf(c).principal }

// requireRole lets a request through only when its principal holds one of
// roles (an admin holds them all, see zoning.Principal.Is): 401 when nobody
// (validly) signed in, 403 for a wrong role. Use it on a route or a group:
//
//	g := s.echo.Group("/api/v1/zones", requireRole(zoning.RoleExpert))
//	s.echo.POST("/api/v1/notices", s.publish, requireRole(zoning.RolePublisher))
func requireRole(roles ...zoning.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			st := authStateOf(c)
			p := st.principal
			switch {
			case st.refused != nil:
				return st.refused
			case !p.Authenticated():
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="riskzone"`)
				return zoning.Errorf(zoning.ErrUnauthorized, "sign in or send an API token to use this")
			case !p.Is(roles...):
				return zoning.Errorf(zoning.ErrForbidden, "this needs the role %s; you have the role %s", roleList(roles), p.Role)
			}
			return next(c)
		}
	}
}

func roleList(roles []zoning.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	switch len(names) {
	case 0:
		return "(none)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// csrfProtect refuses (403) a write (POST, PUT, PATCH, DELETE) authenticated
// by a session cookie unless it carries the session's CSRF token in the
// X-CSRF-Token header, or for an HTML form in the csrf_token field; the
// comparison is constant-time. Anonymous requests and requests with an API
// token are exempt (a cross-site page cannot attach a bearer token), and so
// is login, which does not act as the session it may carry. authRoutes
// installs it for the whole app, after authenticate.
func csrfProtect(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := authStateOf(c)
		if st.principal.Via != zoning.ViaSession || !isWrite(c.Request().Method) || c.Path() == loginPath {
			return next(c)
		}
		got := c.Request().Header.Get(csrfHeaderName)
		if got == "" && isForm(c.Request()) {
			got = c.FormValue(csrfFormField)
		}
		if got == "" {
			return zoning.Errorf(zoning.ErrForbidden, "missing CSRF token: send the csrf_token from login or /api/v1/auth/me in the %s header", csrfHeaderName)
		}
		if st.csrfToken == "" || subtle.ConstantTimeCompare([]byte(got), []byte(st.csrfToken)) != 1 {
			return zoning.Errorf(zoning.ErrForbidden, "wrong CSRF token: use the csrf_token of your current session (from login or /api/v1/auth/me)")
		}
		return next(c)
	}
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return err == nil && (mt == echo.MIMEApplicationForm || mt == echo.MIMEMultipartForm)
}

// auditOrigin is who makes the request, from where and why, for the audit
// entry of a write. The address is the peer's unless the server was given an
// echo IPExtractor that says which proxy headers to trust: X-Forwarded-For
// from anyone else is a claim, not a fact.
func (s *Server) auditOrigin(c echo.Context, reason string) zoning.Origin {
	return zoning.Origin{Actor: principal(c), RemoteAddr: s.remoteAddr(c), Reason: reason}
}

func (s *Server) remoteAddr(c echo.Context) string {
	if s.echo.IPExtractor != nil {
		return c.RealIP()
	}
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// loginPath is the one write that csrfProtect lets through without a token.
const loginPath = "/api/v1/auth/login"

// defaultTokenTTL is the lifetime of an API token created without expires_in.
const defaultTokenTTL = 30 * 24 * time.Hour

// badLogin is the single answer to a wrong password, an unknown or disabled
// user and an account without a password, so that it reveals none of them.
const badLogin = "wrong username or password"

// authRoutes installs the auth middleware for the whole app and registers
// login/logout, the current principal and the admin endpoints for users and
// API tokens.
//
// Every later endpoint inherits authenticate and csrfProtect; it reads the
// caller with principal(c) and guards itself with requireRole(...).
func (s *Server) authRoutes() {
	s.echo.Use(s.authenticate, csrfProtect)

	auth := s.echo.Group("/api/v1/auth")
	auth.POST("/login", s.login)
	auth.POST("/logout", s.logout)
	auth.GET("/me", s.me)

	admin := s.echo.Group("/api/v1/admin", requireRole(zoning.RoleAdmin))
	admin.GET("/users", s.listUsers)
	admin.GET("/tokens", s.listTokens)
	admin.POST("/tokens", s.createToken)
	admin.DELETE("/tokens/:id", s.revokeToken)
}

// passwordParams are the argon2id parameters for hashes the server makes
// (today only the dummy hash that answers logins of unknown users).
func (s *Server) passwordParams() zoning.PasswordParams {
	return s.cfg.Password
}

// userJSON is a user as the auth endpoints show it.
type userJSON struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// sessionJSON answers login and /me.
type sessionJSON struct {
	User      *userJSON   `json:"user"`
	Role      zoning.Role `json:"role"`
	Via       string      `json:"via"`
	CSRFToken string      `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time  `json:"expires_at,omitempty"`
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login checks a username and password (JSON {"username","password"} or an
// HTML form) and starts a session: a cookie with 256 random bits, of which
// the store keeps only the SHA-256. Every outcome is audited; all refusals
// answer the same 401. Beyond the per-address limit, a username with too
// many failures is refused with 429 (login_throttle.go), and a sign-in that
// finds every password-hashing slot taken answers 503.
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if isForm(c.Request()) {
		req.Username, req.Password = c.FormValue("username"), c.FormValue("password")
	} else if err := readAuthJSON(c, &req); err != nil {
		return err
	}
	req.Username = zoning.NormalizeUsername(req.Username)
	switch {
	case req.Username == "" || req.Password == "":
		return zoning.Errorf(zoning.ErrInvalid, "login needs a username and a password")
	case len(req.Username) > 64:
		return zoning.Errorf(zoning.ErrInvalid, "username too long: want at most 64 characters")
	case len(req.Password) > zoning.MaxPasswordLen:
		return zoning.Errorf(zoning.ErrInvalid, "password too long: want at most %d bytes", zoning.MaxPasswordLen)
	}
	ctx := c.Request().Context()
	o := s.auditOrigin(c, "")
	// A throttled username is refused before any work, known or not.
	if s.accounts != nil {
		if d := s.accounts.wait(req.Username, s.now()); d > 0 {
			return s.accountThrottled(c, d)
		}
	}

	user, hash, err := s.store.LoginCredentials(ctx, req.Username)
	known := err == nil
	if err != nil && !errors.Is(err, zoning.ErrNotFound) {
		return err
	}
	if hash == "" {
		// Unknown user or no password: spend the same time as a real check.
		hash = zoning.DummyPasswordHash(s.passwordParams())
	}
	if !s.hashes.acquire(ctx) {
		return s.hashBusy(c)
	}
	if s.accounts != nil {
		// Counted as a failure until the password is right.
		if d := s.accounts.admit(req.Username, s.now()); d > 0 {
			s.hashes.release()
			return s.accountThrottled(c, d)
		}
	}
	ok, err := s.verify(req.Password, hash)
	s.hashes.release()
	if err != nil {
		// A damaged hash in the database: refuse, and say so in the server log
		// (without the hash).
		s.log.Error("login: stored password hash is malformed", "user_id", user.ID, "err", err)
		ok = false
	}
	var why string
	switch {
	case !known:
		why = "unknown user"
	case !ok:
		why = "wrong password"
	case user.Disabled:
		why = "account disabled"
	}
	if why != "" {
		// The actor of a refused login is unknown: whoever typed the password
		// is not (yet) the account's owner.
		e := o.Entry("login", "user", "")
		e.Outcome, e.Reason = zoning.OutcomeRefused, why
		if known {
			e.EntityID = strconv.FormatInt(user.ID, 10)
		}
		e.After = map[string]string{"username": req.Username}
		if err := s.store.Audit(ctx, e); err != nil {
			return err
		}
		return zoning.Errorf(zoning.ErrUnauthorized, badLogin)
	}

	if s.accounts != nil {
		s.accounts.succeed(req.Username)
	}
	secret, err := zoning.NewSecret()
	if err != nil {
		return fmt.Errorf("login: session secret: %w", err)
	}
	csrf, err := zoning.NewSecret()
	if err != nil {
		return fmt.Errorf("login: csrf token: %w", err)
	}
	expires := time.Now().Add(s.cfg.SessionTTL).UTC().Truncate(time.Second)
	o.Actor = user.Principal(zoning.ViaSession)
	if err := s.store.CreateSession(ctx, o, user.ID, zoning.HashSecret(secret), csrf, expires); err != nil {
		return err
	}
	c.SetCookie(s.sessionCookie(secret, expires))
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, sessionJSON{
		User:      &userJSON{ID: user.ID, Username: user.Username, DisplayName: user.DisplayName},
		Role:      user.Role,
		Via:       zoning.ViaSession,
		CSRFToken: csrf,
		ExpiresAt: &expires,
	})
}

// sessionCookie is the session cookie carrying value until expires; an
// empty value with a zero time deletes it.
func (s *Server) sessionCookie(value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     sessionCookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   !s.cfg.InsecureDev,
		// Lax, not Strict: a link to the app from a mail or a chat must open
		// signed in; cross-site writes are stopped by csrfProtect anyway.
		SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		ck.MaxAge = -1
		ck.Expires = time.Unix(0, 0)
	} else {
		ck.Expires = expires
		ck.MaxAge = int(time.Until(expires).Seconds())
	}
	return ck
}

// logout ends the session of the request (it needs the CSRF token like any
// cookie-authenticated write) and deletes the cookie. Without a live session
// it only deletes the cookie; an API token is revoked by an admin instead.
func (s *Server) logout(c echo.Context) error {
	st := authStateOf(c)
	switch st.principal.Via {
	case zoning.ViaSession:
		err := s.store.RevokeSession(c.Request().Context(), s.auditOrigin(c, ""), st.sessionHash)
		if err != nil && !errors.Is(err, zoning.ErrNotFound) {
			return err
		}
	case zoning.ViaToken:
		return zoning.Errorf(zoning.ErrInvalid, "logout ends a browser session; API tokens are revoked with DELETE /api/v1/admin/tokens/{id}")
	}
	c.SetCookie(s.sessionCookie("", time.Time{}))
	return c.NoContent(http.StatusNoContent)
}

// me tells the web app who it is: the principal, and for a session its CSRF
// token. Anonymous callers get role "public" and user null.
func (s *Server) me(c echo.Context) error {
	st := authStateOf(c)
	p := st.principal
	out := sessionJSON{Role: p.Role, Via: p.Via, CSRFToken: st.csrfToken}
	if p.Authenticated() {
		u, err := s.store.UserByID(c.Request().Context(), p.UserID)
		if err != nil {
			return err
		}
		out.User = &userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, out)
}

// listUsers lists every account (admin).
func (s *Server) listUsers(c echo.Context) error {
	users, err := s.store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	if users == nil {
		users = []zoning.User{}
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

// listTokens lists API tokens (admin), of one user with ?username=.
func (s *Server) listTokens(c echo.Context) error {
	ctx := c.Request().Context()
	var userID int64
	if name := c.QueryParam("username"); name != "" {
		u, err := s.store.UserByUsername(ctx, name)
		if err != nil {
			return err
		}
		userID = u.ID
	}
	tokens, err := s.store.ListAPITokens(ctx, userID)
	if err != nil {
		return err
	}
	if tokens == nil {
		tokens = []zoning.APIToken{}
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": tokens})
}

type createTokenRequest struct {
	Username string `json:"username"`
	UserID   int64  `json:"user_id"`
	Name     string `json:"name"`
	// ExpiresIn is a Go duration ("720h"); "0" makes a token that never
	// expires; empty means 720h.
	ExpiresIn string `json:"expires_in"`
	Reason    string `json:"reason"`
}

// createTokenResponse carries the clear token: the only time it is shown.
type createTokenResponse struct {
	Token    string          `json:"token"`
	APIToken zoning.APIToken `json:"api_token"`
}

// createToken makes an API token for a user (admin) and answers the clear
// token once; only its SHA-256 and prefix are stored.
func (s *Server) createToken(c echo.Context) error {
	var req createTokenRequest
	if err := readAuthJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var user zoning.User
	var err error
	switch {
	case req.Username != "" && req.UserID != 0:
		return zoning.Errorf(zoning.ErrInvalid, "give username or user_id, not both")
	case req.Username != "":
		user, err = s.store.UserByUsername(ctx, req.Username)
	case req.UserID > 0:
		user, err = s.store.UserByID(ctx, req.UserID)
	default:
		return zoning.Errorf(zoning.ErrInvalid, "which user is the token for? give username or user_id")
	}
	if err != nil {
		return err
	}
	ttl, err := ParseTokenTTL(req.ExpiresIn)
	if err != nil {
		return err
	}
	var expires *time.Time
	if ttl > 0 {
		t := time.Now().Add(ttl).UTC().Truncate(time.Second)
		expires = &t
	}
	clear, prefix, err := zoning.NewAPIToken()
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	tok, err := s.store.CreateAPIToken(ctx, s.auditOrigin(c, req.Reason), user.ID, strings.TrimSpace(req.Name), prefix, zoning.HashSecret(clear), expires)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, createTokenResponse{Token: clear, APIToken: tok})
}

// revokeToken revokes an API token by id (admin); ?reason= is audited.
func (s *Server) revokeToken(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return zoning.Errorf(zoning.ErrInvalid, "token id %q: want a positive integer", c.Param("id"))
	}
	tok, err := s.store.RevokeAPIToken(c.Request().Context(), s.auditOrigin(c, c.QueryParam("reason")), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"api_token": tok})
}

// ParseTokenTTL reads a token lifetime: a Go duration such as "720h"; "0"
// for no expiry; empty for the default (720h). Shared by the API and the CLI.
func ParseTokenTTL(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return defaultTokenTTL, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, zoning.Errorf(zoning.ErrInvalid, "expires_in %q: want a duration such as \"720h\", or \"0\" for no expiry", s)
	}
	if d > 0 && d < time.Minute {
		return 0, zoning.Errorf(zoning.ErrInvalid, "expires_in %q: want at least one minute", s)
	}
	return d, nil
}

// maxAuthBody bounds the JSON bodies of the auth endpoints, well below the
// server-wide body limit.
const maxAuthBody = 64 << 10

// readAuthJSON decodes a small JSON object body into v, refusing unknown
// fields, trailing data and other media types with a clear 4xx. Error
// messages name the problem but never echo field values (which may be
// passwords).
func readAuthJSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
		}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAuthBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return zoning.Errorf(zoning.ErrInvalid, "empty body: send a JSON object")
		case errors.As(err, &syn):
			return zoning.Errorf(zoning.ErrInvalid, "malformed JSON at byte %d", syn.Offset)
		case errors.As(err, &typ):
			return zoning.Errorf(zoning.ErrInvalid, "JSON field %q: want a %s", typ.Field, typ.Type)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return zoning.Errorf(zoning.ErrInvalid, "malformed JSON: the body ends too early (or is over %d bytes)", maxAuthBody)
		default:
			// e.g. `json: unknown field "x"`: names a field, never a value.
			return zoning.Errorf(zoning.ErrInvalid, "malformed JSON body: %v", err)
		}
	}
	if dec.More() {
		return zoning.Errorf(zoning.ErrInvalid, "malformed JSON: data after the object")
	}
	return nil
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// testPasswordParams keep argon2id cheap in tests; production uses
// zoning.DefaultPasswordParams.
var testPasswordParams = zoning.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// lockedBuffer collects the server's log output from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a Server on a fresh migrated database, served by httptest.
type testEnv struct {
	t     *testing.T
	srv   *Server
	store *postgis.Store
	ts    *httptest.Server
	logs  *lockedBuffer
}

// newTestEnv builds the server with cfg on a pgtest store, logging at debug
// level into a buffer. routes, when not nil, registers extra test routes
// before the server starts.
//
// Tests run over plain http on loopback, as local development does: the
// environment is InsecureDev (no Secure cookies, links from the request)
// and its outbound allowlist names loopback, where the tests' webhook
// receivers and base styles listen. newSecureTestEnv keeps the defaults.
func newTestEnv(t *testing.T, cfg Config, routes func(s *Server)) *testEnv {
	t.Helper()
	cfg.InsecureDev = true
	cfg.Outbound.InsecureHTTP = true
	if cfg.Outbound.Allow == nil {
		cfg.Outbound.Allow = []string{"127.0.0.0/8", "::1"}
	}
	return newSecureTestEnv(t, cfg, routes)
}

// newSecureTestEnv is newTestEnv with cfg as given: production defaults
// (Secure cookies, HSTS, no outbound connection to loopback).
func newSecureTestEnv(t *testing.T, cfg Config, routes func(s *Server)) *testEnv {
	t.Helper()
	store := pgtest.NewStore(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := New(cfg, store, log)
	if routes != nil {
		routes(srv)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testEnv{t: t, srv: srv, store: store, ts: ts, logs: logs}
}

// withRoleRoutes registers tiny routes guarded by requireRole, for tests of
// the middleware: GET and POST /test/expert (expert), GET /test/agency
// (agency) and GET /test/public (anyone; answers the principal).
func withRoleRoutes(s *Server) {
	who := func(c echo.Context) error { return c.JSON(http.StatusOK, principal(c)) }
	s.echo.GET("/test/expert", who, requireRole(zoning.RoleExpert))
	s.echo.POST("/test/expert", who, requireRole(zoning.RoleExpert))
	s.echo.GET("/test/agency", who, requireRole(zoning.RoleAgency))
	s.echo.POST("/test/agency", who, requireRole(zoning.RoleAgency))
	s.echo.GET("/test/public", who)
}

// addUser creates an account directly in the store.
func (e *testEnv) addUser(name string, role zoning.Role, password string) zoning.User {
	e.t.Helper()
	nu := zoning.NewUser{Username: name, Role: role, DisplayName: "Test " + name}
	if password != "" {
		h, err := zoning.HashPassword(password, testPasswordParams)
		if err != nil {
			e.t.Fatal(err)
		}
		nu.PasswordHash = h
	}
	u, err := e.store.CreateUser(context.Background(), zoning.Origin{Actor: zoning.CLI()}, nu)
	if err != nil {
		e.t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

// request describes one call to the test server.
type request struct {
	method, path string
	json         any        // JSON body
	form         url.Values // form body (instead of json)
	cookie       *http.Cookie
	csrf         string
	bearer       string
	header       map[string]string
}

type response struct {
	*http.Response
	body []byte
}

func (e *testEnv) do(r request) response {
	e.t.Helper()
	var body io.Reader
	ctype := ""
	switch {
	case r.form != nil:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.json != nil:
		if s, ok := r.json.(string); ok {
			body = strings.NewReader(s)
		} else {
			b, err := json.Marshal(r.json)
			if err != nil {
				e.t.Fatal(err)
			}
			body = bytes.NewReader(b)
		}
		ctype = "application/json"
	}
	req, err := http.NewRequest(r.method, e.ts.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	if r.csrf != "" {
		req.Header.Set("X-CSRF-Token", r.csrf)
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Response: res, body: b}
}

// expect fails the test unless the answer has the given status.
func (r response) expect(t *testing.T, status int, what string) response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.StatusCode, status, r.body)
	}
	return r
}

// expectError checks the status, the JSON error body and that its message
// contains want.
func (r response) expectError(t *testing.T, status int, want, what string) {
	t.Helper()
	r.expect(t, status, what)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: content type %q, want JSON", what, ct)
	}
	var eb ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("%s: error body %s: %v", what, r.body, err)
	}
	if eb.Error.Code != codeOf(status) || !strings.Contains(eb.Error.Message, want) {
		t.Fatalf("%s: error %+v, want code %q and a message with %q", what, eb.Error, codeOf(status), want)
	}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// session is a signed-in browser: its cookie and CSRF token.
type session struct {
	cookie *http.Cookie
	csrf   string
}

// login signs in and returns the session, failing the test otherwise.
func (e *testEnv) login(username, password string) session {
	e.t.Helper()
	res := e.do(request{method: "POST", path: "/api/v1/auth/login", json: map[string]string{"username": username, "password": password}})
	res.expect(e.t, http.StatusOK, "login "+username)
	var body sessionJSON
	res.decode(e.t, &body)
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName {
			ck = c
		}
	}
	if ck == nil || ck.Value == "" || body.CSRFToken == "" {
		e.t.Fatalf("login %s: no session cookie or csrf token: %s", username, res.body)
	}
	return session{cookie: &http.Cookie{Name: ck.Name, Value: ck.Value}, csrf: body.CSRFToken}
}

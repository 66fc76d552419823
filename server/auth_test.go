package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

func TestLoginRefusalsLookAlike(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	e.addUser("tokenonly", zoning.RoleAgency, "")
	disabled := e.addUser("gone", zoning.RoleExpert, "gone-password-123")
	if _, err := e.store.Pool.Exec(context.Background(), `UPDATE users SET disabled = true WHERE id = $1`, disabled.ID); err != nil {
		t.Fatal(err)
	}
	for name, creds := range map[string][2]string{
		"wrong password":   {"eve", "not-her-password"},
		"unknown user":     {"mallory", "eve-password-123"},
		"no password":      {"tokenonly", "anything-at-all"},
		"disabled account": {"gone", "gone-password-123"},
	} {
		res := e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": creds[0], "password": creds[1]}})
		res.expectError(t, http.StatusUnauthorized, badLogin, name)
		for _, c := range res.Cookies() {
			if c.Name == sessionCookieName && c.Value != "" {
				t.Fatalf("%s: a session cookie was set", name)
			}
		}
	}
	var refused int
	if err := e.store.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'login' AND outcome = 'refused' AND actor = 'anonymous'`).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if refused != 4 {
		t.Fatalf("refused logins audited: %d, want 4", refused)
	}
	var reason string
	if err := e.store.Pool.QueryRow(context.Background(),
		`SELECT reason FROM audit_log WHERE action = 'login' AND after->>'username' = 'mallory'`).Scan(&reason); err != nil || reason != "unknown user" {
		t.Fatalf("unknown-user audit reason %q, %v", reason, err)
	}
}

func TestLoginInput(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	e.do(request{method: "POST", path: loginPath, json: `{"username": "eve", "password":`}).
		expectError(t, http.StatusBadRequest, "malformed JSON", "truncated JSON")
	e.do(request{method: "POST", path: loginPath, json: `{"username": "eve", "pasword": "x"}`}).
		expectError(t, http.StatusBadRequest, "unknown field", "misspelt field")
	e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "eve"}}).
		expectError(t, http.StatusBadRequest, "username and a password", "no password")
	e.do(request{method: "POST", path: loginPath, json: `{"username": "eve", "password": "a"} {}`}).
		expectError(t, http.StatusBadRequest, "data after", "two objects")
	e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "eve", "password": strings.Repeat("x", 2000)}}).
		expectError(t, http.StatusBadRequest, "too long", "huge password")
	e.do(request{method: "POST", path: loginPath, header: map[string]string{"Content-Type": "text/plain"}}).
		expectError(t, http.StatusUnsupportedMediaType, "application/json", "text body")

	// An HTML form signs in too; the username is case-insensitive.
	res := e.do(request{method: "POST", path: loginPath, form: url.Values{"username": {"EVE"}, "password": {"eve-password-123"}}})
	res.expect(t, http.StatusOK, "form login")
	var body sessionJSON
	res.decode(t, &body)
	if body.User == nil || body.User.Username != "eve" || body.Role != zoning.RoleExpert || body.Via != "session" || body.CSRFToken == "" || body.ExpiresAt == nil {
		t.Fatalf("login answer %s", res.body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login Cache-Control %q, want no-store", cc)
	}
}

func TestSessionCookieAndCSRF(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")

	res := e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "eve", "password": "eve-password-123"}})
	res.expect(t, http.StatusOK, "login")
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName {
			ck = c
		}
	}
	switch {
	case ck == nil:
		t.Fatal("no session cookie")
	case !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure:
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure", ck)
	case len(ck.Value) != 43:
		t.Fatalf("cookie value has %d characters, want 43 (256 bits)", len(ck.Value))
	case ck.MaxAge <= 0:
		t.Fatalf("cookie MaxAge %d, want the session TTL", ck.MaxAge)
	}
	ses := e.login("eve", "eve-password-123")

	e.do(request{method: "GET", path: "/test/expert", cookie: ses.cookie}).expect(t, http.StatusOK, "read with session")
	var me sessionJSON
	e.do(request{method: "GET", path: "/api/v1/auth/me", cookie: ses.cookie}).expect(t, http.StatusOK, "me").decode(t, &me)
	if me.CSRFToken != ses.csrf || me.User == nil || me.User.Username != "eve" || me.User.DisplayName != "Test eve" || me.Via != "session" {
		t.Fatalf("me: %+v", me)
	}

	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie}).
		expectError(t, http.StatusForbidden, "missing CSRF token", "write without CSRF token")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, csrf: ses.csrf + "x"}).
		expectError(t, http.StatusForbidden, "wrong CSRF token", "write with wrong CSRF token")
	other := e.login("eve", "eve-password-123")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, csrf: other.csrf}).
		expectError(t, http.StatusForbidden, "wrong CSRF token", "write with another session's CSRF token")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, csrf: ses.csrf}).
		expect(t, http.StatusOK, "write with CSRF header")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, form: url.Values{"csrf_token": {ses.csrf}}}).
		expect(t, http.StatusOK, "write with CSRF form field")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, form: url.Values{"csrf_token": {"nope"}}}).
		expectError(t, http.StatusForbidden, "wrong CSRF token", "form with wrong CSRF field")

	// Logout is a cookie-authenticated write too.
	e.do(request{method: "POST", path: "/api/v1/auth/logout", cookie: ses.cookie}).
		expectError(t, http.StatusForbidden, "missing CSRF token", "logout without CSRF token")
	res = e.do(request{method: "POST", path: "/api/v1/auth/logout", cookie: ses.cookie, csrf: ses.csrf}).
		expect(t, http.StatusNoContent, "logout")
	cleared := false
	for _, c := range res.Cookies() {
		cleared = cleared || (c.Name == sessionCookieName && c.MaxAge < 0)
	}
	if !cleared {
		t.Error("logout did not delete the cookie")
	}

	// The revoked session is refused on protected routes, ignored on public ones.
	e.do(request{method: "GET", path: "/test/expert", cookie: ses.cookie}).
		expectError(t, http.StatusUnauthorized, "session has expired or ended", "revoked session")
	e.do(request{method: "POST", path: "/test/expert", cookie: ses.cookie, csrf: ses.csrf}).
		expectError(t, http.StatusUnauthorized, "session has expired or ended", "write with revoked session")
	var p zoning.Principal
	e.do(request{method: "GET", path: "/test/public", cookie: ses.cookie}).expect(t, http.StatusOK, "public with revoked session").decode(t, &p)
	if p != zoning.Anonymous() {
		t.Fatalf("public route with a revoked cookie ran as %+v", p)
	}
	// The other session lives on.
	e.do(request{method: "GET", path: "/test/expert", cookie: other.cookie}).expect(t, http.StatusOK, "second session")

	var n int
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'logout' AND actor = 'eve'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("logout audit rows %d, %v", n, err)
	}
}

func TestExpiredSession(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	ses := e.login("eve", "eve-password-123")
	e.do(request{method: "GET", path: "/test/expert", cookie: ses.cookie}).expect(t, http.StatusOK, "fresh session")
	if _, err := e.store.Pool.Exec(context.Background(),
		`UPDATE sessions SET created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	e.do(request{method: "GET", path: "/test/expert", cookie: ses.cookie}).
		expectError(t, http.StatusUnauthorized, "session has expired", "expired session")
	var me sessionJSON
	e.do(request{method: "GET", path: "/api/v1/auth/me", cookie: ses.cookie}).expect(t, http.StatusOK, "me when expired").decode(t, &me)
	if me.User != nil || me.Role != zoning.RolePublic || me.CSRFToken != "" {
		t.Fatalf("me with an expired session: %+v", me)
	}
}

func TestSecureCookiesAndTTL(t *testing.T) {
	e := newSecureTestEnv(t, Config{SessionTTL: 90 * time.Minute}, nil)
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	res := e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "eve", "password": "eve-password-123"}})
	res.expect(t, http.StatusOK, "login")
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName {
			if !c.Secure {
				t.Fatal("cookie not Secure with SecureCookies")
			}
			if c.MaxAge < 89*60 || c.MaxAge > 90*60 {
				t.Fatalf("cookie MaxAge %d, want 90 minutes", c.MaxAge)
			}
			return
		}
	}
	t.Fatal("no session cookie")
}

func TestRoles(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	e.addUser("pub", zoning.RolePublisher, "pub-password-123")
	e.addUser("root", zoning.RoleAdmin, "root-password-123")
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")

	e.do(request{method: "GET", path: "/test/expert"}).
		expectError(t, http.StatusUnauthorized, "sign in", "anonymous")
	pub := e.login("pub", "pub-password-123")
	e.do(request{method: "GET", path: "/test/expert", cookie: pub.cookie}).
		expectError(t, http.StatusForbidden, "needs the role expert", "publisher on expert route")
	e.do(request{method: "GET", path: "/api/v1/admin/users", cookie: pub.cookie}).
		expectError(t, http.StatusForbidden, "needs the role admin", "publisher on admin route")
	eve := e.login("eve", "eve-password-123")
	e.do(request{method: "GET", path: "/api/v1/admin/users", cookie: eve.cookie}).
		expectError(t, http.StatusForbidden, "needs the role admin", "expert on admin route")
	root := e.login("root", "root-password-123")
	e.do(request{method: "GET", path: "/test/expert", cookie: root.cookie}).expect(t, http.StatusOK, "admin on expert route")
	e.do(request{method: "GET", path: "/test/expert", cookie: eve.cookie}).expect(t, http.StatusOK, "expert on expert route")

	var users struct{ Users []zoning.User }
	e.do(request{method: "GET", path: "/api/v1/admin/users", cookie: root.cookie}).expect(t, http.StatusOK, "list users").decode(t, &users)
	if len(users.Users) != 3 || users.Users[0].Username != "eve" {
		t.Fatalf("users %+v", users.Users)
	}
	if strings.Contains(fmt.Sprint(users), "argon2") {
		t.Fatal("user list carries password hashes")
	}
	var me sessionJSON
	e.do(request{method: "GET", path: "/api/v1/auth/me"}).expect(t, http.StatusOK, "anonymous me").decode(t, &me)
	if me.User != nil || me.Role != zoning.RolePublic || me.Via != "anonymous" {
		t.Fatalf("anonymous me %+v", me)
	}
}

func TestAPITokens(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	e.addUser("root", zoning.RoleAdmin, "root-password-123")
	e.addUser("city-gis", zoning.RoleAgency, "")
	root := e.login("root", "root-password-123")

	create := func(body map[string]any) response {
		return e.do(request{method: "POST", path: "/api/v1/admin/tokens", cookie: root.cookie, csrf: root.csrf, json: body})
	}
	e.do(request{method: "POST", path: "/api/v1/admin/tokens", cookie: root.cookie, json: map[string]any{"username": "city-gis", "name": "x"}}).
		expectError(t, http.StatusForbidden, "CSRF", "create token without CSRF")
	create(map[string]any{"username": "nobody", "name": "x"}).expectError(t, http.StatusNotFound, "no user", "token for unknown user")
	create(map[string]any{"username": "city-gis"}).expectError(t, http.StatusBadRequest, "needs a name", "token without name")
	create(map[string]any{"username": "city-gis", "name": "x", "expires_in": "soon"}).expectError(t, http.StatusBadRequest, "expires_in", "bad expiry")
	create(map[string]any{"name": "x"}).expectError(t, http.StatusBadRequest, "which user", "no user")

	var made createTokenResponse
	res := create(map[string]any{"username": "city-gis", "name": "GIS sync", "expires_in": "48h", "reason": "onboarding"})
	res.expect(t, http.StatusCreated, "create token").decode(t, &made)
	if !zoning.LooksLikeAPIToken(made.Token) || made.APIToken.ID == 0 || made.APIToken.Username != "city-gis" ||
		!strings.HasPrefix(made.Token, made.APIToken.Prefix) || made.APIToken.ExpiresAt == nil {
		t.Fatalf("created token %s", res.body)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Error("token answer may be cached")
	}

	// The token authenticates; bearer writes need no CSRF token.
	var p zoning.Principal
	e.do(request{method: "GET", path: "/test/agency", bearer: made.Token}).expect(t, http.StatusOK, "token read").decode(t, &p)
	if p.Username != "city-gis" || p.Role != zoning.RoleAgency || p.Via != "token" {
		t.Fatalf("token principal %+v", p)
	}
	e.do(request{method: "POST", path: "/test/agency", bearer: made.Token}).expect(t, http.StatusOK, "token write without CSRF")
	e.do(request{method: "GET", path: "/test/expert", bearer: made.Token}).
		expectError(t, http.StatusForbidden, "needs the role expert", "agency token on expert route")
	e.do(request{method: "GET", path: "/api/v1/admin/users", bearer: made.Token}).
		expectError(t, http.StatusForbidden, "needs the role admin", "agency token on admin route")
	e.do(request{method: "POST", path: "/api/v1/auth/logout", bearer: made.Token}).
		expectError(t, http.StatusBadRequest, "revoked with DELETE", "logout with a token")

	// Malformed credentials.
	e.do(request{method: "GET", path: "/test/agency", bearer: "rz_short"}).
		expectError(t, http.StatusUnauthorized, "malformed API token", "malformed token")
	e.do(request{method: "GET", path: "/test/public", header: map[string]string{"Authorization": "Basic cm9vdDpyb290"}}).
		expectError(t, http.StatusUnauthorized, "unsupported Authorization scheme", "basic auth")
	forged, _, _ := zoning.NewAPIToken()
	res = e.do(request{method: "GET", path: "/test/agency", bearer: forged})
	res.expectError(t, http.StatusUnauthorized, "unknown, expired or revoked", "unknown token")
	if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Error("401 for a bad token lacks the Bearer challenge")
	}

	var list struct{ Tokens []zoning.APIToken }
	e.do(request{method: "GET", path: "/api/v1/admin/tokens?username=city-gis", cookie: root.cookie}).expect(t, http.StatusOK, "list tokens").decode(t, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].ID != made.APIToken.ID || list.Tokens[0].LastUsedAt == nil {
		t.Fatalf("token list %+v", list.Tokens)
	}

	// Revoked.
	path := fmt.Sprintf("/api/v1/admin/tokens/%d?reason=offboarding", made.APIToken.ID)
	e.do(request{method: "DELETE", path: path, cookie: root.cookie}).expectError(t, http.StatusForbidden, "CSRF", "revoke without CSRF")
	var revoked struct {
		APIToken zoning.APIToken `json:"api_token"`
	}
	e.do(request{method: "DELETE", path: path, cookie: root.cookie, csrf: root.csrf}).expect(t, http.StatusOK, "revoke").decode(t, &revoked)
	if revoked.APIToken.RevokedAt == nil {
		t.Fatalf("revoked token %+v", revoked.APIToken)
	}
	e.do(request{method: "GET", path: "/test/agency", bearer: made.Token}).
		expectError(t, http.StatusUnauthorized, "unknown, expired or revoked", "revoked token")
	e.do(request{method: "GET", path: "/test/public", bearer: made.Token}).
		expectError(t, http.StatusUnauthorized, "unknown, expired or revoked", "revoked token on a public route")
	e.do(request{method: "DELETE", path: "/api/v1/admin/tokens/999999", cookie: root.cookie, csrf: root.csrf}).
		expectError(t, http.StatusNotFound, "no API token", "revoke unknown id")
	e.do(request{method: "DELETE", path: "/api/v1/admin/tokens/abc", cookie: root.cookie, csrf: root.csrf}).
		expectError(t, http.StatusBadRequest, "positive integer", "revoke bad id")

	// Expired.
	var second createTokenResponse
	create(map[string]any{"username": "city-gis", "name": "short-lived"}).expect(t, http.StatusCreated, "second token").decode(t, &second)
	e.do(request{method: "GET", path: "/test/agency", bearer: second.Token}).expect(t, http.StatusOK, "second token works")
	if _, err := e.store.Pool.Exec(context.Background(), `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, second.APIToken.ID); err != nil {
		t.Fatal(err)
	}
	e.do(request{method: "GET", path: "/test/agency", bearer: second.Token}).
		expectError(t, http.StatusUnauthorized, "unknown, expired or revoked", "expired token")

	for action, want := range map[string]int{"token.create": 2, "token.revoke": 1} {
		var n int
		if err := e.store.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM audit_log WHERE action = $1 AND actor = 'root' AND outcome = 'ok'`, action).Scan(&n); err != nil || n != want {
			t.Errorf("%s audit rows: %d (%v), want %d", action, n, err, want)
		}
	}
	var reason, remote string
	if err := e.store.Pool.QueryRow(context.Background(),
		`SELECT reason, remote_addr FROM audit_log WHERE action = 'token.revoke'`).Scan(&reason, &remote); err != nil || reason != "offboarding" || remote != "127.0.0.1" {
		t.Errorf("revoke audit: reason %q remote %q (%v)", reason, remote, err)
	}
}

// TestSecretsNeverStoredOrLogged signs in, fails a login, creates and uses a
// token, then scans every row of the credential tables and the audit log, and
// the whole server log, for the clear secrets.
func TestSecretsNeverStoredOrLogged(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	const password = "Pa55word-that-must-not-leak"
	const wrongPassword = "Wrong-guess-that-must-not-leak"
	e.addUser("root", zoning.RoleAdmin, password)
	e.addUser("city-gis", zoning.RoleAgency, "")

	e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "root", "password": wrongPassword}}).
		expect(t, http.StatusUnauthorized, "wrong password")
	e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "nobody", "password": wrongPassword}}).
		expect(t, http.StatusUnauthorized, "unknown user")
	root := e.login("root", password)
	var made createTokenResponse
	e.do(request{method: "POST", path: "/api/v1/admin/tokens", cookie: root.cookie, csrf: root.csrf,
		json: map[string]any{"username": "city-gis", "name": "feed"}}).expect(t, http.StatusCreated, "create token").decode(t, &made)
	e.do(request{method: "GET", path: "/test/agency", bearer: made.Token}).expect(t, http.StatusOK, "use token")
	e.do(request{method: "GET", path: "/test/agency?token=" + made.Token, bearer: made.Token}).expect(t, http.StatusOK, "token in the query too")
	e.do(request{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/tokens/%d", made.APIToken.ID), cookie: root.cookie, csrf: root.csrf}).
		expect(t, http.StatusOK, "revoke")
	e.do(request{method: "GET", path: "/test/agency", bearer: made.Token}).expect(t, http.StatusUnauthorized, "revoked token")
	e.do(request{method: "POST", path: "/api/v1/auth/logout", cookie: root.cookie, csrf: root.csrf}).expect(t, http.StatusNoContent, "logout")

	secrets := map[string]string{
		"password":       password,
		"wrong password": wrongPassword,
		"API token":      made.Token,
		"session cookie": root.cookie.Value,
	}
	ctx := context.Background()
	for _, table := range []string{"users", "sessions", "api_tokens", "audit_log"} {
		rows, err := e.store.Pool.Query(ctx, `SELECT t::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(texts) == 0 {
			t.Fatalf("table %s is empty: the scan would prove nothing", table)
		}
		for _, row := range texts {
			for what, s := range secrets {
				if strings.Contains(row, s) {
					t.Errorf("table %s keeps the %s in clear: %s", table, what, row)
				}
			}
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "/api/v1/auth/login") {
		t.Fatalf("the log buffer did not capture the requests: %q", logs)
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the server log contains the %s", what)
		}
	}

	want := map[[2]string]int{
		{"login", "ok"}: 1, {"login", "refused"}: 2, {"logout", "ok"}: 1,
		{"token.create", "ok"}: 1, {"token.revoke", "ok"}: 1, {"user.create", "ok"}: 2,
	}
	for k, n := range want {
		var got int
		if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2`, k[0], k[1]).Scan(&got); err != nil || got != n {
			t.Errorf("audit %s/%s: %d rows (%v), want %d", k[0], k[1], got, err, n)
		}
	}
	// The audit log refuses rewriting history.
	if _, err := e.store.Pool.Exec(ctx, `UPDATE audit_log SET outcome = 'ok' WHERE outcome = 'refused'`); err == nil {
		t.Error("UPDATE on audit_log succeeded")
	}
	if _, err := e.store.Pool.Exec(ctx, `DELETE FROM audit_log`); err == nil {
		t.Error("DELETE on audit_log succeeded")
	}
}

func TestRequireRoleUnit(t *testing.T) {
	if got := roleList([]zoning.Role{zoning.RoleExpert, zoning.RolePublisher, zoning.RoleAdmin}); got != "expert, publisher or admin" {
		t.Errorf("roleList = %q", got)
	}
	for in, ok := range map[string]bool{"": true, "720h": true, "0": true, "-1h": false, "10s": false, "x": false} {
		if _, err := ParseTokenTTL(in); (err == nil) != ok {
			t.Errorf("ParseTokenTTL(%q): %v", in, err)
		}
	}
}

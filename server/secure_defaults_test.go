package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
)

// By default (production behind TLS) the session cookie is Secure and
// answers carry Strict-Transport-Security; --insecure-dev drops both.
func TestSecureDefaultsCookieAndHSTS(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		var e *testEnv
		if insecure {
			e = newTestEnv(t, Config{}, nil)
		} else {
			e = newSecureTestEnv(t, Config{}, nil)
		}
		e.addUser("eve", zoning.RoleExpert, "eve-password-123")
		res := e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "eve", "password": "eve-password-123"}})
		res.expect(t, http.StatusOK, "login")
		var ck *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == sessionCookieName {
				ck = c
			}
		}
		if ck == nil {
			t.Fatal("no session cookie")
		}
		if ck.Secure == insecure {
			t.Errorf("insecure-dev %v: cookie Secure %v", insecure, ck.Secure)
		}
		for _, path := range []string{loginPath, "/healthz", "/"} {
			r := res
			if path != loginPath {
				r = e.do(request{method: "GET", path: path})
			}
			if hsts := r.Header.Get("Strict-Transport-Security"); (hsts != "") == insecure {
				t.Errorf("insecure-dev %v: %s Strict-Transport-Security %q", insecure, path, hsts)
			}
		}
	}
}

// serve refuses to start without a public URL unless --insecure-dev, and
// refuses a public URL over plain http or with a query.
func TestCheckConfigPublicURL(t *testing.T) {
	if err := CheckConfig(Config{}); err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Errorf("no public URL: %v", err)
	}
	if err := CheckConfig(Config{InsecureDev: true}); err != nil {
		t.Errorf("insecure-dev without a public URL: %v", err)
	}
	if err := CheckConfig(Config{Public: PublicConfig{BaseURL: "https://zones.example.gov.cn"}}); err != nil {
		t.Errorf("https public URL: %v", err)
	}
	for _, bad := range []string{"http://zones.example.gov.cn", "https://zones.example.gov.cn/?x=1", "zones.example.gov.cn", "https://u:p@zones.example.gov.cn"} {
		if err := CheckConfig(Config{Public: PublicConfig{BaseURL: bad}}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
	if err := CheckConfig(Config{InsecureDev: true, Public: PublicConfig{BaseURL: "http://127.0.0.1:8080"}}); err != nil {
		t.Errorf("insecure-dev with an http public URL: %v", err)
	}
	// The base style: https unless allowed.
	pub := PublicConfig{BaseURL: "https://zones.example.gov.cn"}
	if err := CheckConfig(Config{Public: pub, Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: "http://maps.example.org/style.json"}}}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http base style: %v", err)
	}
	if err := CheckConfig(Config{Public: pub, Outbound: OutboundConfig{Allow: []string{"maps.example.org:80"}},
		Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: "http://maps.example.org/style.json"}}}); err != nil {
		t.Errorf("http base style named by the allowlist: %v", err)
	}
	if err := CheckConfig(Config{Public: pub, Outbound: OutboundConfig{Allow: []string{"what"}}}); err == nil {
		t.Error("a bad allowlist entry accepted")
	}
}

// A base style naming something that is not an origin is refused at start:
// it would otherwise go into every page's Content-Security-Policy.
func TestServeRefusesBadStyleOrigin(t *testing.T) {
	style := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"version": 8, "sources": {"t": {"type": "vector", "tiles": ["https://tiles.example.org;script-src 'unsafe-inline'/{z}/{x}/{y}"]}}, "layers": []}`)
	}))
	defer style.Close()
	e := newTestEnv(t, Config{Addr: "127.0.0.1:0", Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: style.URL + "/style.json"}}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listened := false
	err := e.srv.ListenAndServe(ctx, func(net.Addr) { listened = true })
	if !errors.Is(err, tiles.ErrBadOrigin) || listened {
		t.Fatalf("ListenAndServe: %v (listened %v), want a refusal naming the bad origin", err, listened)
	}
	if !strings.Contains(err.Error(), "not a valid origin") {
		t.Errorf("error %q", err)
	}
	// Pages do not carry it either.
	csp := e.do(request{method: "GET", path: "/"}).Header.Get("Content-Security-Policy")
	if strings.Contains(csp, "tiles.example.org") {
		t.Errorf("CSP %q", csp)
	}
}

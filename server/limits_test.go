package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// apiToken makes a user of role with an API token and returns the token.
func (e *testEnv) apiToken(name string, role zoning.Role) string {
	e.t.Helper()
	u := e.addUser(name, role, "")
	tok, prefix, err := zoning.NewAPIToken()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.CreateAPIToken(context.Background(), zoning.Origin{Actor: zoning.CLI()}, u.ID, "test", prefix, zoning.HashSecret(tok), nil); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// /metrics: admins only on the main listener; request latency by route
// template (never the raw path), the tile cache, the outbox, the pool.
func TestMetrics(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	admin := e.apiToken("ops", zoning.RoleAdmin)
	expert := e.apiToken("epi", zoning.RoleExpert)
	e.do(request{method: "GET", path: "/metrics"}).expectError(t, http.StatusUnauthorized, "", "anonymous metrics")
	e.do(request{method: "GET", path: "/metrics", bearer: expert}).expectError(t, http.StatusForbidden, "admin", "expert metrics")

	e.do(request{method: "GET", path: "/healthz"}).expect(t, http.StatusOK, "healthz")
	e.do(request{method: "GET", path: "/zones/98765"})
	tile := "/tiles/zones/12/3370/1552.mvt"
	for i := 0; i < 3; i++ {
		res := e.do(request{method: "GET", path: tile})
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
			t.Fatalf("tile: %d %s", res.StatusCode, res.body)
		}
	}
	res := e.do(request{method: "GET", path: "/metrics", bearer: admin}).expect(t, http.StatusOK, "admin metrics")
	body := string(res.body)
	for _, want := range []string{
		`riskzone_http_request_duration_seconds_count{code="200",method="GET",route="/healthz"} 1`,
		`route="/zones/:id"`,
		`riskzone_tile_cache_lookups_total{result="miss"} 1`,
		`riskzone_db_pool_total_conns`,
		`riskzone_db_pool_acquires_total`,
		`riskzone_outbox_lag_seconds 0`,
		`riskzone_outbox_deliveries{state="pending"} 0`,
		`riskzone_webhook_failed_attempts_total 0`,
		`riskzone_proposal_run_seconds_count 0`,
		`riskzone_db_up 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "98765") {
		t.Error("a raw path is a label")
	}
	// Warm tiles are answered ahead of routing, and counted under the
	// route template, and as cache hits.
	if !strings.Contains(body, `route="/tiles/:set/:z/:x/:y"`) {
		t.Error("tiles are not timed under their route template")
	}
	var hits float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, `riskzone_tile_cache_lookups_total{result="hit"}`) {
			fmt.Sscan(strings.TrimPrefix(line, `riskzone_tile_cache_lookups_total{result="hit"}`), &hits)
		}
	}
	if hits < 2 {
		t.Errorf("tile cache hits %v after three requests of one tile, want 2", hits)
	}
	if res.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("metrics cacheable: %q", res.Header.Get("Cache-Control"))
	}
}

// MetricsAddr serves the registry without authentication on its own
// listener; the main listener still wants an admin.
func TestMetricsListener(t *testing.T) {
	store := pgtest.NewStore(t)
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	maddr := free()
	srv := New(Config{Addr: "127.0.0.1:0", MetricsAddr: maddr}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(a net.Addr) { addr <- a.String() }) }()
	main := <-addr
	defer func() { cancel(); <-done }()
	res, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "riskzone_db_pool_max_conns") {
		t.Fatalf("metrics listener: %d %.200s", res.StatusCode, b)
	}
	res, err = http.Get("http://" + main + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("main listener /metrics anonymous: %d", res.StatusCode)
	}
}

// Per-address rate limits: public requests and sign-ins, 429 with
// Retry-After beyond the burst; X-Forwarded-For is believed only from a
// trusted proxy; health checks are never limited; loopback clients are
// limited unless configured otherwise (TestLoopbackLimitedByDefault).
func TestRateLimits(t *testing.T) {
	cfg := Config{Limits: LimitConfig{PublicRate: 0.01, PublicBurst: 3, LoginRate: 0.01, LoginBurst: 2}}
	e := newTestEnv(t, cfg, nil)
	lookup := "/api/v1/public/lookup?lon=120&lat=30"
	for i := 0; i < 3; i++ {
		e.do(request{method: "GET", path: lookup}).expect(t, http.StatusOK, fmt.Sprintf("lookup %d", i+1))
	}
	res := e.do(request{method: "GET", path: lookup, header: map[string]string{"X-Forwarded-For": "203.0.113.9"}})
	res.expectError(t, http.StatusTooManyRequests, "too many requests", "lookup over the burst (a forged X-Forwarded-For changes nothing)")
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.do(request{method: "GET", path: "/healthz"}).expect(t, http.StatusOK, "healthz is not limited")
	e.do(request{method: "GET", path: "/readyz"}).expect(t, http.StatusOK, "readyz is not limited")

	// Sign-ins have their own, smaller budget (behind a trusted proxy, by
	// the client it names).
	cfg.Limits.TrustedProxies = []string{"127.0.0.1/32"}
	e2 := newTestEnv(t, cfg, nil)
	login := func(client string) response {
		return e2.do(request{method: "POST", path: "/api/v1/auth/login", json: map[string]string{"username": "x", "password": "wrong-password-1"},
			header: map[string]string{"X-Forwarded-For": client}})
	}
	login("198.51.100.1").expect(t, http.StatusUnauthorized, "login 1")
	login("198.51.100.1").expect(t, http.StatusUnauthorized, "login 2")
	login("198.51.100.1").expectError(t, http.StatusTooManyRequests, "sign-in attempts", "login 3")
	login("198.51.100.2").expect(t, http.StatusUnauthorized, "another client behind the proxy")

	// Configured: loopback is not limited.
	e3 := newTestEnv(t, Config{Limits: LimitConfig{ExemptLoopback: true}}, nil)
	for i := 0; i < 300; i++ {
		if res := e3.do(request{method: "GET", path: "/healthz"}); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, res.StatusCode)
		}
		if res := e3.do(request{method: "GET", path: "/tiles/zones/1/1/1.mvt"}); res.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("loopback limited at request %d", i)
		}
	}
	m := string(scrapeMetrics(t, e.srv))
	if !strings.Contains(m, `riskzone_rate_limited_total{limit="public"} 1`) {
		t.Errorf("rate-limited counter missing:\n%s", m)
	}
}

// Bodies are capped per route: small for sign-in, a few MiB for edits,
// the general cap for case uploads; the answer is 413 before any
// authentication or parsing.
func TestBodyCaps(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	big := `{"username":"` + strings.Repeat("a", 20<<10) + `"}`
	e.do(request{method: "POST", path: "/api/v1/auth/login", json: big}).expectError(t, http.StatusRequestEntityTooLarge, "larger than", "login body")
	huge := `{"geometry":"` + strings.Repeat("a", 5<<20) + `"}`
	e.do(request{method: "PUT", path: "/api/v1/zones/1/geometry", json: huge}).expectError(t, http.StatusRequestEntityTooLarge, "larger than", "edit body")
	// A body sent without a length (chunked) is cut at the cap when read.
	admin := e.apiToken("ops", zoning.RoleAdmin)
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/admin/subscribers", io.MultiReader(strings.NewReader(huge)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	req.ContentLength = -1
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 5 MiB body: %d", res.StatusCode)
	}
	// Case uploads take the general cap (bulk JSON or CSV), not the edit
	// cap: 5 MiB goes on to authentication, 11 MiB does not.
	e.do(request{method: "POST", path: "/api/v1/cases", json: huge}).expect(t, http.StatusUnauthorized, "5 MiB case upload")
	e.do(request{method: "POST", path: "/api/v1/cases", json: `{"case_no":"` + strings.Repeat("a", 11<<20) + `"}`}).
		expectError(t, http.StatusRequestEntityTooLarge, "Too Large", "11 MiB case upload")
	// Within the caps: the usual answers.
	e.do(request{method: "POST", path: "/api/v1/auth/login", json: map[string]string{"username": "x", "password": "y-long-enough"}}).
		expect(t, http.StatusUnauthorized, "small login")
}

// Security headers: nosniff everywhere; data never framed; pages framed
// by their own site at most; /embed by the configured sites only.
func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t, Config{Public: PublicConfig{FrameAncestors: []string{"https://news.example.com"}}}, nil)
	for _, c := range []struct {
		path       string
		cspHas     string
		frame      string // X-Frame-Options
		statusWant int
	}{
		{"/api/v1/public/lookup?lon=120&lat=30", "default-src 'none'", "DENY", 200},
		{"/healthz", "frame-ancestors 'none'", "DENY", 200},
		{"/api/v1/zones", "frame-ancestors 'none'", "DENY", 401},
		{"/tiles/zones.json", "frame-ancestors 'none'", "DENY", 200},
		{"/lookup", "frame-ancestors 'self'", "SAMEORIGIN", 200},
		{"/embed?county=1", "frame-ancestors https://news.example.com", "", 0},
	} {
		res := e.do(request{method: "GET", path: c.path})
		if c.statusWant != 0 {
			res.expect(t, c.statusWant, c.path)
		}
		h := res.Header
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.path)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), c.cspHas) {
			t.Errorf("%s: CSP %q, want %q", c.path, h.Get("Content-Security-Policy"), c.cspHas)
		}
		if h.Get("X-Frame-Options") != c.frame {
			t.Errorf("%s: X-Frame-Options %q, want %q", c.path, h.Get("X-Frame-Options"), c.frame)
		}
	}
}

// A client that sends its headers too slowly is cut off at
// ReadHeaderTimeout (slowloris).
func TestReadHeaderTimeout(t *testing.T) {
	store := pgtest.NewStore(t)
	srv := New(Config{Addr: "127.0.0.1:0", ReadHeaderTimeout: 300 * time.Millisecond}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(a net.Addr) { addr <- a.String() }) }()
	a := <-addr
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil {
		// Go answers 408 to a header read that timed out; either way the
		// connection must end well before the test's deadline.
		_, err = io.ReadAll(conn)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the connection stayed open %s with half a header (err %v)", d, err)
	}
}

// serveOnLoopback serves srv on a free loopback port until the test ends and
// returns its address.
func serveOnLoopback(t *testing.T, srv *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(a net.Addr) { addr <- a.String() }) }()
	select {
	case a := <-addr:
		t.Cleanup(func() { cancel(); <-done })
		return a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return ""
}

// A body that trickles in is cut off at ReadTimeout (the whole request),
// although each byte arrives well within any per-read wait; a keep-alive
// connection left idle after an answer is closed at IdleTimeout. Without
// the timeouts (2 min by default) both connections would outlive the
// test's 5 s read deadline.
func TestReadAndIdleTimeouts(t *testing.T) {
	const readTimeout, idleTimeout = 400 * time.Millisecond, 700 * time.Millisecond
	store := pgtest.NewStore(t)
	srv := New(Config{Addr: "127.0.0.1:0", ReadHeaderTimeout: 2 * time.Second, ReadTimeout: readTimeout, IdleTimeout: idleTimeout},
		store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := serveOnLoopback(t, srv)

	t.Run("slow body", func(t *testing.T) {
		conn, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte every 50 ms, until the server hangs up
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			// An answer to a body that never arrived must be an error, and the
			// connection must end with it.
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode < 400 {
				t.Errorf("a trickled body was answered %d", res.StatusCode)
			}
			if !res.Close && err == nil {
				t.Errorf("the connection stays open after the answer to a cut-off body")
			}
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the slow body was still accepted after %s (ReadTimeout %s)", time.Since(start), readTimeout)
		}
		if d := time.Since(start); d < readTimeout-50*time.Millisecond || d > 3*time.Second {
			t.Fatalf("the slow body was cut off after %s, want about ReadTimeout %s", d, readTimeout)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(res.Body); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("healthz %d, close %v: want 200 on a kept-alive connection", res.StatusCode, res.Close)
		}
		idle := time.Now()
		n, err := br.Read(make([]byte, 1))
		d := time.Since(idle)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("an idle keep-alive connection is still open after %s (IdleTimeout %s)", d, idleTimeout)
		}
		if n != 0 || err != io.EOF {
			t.Fatalf("idle connection read %d bytes, %v: want EOF", n, err)
		}
		if d < idleTimeout-100*time.Millisecond || d > 3*time.Second {
			t.Fatalf("idle connection closed after %s, want about IdleTimeout %s", d, idleTimeout)
		}
	})
}

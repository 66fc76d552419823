package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// startFastListener serves srv's fast listener on a loopback port until
// the test ends, and returns its base URL.
func startFastListener(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeFast(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("fast listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// fetch makes one request and reads the whole answer.
func fetch(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	return fetchWith(t, method, url, nil)
}

// fetchWith makes one request with headers and reads the whole answer
// (as sent: a gzip body is not unpacked when the test asks for gzip).
func fetchWith(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// The fast listener answers lookups exactly as the route on the main address
// answers — status, body and the headers clients and caches read — for
// points inside and outside zones, history questions, HEAD and bad input.
func TestFastListenerMatchesRoute(t *testing.T) {
	srv := New(Config{}, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.public.index.Store(lookuptest.Grid(t, 256))
	main := httptest.NewServer(srv.Handler())
	t.Cleanup(main.Close)
	fast := startFastListener(t, srv)
	headers := []string{"Content-Type", "Content-Length", "Cache-Control", "Access-Control-Allow-Origin",
		"X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "X-Frame-Options", "Retry-After", HeaderStale}
	compare := func(method, query string, wantStatus int) []byte {
		t.Helper()
		a, ab := fetch(t, method, main.URL+lookupPath+query)
		b, bb := fetch(t, method, fast+lookupPath+query)
		if a.StatusCode != wantStatus || b.StatusCode != wantStatus {
			t.Fatalf("%s %s: route %d, listener %d, want %d (%s | %s)", method, query, a.StatusCode, b.StatusCode, wantStatus, ab, bb)
		}
		if !bytes.Equal(ab, bb) {
			t.Fatalf("%s %s: bodies differ:\nroute    %s\nlistener %s", method, query, ab, bb)
		}
		for _, h := range headers {
			if a.Header.Get(h) != b.Header.Get(h) {
				t.Errorf("%s %s: %s: route %q, listener %q", method, query, h, a.Header.Get(h), b.Header.Get(h))
			}
		}
		return bb
	}
	inside := compare("GET", "?lon=116.0104&lat=36.0104", http.StatusOK)
	if !bytes.Contains(inside, []byte(`"in_zone":true`)) {
		t.Fatalf("a point inside a synthetic zone: %s", inside)
	}
	if out := compare("GET", "?lon=100&lat=20", http.StatusOK); !bytes.Contains(out, []byte(`"in_zone":false`)) {
		t.Fatalf("a point outside every zone: %s", out)
	}
	compare("GET", "?ll=116.0104,36.0104", http.StatusOK)
	compare("GET", "?lon=116.0104&lat=36.0104&days=7", http.StatusOK)
	compare("GET", "?lon=116.5&lat=36.5&lon=1", http.StatusOK) // the first value counts
	compare("GET", "?q=%E5%9F%8E%E5%BB%BA%E8%8A%B1%E5%9B%AD73%E5%8F%B7%E6%A5%BC", http.StatusOK)
	if b := compare("HEAD", "?lon=116.0104&lat=36.0104", http.StatusOK); len(b) != 0 {
		t.Fatalf("HEAD has a body: %q", b)
	}
	for _, q := range []string{"?lon=abc&lat=1", "?lon=200&lat=0", "", "?days=0&lon=1&lat=1", "?since=yesterday&lon=1&lat=1",
		"?q=" + strings.Repeat("x", 201)} {
		if b := compare("GET", q, http.StatusBadRequest); !bytes.Contains(b, []byte(`"code":"invalid"`)) {
			t.Fatalf("%q: %s", q, b)
		}
	}
	// While the database is down, answers from memory are marked stale.
	srv.health.set(true)
	if b := compare("GET", "?lon=116.0104&lat=36.0104", http.StatusOK); !bytes.Contains(b, []byte(`"in_zone":true`)) {
		t.Fatalf("degraded: %s", b)
	}
	if res, _ := fetch(t, "GET", fast+lookupPath+"?lon=116.0104&lat=36.0104"); res.Header.Get(HeaderStale) != "1" {
		t.Fatalf("degraded answer not marked stale: %v", res.Header)
	}
	srv.health.set(false)
}

// Only the lookup and /healthz live on the listener; other paths and
// methods get JSON errors, never a 500; each answer is counted in the
// request metrics under the lookup's route.
func TestFastListenerRoutes(t *testing.T) {
	srv := New(Config{}, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.public.index.Store(lookuptest.Grid(t, 16))
	fast := startFastListener(t, srv)
	for _, c := range []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/healthz", 200, `"status":"ok"`, ""},
		{"GET", "/", 404, `"code":"not_found"`, ""},
		{"GET", "/api/v1/public/changes?since=2022-01-01T00:00:00Z", 404, `"code":"not_found"`, ""},
		{"GET", "/api/v1/public/lookup/../../zones", 404, `"code":"not_found"`, ""},
		{"POST", lookupPath + "?lon=1&lat=1", 405, `"code":"method_not_allowed"`, "GET, HEAD"},
		{"DELETE", lookupPath, 405, `"code":"method_not_allowed"`, "GET, HEAD"},
		{"POST", "/healthz", 405, `"code":"method_not_allowed"`, "GET, HEAD"},
	} {
		res, b := fetch(t, c.method, fast+c.path)
		if res.StatusCode != c.status || !strings.Contains(string(b), c.body) || res.Header.Get("Allow") != c.allow ||
			res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d %v %s", c.method, c.path, res.StatusCode, res.Header, b)
		}
	}
	for i := 0; i < 3; i++ {
		fetch(t, "GET", fast+lookupPath+"?lon=116.0004&lat=36.0004")
	}
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`riskzone_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/public/lookup"} 3`,
		`riskzone_http_request_duration_seconds_count{code="405",method="OTHER",route="/api/v1/public/lookup"} 2`,
		`riskzone_http_request_duration_seconds_count{code="404",method="GET",route="unrouted"} 3`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The per-address limit holds on the listener as on the routes: beyond
// the burst a 429 with Retry-After, counted; X-Forwarded-For from a peer
// that is not a trusted proxy changes nothing.
func TestFastListenerRateLimit(t *testing.T) {
	cfg := Config{Limits: LimitConfig{PublicRate: 0.001, PublicBurst: 3}}
	srv := New(cfg, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.public.index.Store(lookuptest.Grid(t, 16))
	fast := startFastListener(t, srv)
	get := func(xff string) *http.Response {
		req, _ := http.NewRequest("GET", fast+lookupPath+"?lon=116.0004&lat=36.0004", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for i := 0; i < 3; i++ {
		if res := get(""); res.StatusCode != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, res.StatusCode)
		}
	}
	res := get("203.0.113.9")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("beyond the burst (another address claimed by an untrusted peer): %d %v", res.StatusCode, res.Header)
	}
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `riskzone_rate_limited_total{limit="public"} 1`) {
		t.Error("the refusal is not counted")
	}
}

// With no index yet, the first lookup builds it from the database (here an
// empty one: nowhere is in a zone); with the database gone, the answer is
// a 503 with Retry-After and the server enters degraded mode.
func TestFastListenerBuildsIndex(t *testing.T) {
	store := pgtest.NewStore(t)
	srv := New(Config{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fast := startFastListener(t, srv)
	res, b := fetch(t, "GET", fast+lookupPath+"?lon=116.0004&lat=36.0004")
	if res.StatusCode != 200 || !bytes.Contains(b, []byte(`"in_zone":false`)) || srv.public.index.Load() == nil {
		t.Fatalf("first lookup on an empty database: %d %s", res.StatusCode, b)
	}

	// A database nobody listens for.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://riskzone@"+nobody+"/riskzone?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv2 := New(Config{}, &postgis.Store{Pool: pool}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fast2 := startFastListener(t, srv2)
	res, b = fetch(t, "GET", fast2+lookupPath+"?lon=116.0004&lat=36.0004")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !bytes.Contains(b, []byte(`"code":"unavailable"`)) {
		t.Fatalf("lookup with the database gone: %d %v %s", res.StatusCode, res.Header, b)
	}
	if !srv2.health.Down() {
		t.Fatal("the server did not enter degraded mode")
	}
}

// `serve --fast-addr`: ListenAndServe opens the listener beside the main
// one, and closes it on shutdown.
func TestListenAndServeFastAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	laddr := ln.Addr().String()
	ln.Close()
	srv := New(Config{Addr: "127.0.0.1:0", FastAddr: laddr}, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.public.index.Store(lookuptest.Grid(t, 16))
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, func(a net.Addr) { addr <- a.String() }) }()
	<-addr
	res, b := fetch(t, "GET", "http://"+laddr+lookupPath+"?lon=116.0004&lat=36.0004")
	if res.StatusCode != 200 || !bytes.Contains(b, []byte(`"in_zone":true`)) {
		t.Fatalf("lookup address: %d %s", res.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown")
	}
	if c, err := net.DialTimeout("tcp", laddr, time.Second); err == nil {
		c.Close()
		t.Fatal("the lookup address still accepts connections after shutdown")
	}
}

// tileHeaders are the headers of a tile answer that clients and caches
// read.
var tileHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "Cache-Control", "Vary", "Etag",
	"Access-Control-Allow-Origin", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "X-Frame-Options",
	"Retry-After", "Www-Authenticate", HeaderStale}

// The fast listener answers tiles exactly as the main address does: warm
// public tiles from the cache itself (versioned, unversioned, a stale ?v=,
// gzip, HEAD, an empty tile, degraded mode), and everything else through
// the routes: a miss, a revalidation, a restricted layer, bad input.
func TestFastListenerTilesMatchRoutes(t *testing.T) {
	e := newTileEnv(t, Config{}, 6)
	fast := startFastListener(t, e.srv)
	var lon, lat, zlon, zlat float64
	e.queryRow(`SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings ORDER BY id LIMIT 1) b`, nil, &lon, &lat)
	e.queryRow(`SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM public_zone_versions ORDER BY zone_id LIMIT 1) z`, nil, &zlon, &zlat)
	bpath := tilePath("buildings", tiles.TileOf(lon, lat, 15))
	zpath := tilePath("zones", tiles.TileOf(zlon, zlat, 16))
	empty := tilePath("buildings", tiles.TileOf(10, 10, 15))
	vb, vz := versionOf(t, e.tileJSON("buildings", nil)), versionOf(t, e.tileJSON("zones", nil))

	compare := func(method, path string, hdr map[string]string, want int) []byte {
		t.Helper()
		b, bb := fetchWith(t, method, fast+path, hdr)
		a, ab := fetchWith(t, method, e.ts.URL+path, hdr)
		if a.StatusCode != want || b.StatusCode != want {
			t.Fatalf("%s %s %v: route %d, listener %d, want %d (%.200s | %.200s)", method, path, hdr, a.StatusCode, b.StatusCode, want, ab, bb)
		}
		if !bytes.Equal(ab, bb) {
			t.Fatalf("%s %s %v: bodies differ (%d and %d bytes)", method, path, hdr, len(ab), len(bb))
		}
		for _, h := range tileHeaders {
			if a.Header.Get(h) != b.Header.Get(h) {
				t.Errorf("%s %s %v: %s: route %q, listener %q", method, path, hdr, h, a.Header.Get(h), b.Header.Get(h))
			}
		}
		return bb
	}
	gz := map[string]string{"Accept-Encoding": "gzip"}
	hits := func() int64 { return e.srv.tileH.hits.Load() }

	// Misses first: the listener hands them to the routes, which render
	// and cache them.
	before := hits()
	for _, p := range []string{bpath + "?v=" + vb, zpath + "?v=" + vz, empty} {
		compare("GET", p, nil, map[bool]int{true: 204, false: 200}[p == empty])
	}
	if n := hits() - before; n != 3 {
		t.Fatalf("after the misses: %d answers from the cache, want 3 (the route's own, second)", n)
	}
	// Hits: answered by the listener from the cache.
	before = hits()
	body := compare("GET", bpath+"?v="+vb, nil, 200)
	if len(body) == 0 {
		t.Fatal("empty buildings tile")
	}
	if zipped := compare("GET", bpath+"?v="+vb, gz, 200); bytes.Equal(zipped, body) || len(zipped) == 0 {
		t.Fatal("the gzip answer is the plain tile")
	}
	compare("GET", bpath, nil, 200)
	compare("GET", bpath+"?v=1-1-1-1", gz, 200) // a stale version: current data, short max-age
	compare("GET", zpath+"?v="+vz, gz, 200)
	if b := compare("HEAD", bpath+"?v="+vb, nil, 200); len(b) != 0 {
		t.Fatalf("HEAD has a body of %d bytes", len(b))
	}
	compare("GET", empty, nil, 204)
	if n := hits() - before; n != 14 {
		t.Fatalf("hits: %d answers from the cache, want 14 (7 on each address)", n)
	}
	res, _ := fetchWith(t, "GET", fast+bpath+"?v="+vb, nil)
	if res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("versioned tile on the listener: Cache-Control %q", res.Header.Get("Cache-Control"))
	}

	// Through the routes: revalidation, restricted layers, bad input.
	compare("GET", bpath, map[string]string{"If-None-Match": res.Header.Get("Etag")}, 304)
	compare("GET", tilePath("proposals", tiles.TileOf(lon, lat, 15)), nil, 401)
	compare("GET", tilePath("spread", tiles.TileOf(lon, lat, 15))+"?v="+vb, nil, 401)
	for path, want := range map[string]int{
		"/tiles/buildings/23/0/0.mvt": 400,
		"/tiles/buildings/2/4/0.mvt":  400,
		"/tiles/buildings/x/0/0.mvt":  400,
		"/tiles/nosuch/1/0/0.mvt":     404,
		"/tiles/buildings/1/0/0.pbf":  404,
		bpath + "?v=not-a-tag":        400,
	} {
		if b := compare("GET", path, nil, want); !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("%s: not a JSON error: %s", path, b)
		}
	}
	compare("POST", bpath, nil, 405)

	// Degraded mode: answers from the cache are marked stale.
	e.srv.health.set(true)
	compare("GET", bpath+"?v="+vb, nil, 200)
	if res, _ := fetchWith(t, "GET", fast+bpath+"?v="+vb, nil); res.Header.Get(HeaderStale) != "1" {
		t.Fatalf("degraded tile not marked stale: %v", res.Header)
	}
	e.srv.health.set(false)

	// Counted under the routes' label, whichever address answered.
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := regexp.MustCompile(`riskzone_http_request_duration_seconds_count\{code="200",method="GET",route="/tiles/:set/:z/:x/:y"\} (\d+)`)
	m := want.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatal("no tile requests counted")
	}
	if n, _ := strconv.Atoi(m[1]); n < 16 {
		t.Fatalf("tile requests counted: %d, want at least 16", n)
	}
}

// Warm tiles on the fast listener count against the per-address limit like
// any public request.
func TestFastListenerTileRateLimit(t *testing.T) {
	cfg := Config{Limits: LimitConfig{PublicRate: 0.001, PublicBurst: 4}}
	srv := New(cfg, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	main := httptest.NewServer(srv.Handler())
	t.Cleanup(main.Close)
	fast := startFastListener(t, srv)
	path := tilePath("zones", tiles.TileOf(116, 36, 14))
	if res, _ := fetch(t, "GET", main.URL+path); res.StatusCode != http.StatusNoContent {
		t.Fatalf("an empty tile: %d", res.StatusCode)
	}
	before := srv.tileH.hits.Load()
	for i := 0; i < 3; i++ {
		if res, _ := fetch(t, "GET", fast+path); res.StatusCode != http.StatusNoContent {
			t.Fatalf("request %d within the burst: %d", i+2, res.StatusCode)
		}
	}
	if n := srv.tileH.hits.Load() - before; n != 3 {
		t.Fatalf("%d answers from the listener's cache path, want 3", n)
	}
	res, b := fetch(t, "GET", fast+path)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" || !bytes.Contains(b, []byte(`"code":"rate_limited"`)) {
		t.Fatalf("beyond the burst: %d %v %s", res.StatusCode, res.Header, b)
	}
}

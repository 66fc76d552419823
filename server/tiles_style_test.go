package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
)

// A tile whose query runs past the statement timeout answers 503 without
// the database's words.
func TestTileQueryTimeout(t *testing.T) {
	e := newTileEnv(t, Config{Tiles: TileConfig{StatementTimeout: 300 * time.Millisecond}}, 1)
	var lon, lat float64
	e.queryRow(`SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM buildings ORDER BY id LIMIT 1`, nil, &lon, &lat)
	tx, err := e.store.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), "LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	res := e.get(tilePath("buildings", tiles.TileOf(lon, lat, 15)), nil, nil)
	res.expectError(t, http.StatusServiceUnavailable, "retry", "tile under a lock")
	if bytes.Contains(res.body, []byte("statement")) || bytes.Contains(res.body, []byte("cancel")) {
		t.Fatalf("the answer shows the database error: %s", res.body)
	}
}

// A configured base style is drawn under the overlays; when it cannot be
// fetched the service's own base map is used.
func TestTileStyleWithBaseMap(t *testing.T) {
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":8,"glyphs":"https://example.org/{fontstack}/{range}.pbf","sources":{"osm":{"type":"raster","tiles":["https://example.org/{z}/{x}/{y}.png"],"tileSize":256}},"layers":[{"id":"osm","type":"raster","source":"osm"}]}`))
	}))
	defer base.Close()
	e := newTestEnv(t, Config{Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: base.URL}, PublicURL: "https://map.example.gov.cn/"}}, nil)
	var st struct {
		Glyphs  string                    `json:"glyphs"`
		Sources map[string]map[string]any `json:"sources"`
		Layers  []map[string]any          `json:"layers"`
	}
	e.do(request{method: "GET", path: "/styles/public.json"}).expect(t, http.StatusOK, "style").decode(t, &st)
	if st.Glyphs == "" || st.Sources["osm"] == nil || st.Sources["riskzone"]["url"] != "https://map.example.gov.cn/tiles/public.json" {
		t.Fatalf("merged style %+v", st)
	}
	if st.Layers[0]["id"] != "osm" || st.Layers[len(st.Layers)-1]["source-layer"] != "zones" {
		t.Fatalf("layers: base first, zones on top: %v", st.Layers)
	}
	// The map pages allow the base map's origins (the style's, its glyphs'
	// and tiles'), in connect-src and img-src only.
	for _, p := range []string{"/app/", "/"} {
		csp := e.do(request{method: "GET", path: p}).expect(t, http.StatusOK, p).Header.Get("Content-Security-Policy")
		for _, d := range []string{"connect-src", "img-src"} {
			dir := cspDirective(csp, d)
			for _, o := range []string{base.URL, "https://example.org"} {
				if !slices.Contains(strings.Fields(dir), o) {
					t.Errorf("%s: %s %q lacks %s", p, d, dir, o)
				}
			}
		}
		if dir := cspDirective(csp, "script-src"); strings.Contains(dir, "example.org") {
			t.Errorf("%s: script-src %q allows the base map", p, dir)
		}
	}
	// A server that has started fetched the style before any page asked
	// for it: its first pages already allow the tiles' origin.
	base2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"version":8,"sprite":[{"id":"x","url":"https://sprites.example.net/s"}],"sources":{"v":{"type":"vector","url":"https://tiles.example.com/v.json"}},"layers":[]}`))
	}))
	defer base2.Close()
	e3 := newTestEnv(t, Config{Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: base2.URL}}}, nil)
	appCSP := func() string {
		return cspDirective(e3.do(request{method: "GET", path: "/app/"}).expect(t, http.StatusOK, "app").Header.Get("Content-Security-Policy"), "connect-src")
	}
	if dir := appCSP(); !strings.Contains(dir, base2.URL) || strings.Contains(dir, "tiles.example.com") {
		t.Fatalf("before start: connect-src %q, want the style's origin only (pages never fetch the style)", dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e3.srv.Start(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for dir := appCSP(); !strings.Contains(dir, "https://tiles.example.com") || !strings.Contains(dir, "https://sprites.example.net"); dir = appCSP() {
		if time.Now().After(deadline) {
			t.Fatalf("after start: connect-src %q lacks the sources' and sprites' origins", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
	base.Close()
	e2 := newTestEnv(t, Config{Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: base.URL}}}, nil)
	var fallback struct {
		Glyphs  *string                   `json:"glyphs"`
		Sources map[string]map[string]any `json:"sources"`
		Layers  []map[string]any          `json:"layers"`
	}
	e2.do(request{method: "GET", path: "/styles/public.json"}).expect(t, http.StatusOK, "style without its base").decode(t, &fallback)
	if fallback.Glyphs != nil || fallback.Sources["osm"] != nil || fallback.Layers[0]["id"] != "background" {
		t.Fatalf("fallback style %+v", fallback)
	}
}

// cspDirective is one directive of a Content-Security-Policy ("" if absent).
func cspDirective(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		if n, _, _ := strings.Cut(d, " "); n == name {
			return d
		}
	}
	return ""
}

// The base style URL must be an absolute http(s) URL.
func TestCheckConfigBaseStyleURL(t *testing.T) {
	for _, bad := range []string{"example.org/style.json", "ftp://example.org/s.json", "https://", "/styles/x.json"} {
		err := CheckConfig(Config{Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: bad}}})
		if err == nil || !strings.Contains(err.Error(), "base style URL") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := CheckConfig(Config{Tiles: TileConfig{Options: tiles.Options{BaseStyleURL: "https://maps.example.org/style.json"}}, Public: PublicConfig{BaseURL: "https://zones.example.gov.cn"}}); err != nil {
		t.Errorf("a good URL: %v", err)
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// checkLookup: a point inside, outside and on the boundary of a public zone,
// an address, the history and the changes — checked against PostGIS.
func checkLookup(t *testing.T, e *publicEnv, county int64) {
	ctx := context.Background()
	var zone int64
	var inLon, inLat, vLon, vLat, mLon, mLat, outLon, outLat float64
	err := e.store.Pool.QueryRow(ctx, `
		WITH z AS (SELECT zone_id, geom FROM public_zone_versions WHERE county_id = $1 AND status = 'active' ORDER BY zone_id LIMIT 1),
		     r AS (SELECT zone_id, geom, ST_ExteriorRing((ST_Dump(geom)).geom) AS ring FROM z LIMIT 1)
		SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)),
		       ST_X(ST_PointN(ring, 1)), ST_Y(ST_PointN(ring, 1)),
		       ST_X(ST_LineInterpolatePoint(ST_MakeLine(ST_PointN(ring, 1), ST_PointN(ring, 2)), 0.5)),
		       ST_Y(ST_LineInterpolatePoint(ST_MakeLine(ST_PointN(ring, 1), ST_PointN(ring, 2)), 0.5)),
		       ST_X(ST_PointOnSurface(ST_Difference((SELECT geom FROM admin_areas WHERE id = $1),
		            (SELECT ST_Buffer(ST_Union(p.geom), 0.001) FROM public_zone_versions p WHERE p.status = 'active')))),
		       ST_Y(ST_PointOnSurface(ST_Difference((SELECT geom FROM admin_areas WHERE id = $1),
		            (SELECT ST_Buffer(ST_Union(p.geom), 0.001) FROM public_zone_versions p WHERE p.status = 'active'))))
		FROM r`, county).Scan(&zone, &inLon, &inLat, &vLon, &vLat, &mLon, &mLat, &outLon, &outLat)
	if err != nil {
		t.Fatal(err)
	}
	look := func(q string) lookup.Answer {
		t.Helper()
		var a lookup.Answer
		e.get("/api/v1/public/lookup?"+q, http.StatusOK).decode(t, &a)
		return a
	}
	has := func(a lookup.Answer, id int64) bool {
		return slices.ContainsFunc(a.Zones, func(z lookup.Zone) bool { return z.ZoneID == id })
	}
	for _, p := range []struct {
		name     string
		lon, lat float64
		want     bool
	}{{"inside", inLon, inLat, true}, {"vertex", vLon, vLat, true}, {"edge", mLon, mLat, true}, {"outside", outLon, outLat, false}} {
		a := look(fmt.Sprintf("lon=%.15g&lat=%.15g", p.lon, p.lat))
		if has(a, zone) != p.want || a.InZone != p.want && p.name != "outside" {
			t.Errorf("%s (%v,%v): answer %+v, want in zone %d: %v", p.name, p.lon, p.lat, a, zone, p.want)
		}
		var covers bool
		if err := e.store.Pool.QueryRow(ctx, `SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) FROM public_zone_versions WHERE zone_id = $1`,
			zone, p.lon, p.lat).Scan(&covers); err != nil {
			t.Fatal(err)
		}
		if p.name != "edge" && covers != p.want {
			t.Errorf("%s: PostGIS ST_Covers = %v, the index says %v", p.name, covers, p.want)
		}
		if a.County == nil || a.County.ID != county || !a.County.Zoned {
			t.Errorf("%s: county %+v", p.name, a.County)
		}
	}
	if a := look(fmt.Sprintf("lon=%g&lat=%g", outLon, outLat)); a.InZone || len(a.Zones) != 0 {
		t.Errorf("outside point in zones %+v", a.Zones)
	}
	// History: the lifted zone's point was in a zone during the last days, not now.
	var lLon, lLat float64
	if err := e.store.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM public_zone_versions WHERE zone_id = $1`,
		e.story.Lifted).Scan(&lLon, &lLat); err != nil {
		t.Fatal(err)
	}
	a := look(fmt.Sprintf("lon=%g&lat=%g&days=14", lLon, lLat))
	if a.InZone || a.WasInZone == nil || !*a.WasInZone || len(a.Past) == 0 || a.Past[0].ZoneID != e.story.Lifted {
		t.Errorf("lifted zone's point: %+v", a)
	}
	// An address of a zone: building -> zone.
	var addr string
	if err := e.store.Pool.QueryRow(ctx, `SELECT b.addr_compound || b.addr_number || '号楼' FROM public_zone_versions p
		JOIN buildings b ON b.id = p.building_ids[1] WHERE p.zone_id = $1`, zone).Scan(&addr); err != nil {
		t.Fatal(err)
	}
	a = look("q=" + url.QueryEscape(addr) + "&days=7")
	if !a.InZone || len(a.Matches) == 0 || !has(a, zone) || a.Matches[0].Lon == nil || len(a.Matches[0].Past) == 0 {
		t.Errorf("address %s: %+v", addr, a)
	}
	// An address outside every zone is found in the buildings table.
	var free string
	if err := e.store.Pool.QueryRow(ctx, `SELECT b.addr_compound || b.addr_number || '号楼' FROM buildings b
		WHERE b.addr_compound LIKE '%小区' AND NOT EXISTS (SELECT 1 FROM public_zone_versions p WHERE p.status = 'active' AND ST_Intersects(p.geom, b.geom))
		ORDER BY b.id LIMIT 1`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	a = look("q=" + url.QueryEscape("临河区"+free))
	if a.InZone || len(a.Matches) == 0 || a.Matches[0].County == nil || !a.Matches[0].County.Zoned {
		t.Errorf("free address %s: %+v", free, a)
	}
	e.get("/api/v1/public/lookup?lon=200&lat=1", http.StatusBadRequest)
	e.get("/api/v1/public/lookup", http.StatusBadRequest)
	e.get("/api/v1/public/lookup?lon=117&lat=36&days=99", http.StatusBadRequest)
	page := e.get("/lookup?q="+url.QueryEscape(addr), http.StatusOK)
	if !strings.Contains(string(page.body), "位于风险区") {
		t.Errorf("lookup page: %s", page.body)
	}
	// What is new since the first notice?
	var first string
	if err := e.store.Pool.QueryRow(ctx, `SELECT to_char(min(published_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM notices`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	var ch struct {
		Changes []struct {
			NoticeID int64 `json:"notice_id"`
			ZoneID   int64 `json:"zone_id"`
		} `json:"changes"`
	}
	res := e.get("/api/v1/public/changes?since="+url.QueryEscape(first), http.StatusOK)
	if err := json.Unmarshal(res.body, &ch); err != nil {
		t.Fatal(err)
	}
	if len(ch.Changes) == 0 || slices.ContainsFunc(ch.Changes, func(c struct {
		NoticeID int64 `json:"notice_id"`
		ZoneID   int64 `json:"zone_id"`
	}) bool {
		return c.NoticeID == e.story.Notices[0]
	}) {
		t.Errorf("changes since the first notice: %s", res.body)
	}
}

// BenchmarkLookupHandler: one GET of the lookup without the network, on
// 102,400 zones: "fast" is the public path (answered ahead of routing, see
// lookup_fast.go), "routed" the same handler behind the whole echo stack.
func BenchmarkLookupHandler(b *testing.B) {
	srv := New(Config{}, pgtest.NewStore(b), slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})))
	site := &publicSite{s: srv, cfg: DefaultPublicConfig()}
	site.index.Store(lookuptest.Grid(b, 102400))
	srv.echo.GET("/bench/lookup", site.lookupAPI)
	srv.echo.Pre(site.fastLookup)
	for _, path := range []string{lookupPath, "/bench/lookup"} {
		name := map[string]string{lookupPath: "fast", "/bench/lookup": "routed"}[path]
		req := httptest.NewRequest("GET", path+"?lon=116.0104&lat=36.0104", nil)
		req.RemoteAddr = "127.0.0.1:40000" // loopback: not rate limited
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					srv.Handler().ServeHTTP(w, req)
					if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(`"in_zone":true`)) {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
	if site.stats.fast.Load() == 0 {
		b.Fatal("the fast path answered nothing")
	}
}

// The index follows publications through LISTEN riskzone_layers: a zone
// lifted and published drops out of the answers well before the 5 s poll.
func TestLookupIndexFollowsPublication(t *testing.T) {
	e := newPublicEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.srv.Start(ctx)
	var zone int64
	var lon, lat float64
	if err := e.store.Pool.QueryRow(ctx, `SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("/api/v1/public/lookup?lon=%.12g&lat=%.12g", lon, lat)
	var a lookup.Answer
	e.get(q, http.StatusOK).decode(t, &a)
	if !a.InZone {
		t.Fatalf("point of zone %d: %+v", zone, a)
	}
	// The zone's page is rendered once, then served from memory — once the
	// index worker has started and caches pages (it does after its first
	// build, which a loaded machine can make take a moment).
	for deadline := time.Now().Add(10 * time.Second); !e.srv.public.pages.live.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the page cache did not start within 10 s")
		}
	}
	page := fmt.Sprintf("/zones/%d", zone)
	first := e.get(page, http.StatusOK)
	again := e.get(page, http.StatusOK)
	if first.Header.Get("X-Riskzone-Cache") != "" || again.Header.Get("X-Riskzone-Cache") != "hit" || string(again.body) != string(first.body) {
		t.Fatalf("page cache: first %q, again %q (same body: %v)", first.Header.Get("X-Riskzone-Cache"),
			again.Header.Get("X-Riskzone-Cache"), string(again.body) == string(first.body))
	}
	root, pub := e.addUser("root", zoning.RoleAdmin, ""), e.addUser("pub", zoning.RolePublisher, "")
	if _, err := (postgis.Zones{S: e.store}).Lift(ctx, zoning.Origin{Actor: root.Principal(zoning.ViaSession)}, zone,
		zoning.LiftRequest{Reason: "test: lifted by override", Override: true}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := (postgis.Notices{S: e.store}).Publish(ctx, zoning.Origin{Actor: pub.Principal(zoning.ViaSession)},
		zoning.PublishRequest{CountyID: e.sum.CountyID}); err != nil {
		t.Fatal(err)
	}
	for {
		var b lookup.Answer
		e.get(q, http.StatusOK).decode(t, &b)
		if !b.InZone && b.IndexVersion > a.IndexVersion {
			t.Logf("index rebuilt %s after the publication", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("the index still answers %+v 3 s after the publication", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The notification also renews the cached page, well before its TTL.
	for string(e.get(page, http.StatusOK).body) == string(first.body) {
		if time.Since(start) > pageTTL/2 {
			t.Fatalf("the zone page is unchanged %s after its zone was lifted and published", pageTTL/2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The fast path answers exactly what the routed handler answers, and leaves
// bad input to the routes (a logged 400).
func TestLookupFastPath(t *testing.T) {
	srv := New(Config{}, pgtest.NewStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	site := &publicSite{s: srv, cfg: DefaultPublicConfig()}
	site.index.Store(lookuptest.Grid(t, 256))
	srv.echo.GET("/routed/lookup", site.lookupAPI)
	srv.echo.Pre(site.fastLookup)
	get := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}
	for _, q := range []string{"lon=116.0104&lat=36.0104", "lon=116.5&lat=36.5", "lon=100&lat=20", "ll=116.0104,36.0104"} {
		before := site.stats.fast.Load()
		fast, routed := get("GET", lookupPath+"?"+q), get("GET", "/routed/lookup?"+q)
		if fast.Code != 200 || routed.Code != 200 || fast.Body.String() != routed.Body.String() {
			t.Fatalf("%s: fast %d %s, routed %d %s", q, fast.Code, fast.Body, routed.Code, routed.Body)
		}
		if site.stats.fast.Load() != before+1 {
			t.Fatalf("%s: not answered by the fast path", q)
		}
		if fast.Header().Get("Cache-Control") != "public, max-age=10" || fast.Header().Get("Content-Type") != "application/json" ||
			fast.Header().Get("Content-Length") != strconv.Itoa(fast.Body.Len()) {
			t.Fatalf("%s: headers %v", q, fast.Header())
		}
	}
	if !strings.Contains(get("GET", lookupPath+"?lon=116.0104&lat=36.0104").Body.String(), `"in_zone":true`) {
		t.Fatal("a point inside a synthetic zone is not in a zone")
	}
	if h := get("HEAD", lookupPath+"?lon=116.0104&lat=36.0104"); h.Code != 200 || h.Body.Len() != 0 {
		t.Fatalf("HEAD: %d %q", h.Code, h.Body)
	}
	before := site.stats.fast.Load()
	for _, q := range []string{"lon=abc&lat=1", "lon=200&lat=0", "", "days=0&lon=1&lat=1"} {
		w := get("GET", lookupPath+"?"+q)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"error"`) {
			t.Fatalf("%q: %d %s", q, w.Code, w.Body)
		}
	}
	if site.stats.fast.Load() != before {
		t.Fatal("the fast path answered bad input")
	}
}

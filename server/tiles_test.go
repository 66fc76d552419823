package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// tileEnv is a server on a small demo city with published zones and its
// background workers (the layer listener) running.
type tileEnv struct {
	*testEnv
	expert, publisher session
}

func newTileEnv(t *testing.T, cfg Config, zones int) *tileEnv {
	t.Helper()
	for _, tool := range []string{"ogrinfo", "ogr2ogr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s (Debian gdal-bin) is needed to decode tiles independently: %v", tool, err)
		}
	}
	e := newTestEnv(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	today := time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC)
	if _, err := demo.Load(ctx, e.store, demo.Options{Seed: 3, Buildings: 1200, Today: today}, nil); err != nil {
		t.Fatalf("demo load: %v", err)
	}
	publishZones(t, e, zones)
	e.srv.Start(ctx)
	e.addUser("eve", zoning.RoleExpert, "correct horse battery")
	e.addUser("pat", zoning.RolePublisher, "correct horse battery")
	return &tileEnv{testEnv: e, expert: e.login("eve", "correct horse battery"), publisher: e.login("pat", "correct horse battery")}
}

// publishZones publishes n community zones with the fixture the tiles
// package tests and benchmarks share.
func publishZones(t *testing.T, e *testEnv, n int) {
	t.Helper()
	fixture, err := os.ReadFile("../tiles/pgsource/testdata/publish_zones.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := e.store.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT set_config('riskzone.publish_zones', $1, false)", fmt.Sprint(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(fixture)); err != nil {
		t.Fatalf("publish zones: %v", err)
	}
}

func (e *tileEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.store.Pool.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *tileEnv) queryRow(sql string, args []any, dest ...any) {
	e.t.Helper()
	if err := e.store.Pool.QueryRow(context.Background(), sql, args...).Scan(dest...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// gdalFeature is a feature as ogr2ogr writes it in GeoJSON.
type gdalFeature struct {
	Properties map[string]any `json:"properties"`
	Geometry   struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// decodeGDAL decodes one layer of an MVT tile with GDAL's MVT driver (an
// independent decoder): the file is named z-x-y.mvt, so GDAL georeferences
// it in EPSG:3857, and CLIP=NO keeps the geometry as encoded (buffer and
// ring order included).
func decodeGDAL(t *testing.T, body []byte, tile tiles.TileID, layer string) []gdalFeature {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, fmt.Sprintf("%d-%d-%d.mvt", tile.Z, tile.X, tile.Y))
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.geojson")
	cmd := exec.Command("ogr2ogr", "-f", "GeoJSON", "-oo", "CLIP=NO", out, file, layer)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr %s layer %s: %v\n%s", file, layer, err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []gdalFeature `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatalf("GDAL output: %v", err)
	}
	return fc.Features
}

// ogrinfoLayers lists the layers of a tile and every attribute line
// ("name (Type) = value") GDAL reads.
func ogrinfoAll(t *testing.T, body []byte, tile tiles.TileID) (layers []string, attrs []string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, fmt.Sprintf("%d-%d-%d.mvt", tile.Z, tile.X, tile.Y))
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("ogrinfo", "-ro", "-al", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, b)
	}
	attrRe := regexp.MustCompile(`^  (\w+) \((\w+)\) = (.*)$`)
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "Layer name: "); ok {
			layers = append(layers, strings.TrimSpace(name))
		}
		if attrRe.MatchString(line) {
			attrs = append(attrs, strings.TrimSpace(line))
		}
	}
	return layers, attrs
}

// polygons reads a GeoJSON Polygon or MultiPolygon as rings of points.
func polygons(t *testing.T, f gdalFeature) [][][][2]float64 {
	t.Helper()
	switch f.Geometry.Type {
	case "Polygon":
		var p [][][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
			t.Fatal(err)
		}
		return [][][][2]float64{p}
	case "MultiPolygon":
		var mp [][][][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &mp); err != nil {
			t.Fatal(err)
		}
		return mp
	}
	t.Fatalf("geometry %s, want polygons", f.Geometry.Type)
	return nil
}

// ringArea is the signed area by the surveyor's formula in the decoded
// coordinates (EPSG:3857, y up): negative for a clockwise ring.
func ringArea(r [][2]float64) float64 {
	var s float64
	for i := range r {
		a, b := r[i], r[(i+1)%len(r)]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

func (e *tileEnv) get(path string, s *session, header map[string]string) response {
	e.t.Helper()
	r := request{method: "GET", path: path, header: header}
	if s != nil {
		r.cookie = s.cookie
	}
	return e.do(r)
}

func (e *tileEnv) tileJSON(set string, s *session) tiles.TileJSON {
	e.t.Helper()
	var tj tiles.TileJSON
	e.get("/tiles/"+set+".json", s, nil).expect(e.t, http.StatusOK, "TileJSON "+set).decode(e.t, &tj)
	return tj
}

func tilePath(set string, t tiles.TileID) string {
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", set, t.Z, t.X, t.Y)
}

// waitForNewVersion waits (up to 2 s) until TileJSON hands out another
// version than old: the listener has learnt of a change.
func (e *tileEnv) waitForNewVersion(set, old string) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for versionOf(e.t, e.tileJSON(set, nil)) == old {
		if time.Now().After(deadline) {
			e.t.Fatalf("TileJSON of %s still at v=%s", set, old)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// versionOf reads ?v= of a TileJSON's tile URL.
func versionOf(t *testing.T, tj tiles.TileJSON) string {
	t.Helper()
	if len(tj.Tiles) != 1 {
		t.Fatalf("TileJSON tiles %v", tj.Tiles)
	}
	_, v, ok := strings.Cut(tj.Tiles[0], "?v=")
	if !ok || v == "" {
		t.Fatalf("tile URL %s has no version", tj.Tiles[0])
	}
	return v
}

func TestTiles(t *testing.T) {
	e := newTileEnv(t, Config{}, 6)

	t.Run("TileJSON", func(t *testing.T) {
		tj := e.tileJSON("public", nil)
		if tj.TileJSON != "3.0.0" || tj.Scheme != "xyz" || len(tj.VectorLayers) != 4 {
			t.Fatalf("TileJSON %+v", tj)
		}
		if !strings.HasPrefix(tj.Tiles[0], e.ts.URL+"/tiles/public/{z}/{x}/{y}.mvt?v=") {
			t.Fatalf("tile URL %s", tj.Tiles[0])
		}
		if tj.Bounds[0] < 116 || tj.Bounds[2] > 118 || tj.Bounds[1] < 36 || tj.Bounds[3] > 37.5 {
			t.Fatalf("bounds %v are not the demo county's", tj.Bounds)
		}
		z := e.tileJSON("zones", nil)
		if len(z.VectorLayers) != 1 || z.VectorLayers[0].ID != "zones" || z.VectorLayers[0].Fields["lift"] == "" {
			t.Fatalf("zones TileJSON %+v", z)
		}
	})

	t.Run("BuildingAtItsPlace", func(t *testing.T) {
		var id int64
		var kind string
		var lon, lat, x3857, y3857 float64
		e.queryRow(`SELECT id, kind, ST_X(p), ST_Y(p), ST_X(ST_Transform(p, 3857)), ST_Y(ST_Transform(p, 3857))
			FROM (SELECT id, kind, ST_PointOnSurface(geom) AS p FROM buildings ORDER BY id OFFSET 500 LIMIT 1) b`, nil,
			&id, &kind, &lon, &lat, &x3857, &y3857)
		tile := tiles.TileOf(lon, lat, 16)
		res := e.get(tilePath("buildings", tile), nil, nil).expect(t, http.StatusOK, "building tile")
		if ct := res.Header.Get("Content-Type"); ct != "application/vnd.mapbox-vector-tile" {
			t.Fatalf("content type %q", ct)
		}
		var found bool
		for _, f := range decodeGDAL(t, res.body, tile, "buildings") {
			if f.Properties["mvt_id"] != float64(id) {
				continue
			}
			found = true
			if f.Properties["kind"] != kind {
				t.Fatalf("building %d kind %v, want %s", id, f.Properties["kind"], kind)
			}
			// The decoded footprint holds the building's point, to the
			// tile's resolution (z16: a tile unit is under 10 cm).
			inside := false
			for _, p := range polygons(t, f) {
				minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
				for _, pt := range p[0] {
					minX, maxX = math.Min(minX, pt[0]), math.Max(maxX, pt[0])
					minY, maxY = math.Min(minY, pt[1]), math.Max(maxY, pt[1])
				}
				if x3857 >= minX-0.5 && x3857 <= maxX+0.5 && y3857 >= minY-0.5 && y3857 <= maxY+0.5 {
					inside = true
				}
				if ringArea(p[0]) >= 0 {
					t.Fatalf("building %d: exterior ring is not clockwise in tile space", id)
				}
			}
			if !inside {
				t.Fatalf("building %d decoded away from its place (%f, %f): %s", id, x3857, y3857, f.Geometry.Coordinates)
			}
		}
		if !found {
			t.Fatalf("building %d is not in tile %s", id, tile)
		}
	})

	t.Run("ZonesAreExteriorRings", func(t *testing.T) {
		// A zone with a hole, published.
		before := versionOf(t, e.tileJSON("zones", nil))
		e.exec(`UPDATE zone_versions SET valid_to = now() WHERE zone_id = (SELECT min(zone_id) FROM zone_versions)`)
		e.exec(`INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, population, staff_required, area_m2, rule_set_id, clock_start, valid_from, reason, published_notice_id)
			SELECT zone_id, 2, level, status, 'adjust', name,
			       ST_Multi(ST_Difference(geom, ST_Buffer(ST_PointOnSurface(geom), 0.0004))), building_ids, population, staff_required, area_m2, rule_set_id, clock_start, now() + interval '1 second', 'hole', published_notice_id
			FROM zone_versions WHERE zone_id = (SELECT min(zone_id) FROM zone_versions)`)
		e.exec(`WITH u AS (UPDATE layer_versions SET version = version + 1 WHERE layer = 'zones' RETURNING 1) SELECT pg_notify($1, '[zones]') FROM u`, postgis.LayersChannel)
		var zoneID int64
		var lon, lat float64
		e.queryRow(`SELECT zone_id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom))
			FROM public_zone_versions WHERE version = 2`, nil, &zoneID, &lon, &lat)
		tile := tiles.TileOf(lon, lat, 14)
		// The zone's area within the tile and its buffer, by PostGIS.
		var area float64
		e.queryRow(`SELECT ST_Area(ST_Intersection(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4)))
			FROM public_zone_versions WHERE zone_id = $5`, []any{int(tile.Z), int(tile.X), int(tile.Y), float64(tiles.Buffer) / tiles.Extent, zoneID}, &area)
		e.waitForNewVersion("zones", before)
		body := e.get(tilePath("zones", tile), nil, nil).expect(t, http.StatusOK, "zones tile").body
		feats := decodeGDAL(t, body, tile, "zones")
		if len(feats) == 0 {
			t.Fatal("no zones decoded")
		}
		for _, f := range feats {
			for _, k := range []string{"level", "name", "since", "lift"} {
				if _, ok := f.Properties[k]; !ok {
					t.Fatalf("zone %v lacks %s: %v", f.Properties["mvt_id"], k, f.Properties)
				}
			}
			if f.Properties["lift"] != "2022-11-25" {
				t.Fatalf("zone lift %v, want clock start 2022-11-20 + 5 clean days", f.Properties["lift"])
			}
			var total float64
			for _, p := range polygons(t, f) {
				// Exterior clockwise in tile space (y down) is clockwise
				// once GDAL flips y: negative area here; holes the other way.
				if a := ringArea(p[0]); a >= 0 {
					t.Fatalf("zone %v: exterior ring has area %f: a zone decoded as a hole", f.Properties["mvt_id"], a)
				}
				total += -ringArea(p[0])
				for _, hole := range p[1:] {
					if a := ringArea(hole); a <= 0 {
						t.Fatalf("zone %v: hole has area %f", f.Properties["mvt_id"], a)
					}
					total -= ringArea(hole)
				}
			}
			if f.Properties["mvt_id"] == float64(zoneID) {
				if len(polygons(t, f)[0]) != 2 {
					t.Fatalf("zone %d: %d rings, want an exterior and a hole", zoneID, len(polygons(t, f)[0]))
				}
				if math.Abs(total-area)/area > 0.02 {
					t.Fatalf("zone %d: decoded area %.0f m², PostGIS says %.0f", zoneID, total, area)
				}
			}
		}
	})

	t.Run("CombinedAndEmpty", func(t *testing.T) {
		var lon, lat float64
		e.queryRow(`SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM public_zone_versions ORDER BY zone_id DESC LIMIT 1`, nil, &lon, &lat)
		tile := tiles.TileOf(lon, lat, 15)
		res := e.get(tilePath("public", tile), nil, nil).expect(t, http.StatusOK, "public tile")
		layers, _ := ogrinfoAll(t, res.body, tile)
		if strings.Join(layers, ",") != "admin,barriers,buildings,zones" {
			t.Fatalf("public tile layers %v", layers)
		}
		// Far from the data: 204, with the same caching as any tile.
		res = e.get(tilePath("public", tiles.TileOf(-40, -40, 15)), nil, nil).expect(t, http.StatusNoContent, "empty tile")
		if res.Header.Get("ETag") == "" || !strings.HasPrefix(res.Header.Get("Cache-Control"), "public") || len(res.body) != 0 {
			t.Fatalf("empty tile headers %v body %d", res.Header, len(res.body))
		}
		// Buildings start at z13.
		e.get(tilePath("buildings", tiles.TileOf(lon, lat, 12)), nil, nil).expect(t, http.StatusNoContent, "buildings at z12")
	})

	t.Run("Gzip", func(t *testing.T) {
		var lon, lat float64
		e.queryRow(`SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM buildings ORDER BY id LIMIT 1`, nil, &lon, &lat)
		path := tilePath("buildings", tiles.TileOf(lon, lat, 14))
		// (Go's client asks for gzip by itself unless told otherwise.)
		plain := e.get(path, nil, map[string]string{"Accept-Encoding": "identity"}).expect(t, http.StatusOK, "plain")
		zipped := e.get(path, nil, map[string]string{"Accept-Encoding": "gzip"}).expect(t, http.StatusOK, "gzip")
		if zipped.Header.Get("Content-Encoding") != "gzip" || zipped.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("gzip headers %v", zipped.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped.body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain.body) {
			t.Fatalf("gunzipped tile differs (%v)", err)
		}
		if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
			t.Fatal("gzip and identity encodings share an ETag")
		}
	})

	t.Run("WarmPath", func(t *testing.T) {
		var lon, lat float64
		e.queryRow(`SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM buildings ORDER BY id DESC LIMIT 1`, nil, &lon, &lat)
		path := tilePath("public", tiles.TileOf(lon, lat, 16))
		v := versionOf(t, e.tileJSON("public", nil))
		logged := func() int { return strings.Count(e.logs.String(), "route=/tiles/:set/:z/:x/:y") }
		before := logged()
		miss := e.get(path+"?v="+v, nil, nil).expect(t, http.StatusOK, "miss")
		if logged() != before+1 {
			t.Fatal("a rendered tile was not logged")
		}
		hit := e.get(path+"?v="+v, nil, nil).expect(t, http.StatusOK, "hit")
		if logged() != before+1 {
			t.Fatal("a cached tile went through the middleware chain")
		}
		if !bytes.Equal(hit.body, miss.body) {
			t.Fatal("the cached tile differs")
		}
		for _, h := range []string{"Cache-Control", "Etag", "Content-Type", "Content-Encoding", "Vary", "Access-Control-Allow-Origin", "Content-Length"} {
			if hit.Header.Get(h) != miss.Header.Get(h) {
				t.Fatalf("%s: cached %q, rendered %q", h, hit.Header.Get(h), miss.Header.Get(h))
			}
		}
		// Credentials, revalidations and odd queries take the full chain.
		e.do(request{method: "GET", path: path, bearer: "rz_nonsense"}).expectError(t, http.StatusUnauthorized, "token", "bad token")
		n := logged()
		e.get(path+"?v="+v+"&x=1", nil, nil).expect(t, http.StatusOK, "other parameters")
		if logged() != n+1 {
			t.Fatal("a query beside v took the warm path")
		}
		e.get(path, nil, map[string]string{"If-None-Match": hit.Header.Get("ETag")}).expect(t, http.StatusNotModified, "revalidation")
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
			want   string
		}{
			{"/tiles/zones/23/0/0.mvt", 400, "zoom 23"},
			{"/tiles/zones/99999999999/0/0.mvt", 400, "not a tile number"},
			{"/tiles/zones/2/4/0.mvt", 400, "out of range"},
			{"/tiles/zones/2/0/4.mvt", 400, "out of range"},
			{"/tiles/zones/14/99999999/0.mvt", 400, "out of range"},
			{"/tiles/zones/a/0/0.mvt", 400, "not a tile number"},
			{"/tiles/zones/1/-1/0.mvt", 400, "not a tile number"},
			{"/tiles/zones/1/0/0x1.mvt", 400, "not a tile number"},
			{"/tiles/zones/1/0/%20.mvt", 400, "not a tile number"},
			{"/tiles/zones/1/0/0.png", 404, ".mvt"},
			{"/tiles/nosuch/1/0/0.mvt", 404, "no tile layer"},
			{"/tiles/zones/1/0/0.mvt?v=abc", 400, "not a version tag"},
			{"/tiles/zones/1/0/0.mvt?v=1--2", 400, "not a version tag"},
			{"/tiles/nosuch.json", 404, "no tile layer"},
			{"/tiles/zones.xml", 404, "TileJSON"},
			{"/styles/nosuch.json", 404, "no style"},
		} {
			e.get(c.path, nil, nil).expectError(t, c.status, c.want, c.path)
		}
		if strings.Contains(e.logs.String(), "level=ERROR") {
			t.Fatalf("bad input logged an internal error:\n%s", e.logs.String())
		}
	})

	t.Run("Restricted", func(t *testing.T) {
		var lon, lat float64
		e.queryRow(`SELECT ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)) FROM cases c JOIN buildings b ON b.id = c.residence_building_id
			WHERE c.exclusion_category IS NULL ORDER BY c.id LIMIT 1`, nil, &lon, &lat)
		for _, set := range []string{"cases", "spread", "proposals", "expert"} {
			tile := tiles.TileOf(lon, lat, 14)
			for _, path := range []string{tilePath(set, tile), "/tiles/" + set + ".json"} {
				res := e.get(path, nil, nil)
				res.expectError(t, http.StatusUnauthorized, "sign in", "anonymous "+path)
				if res.Header.Get("Cache-Control") != "private, no-store" {
					t.Fatalf("anonymous %s: Cache-Control %q", path, res.Header.Get("Cache-Control"))
				}
				e.get(path, &e.publisher, nil).expectError(t, http.StatusForbidden, "expert", "publisher "+path)
				res = e.get(path, &e.expert, nil)
				if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
					t.Fatalf("expert %s: %d %s", path, res.StatusCode, res.body)
				}
				if res.Header.Get("Cache-Control") != "private, no-store" || res.Header.Get("ETag") != "" {
					t.Fatalf("expert %s: headers %v", path, res.Header)
				}
			}
		}
		e.get("/styles/expert.json", nil, nil).expectError(t, http.StatusUnauthorized, "sign in", "anonymous expert style")
		e.get("/styles/expert.json", &e.expert, nil).expect(t, http.StatusOK, "expert style")
		// Restricted layers show true counts, small ones too.
		tile := tiles.TileOf(lon, lat, 12)
		res := e.get(tilePath("spread", tile), &e.expert, nil).expect(t, http.StatusOK, "spread")
		feats := decodeGDAL(t, res.body, tile, "spread")
		small := false
		for _, f := range feats {
			if c, _ := f.Properties["count"].(float64); c >= 1 && c < 10 {
				small = true
			}
			if f.Properties["res"] != float64(8) {
				t.Fatalf("spread at z12: resolution %v, want 8", f.Properties["res"])
			}
		}
		if len(feats) == 0 || !small {
			t.Fatalf("spread tile: %d cells, a count under 10: %v", len(feats), small)
		}
		tile = tiles.TileOf(lon, lat, 15)
		res = e.get(tilePath("cases", tile), &e.expert, nil).expect(t, http.StatusOK, "cases")
		if feats := decodeGDAL(t, res.body, tile, "cases"); len(feats) == 0 || feats[0].Properties["reported"] == nil {
			t.Fatalf("cases tile: %v", feats)
		}
	})

	t.Run("PublicTilesCarryNoCaseData", func(t *testing.T) {
		// Every public tile that holds cases' residences, at every zoom the
		// layers show, decoded by GDAL: only the public layers, only the
		// public attributes, and no number but feature ids.
		rows, err := e.store.Pool.Query(context.Background(), `SELECT DISTINCT ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom))
			FROM cases c JOIN buildings b ON b.id = c.residence_building_id ORDER BY 1, 2 LIMIT 40`)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[tiles.TileID]bool{}
		var list []tiles.TileID
		for rows.Next() {
			var lon, lat float64
			if err := rows.Scan(&lon, &lat); err != nil {
				t.Fatal(err)
			}
			for z := uint8(5); z <= 16; z++ {
				if tl := tiles.TileOf(lon, lat, z); !seen[tl] {
					seen[tl] = true
					list = append(list, tl)
				}
			}
		}
		rows.Close()
		allowed := map[string]bool{"mvt_id": true, "kind": true, "class": true, "level": true, "name": true, "since": true, "lift": true}
		var caseNo string
		e.queryRow(`SELECT case_no FROM cases ORDER BY id LIMIT 1`, nil, &caseNo)
		checked := 0
		for _, tile := range list {
			res := e.get(tilePath("public", tile), nil, nil)
			if res.StatusCode == http.StatusNoContent {
				continue
			}
			res.expect(t, http.StatusOK, "public tile "+tile.String())
			checked++
			layers, attrs := ogrinfoAll(t, res.body, tile)
			for _, l := range layers {
				if l != "admin" && l != "barriers" && l != "buildings" && l != "zones" {
					t.Fatalf("public tile %s has layer %s", tile, l)
				}
			}
			for _, a := range attrs {
				name, rest, _ := strings.Cut(a, " ")
				if !allowed[name] {
					t.Fatalf("public tile %s has attribute %q", tile, a)
				}
				if name != "mvt_id" && strings.Contains(rest, "(Integer") || strings.Contains(rest, "(Real") {
					t.Fatalf("public tile %s has a number: %q", tile, a)
				}
				if strings.Contains(a, caseNo[:5]) {
					t.Fatalf("public tile %s mentions a case number: %q", tile, a)
				}
			}
		}
		if checked < 20 {
			t.Fatalf("only %d public tiles checked", checked)
		}
	})

	t.Run("Styles", func(t *testing.T) {
		var st map[string]any
		e.get("/styles/public.json", nil, nil).expect(t, http.StatusOK, "public style").decode(t, &st)
		if st["version"] != float64(8) || st["glyphs"] != nil || st["sprite"] != nil {
			t.Fatalf("style %v", st)
		}
		src := st["sources"].(map[string]any)["riskzone"].(map[string]any)
		if src["url"] != e.ts.URL+"/tiles/public.json" {
			t.Fatalf("style source %v", src)
		}
		for _, l := range st["layers"].([]any) {
			lm := l.(map[string]any)
			if lm["type"] == "symbol" {
				t.Fatalf("style has a symbol layer (needs glyphs): %v", lm)
			}
			if sl, ok := lm["source-layer"].(string); ok && sl != "admin" && sl != "barriers" && sl != "buildings" && sl != "zones" {
				t.Fatalf("public style draws %s", sl)
			}
		}
	})

	// Last: it changes the data.
	t.Run("VersionsCacheAndReplicas", func(t *testing.T) {
		testVersionsAndReplicas(t, e)
	})
}

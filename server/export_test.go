package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// checkRFC7946 checks a GeoJSON document against RFC 7946 as the exports
// promise: a FeatureCollection with no "crs" member anywhere, coordinates
// with at most 7 decimals inside lon/lat ranges, exterior rings
// counter-clockwise and holes clockwise, and a bbox (when present) that
// holds every coordinate. It returns the features.
func checkRFC7946(t *testing.T, what string, body []byte) []fcFeature {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: not JSON: %v", what, err)
	}
	if doc["type"] != "FeatureCollection" {
		t.Fatalf("%s: type %v", what, doc["type"])
	}
	var box []float64
	if b, ok := doc["bbox"].([]any); ok {
		for _, v := range b {
			f, _ := v.(json.Number).Float64()
			box = append(box, f)
		}
		if len(box) != 4 {
			t.Errorf("%s: bbox %v", what, b)
		}
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["crs"]; ok {
				t.Errorf("%s: a crs member at %s", what, path)
			}
			for k, c := range x {
				if k != "properties" {
					walk(path+"."+k, c)
				}
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("$", doc)
	var out struct {
		Features []fcFeature `json:"features"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	decimals := regexp.MustCompile(`\.(\d+)`)
	for _, f := range out.Features {
		if f.Type != "Feature" || len(f.ID) == 0 {
			t.Fatalf("%s: feature %s without type or id", what, f.ID)
		}
		if string(f.Geometry) == "null" {
			continue
		}
		var g struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		}
		if err := json.Unmarshal(f.Geometry, &g); err != nil {
			t.Fatalf("%s: feature %s geometry: %v", what, f.ID, err)
		}
		for _, m := range decimals.FindAllSubmatch(g.Coordinates, -1) {
			if len(m[1]) > 7 {
				t.Fatalf("%s: feature %s has a coordinate with %d decimals", what, f.ID, len(m[1]))
			}
		}
		var polys [][][][2]float64
		switch g.Type {
		case "Polygon":
			var p [][][2]float64
			if err := json.Unmarshal(g.Coordinates, &p); err != nil {
				t.Fatal(err)
			}
			polys = [][][][2]float64{p}
		case "MultiPolygon":
			if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range polys {
			for i, ring := range p {
				a := exportRingArea(ring)
				if i == 0 && a <= 0 {
					t.Fatalf("%s: feature %s: exterior ring is clockwise", what, f.ID)
				}
				if i > 0 && a >= 0 {
					t.Fatalf("%s: feature %s: hole %d is counter-clockwise", what, f.ID, i)
				}
				for _, c := range ring {
					if c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
						t.Fatalf("%s: feature %s: %v is not lon/lat", what, f.ID, c)
					}
					if box != nil && (c[0] < box[0]-1e-7 || c[0] > box[2]+1e-7 || c[1] < box[1]-1e-7 || c[1] > box[3]+1e-7) {
						t.Fatalf("%s: feature %s: %v outside the bbox %v", what, f.ID, c, box)
					}
				}
			}
		}
	}
	return out.Features
}

// exportRingArea is the shoelace area of a ring (positive: counter-clockwise).
func exportRingArea(ring [][2]float64) float64 {
	var s float64
	for i := 0; i+1 < len(ring); i++ {
		s += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return s / 2
}

func TestExport(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	active := e.count(t, `SELECT count(*) FROM public_zone_versions WHERE status = 'active'`)

	// Zones: RFC 7946, stable ids, the listed properties, areas.
	res := e.get("/api/v1/export/zones.geojson", http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "application/geo+json" {
		t.Errorf("content type %q", ct)
	}
	zones := checkRFC7946(t, "zones.geojson", res.body)
	if len(zones) != active {
		t.Fatalf("zones export: %d features, want %d", len(zones), active)
	}
	again := checkRFC7946(t, "zones.geojson again", e.get("/api/v1/export/zones.geojson", http.StatusOK).body)
	for i := range zones {
		if string(zones[i].ID) != string(again[i].ID) {
			t.Fatalf("ids are not stable: %s then %s", zones[i].ID, again[i].ID)
		}
	}
	for _, f := range zones {
		for _, p := range []string{"level", "status", "name", "version", "since", "earliest_lifting", "population", "staff_required", "addresses", "notice_ids"} {
			if _, ok := f.Properties[p]; !ok {
				t.Errorf("zone %s lacks property %s", f.ID, p)
			}
		}
		if f.Properties["zone_id"] != json.Number(f.ID) && fmt.Sprint(f.Properties["zone_id"]) != string(f.ID) {
			t.Errorf("zone %s: zone_id %v", f.ID, f.Properties["zone_id"])
		}
		// The area of the exported polygon equals PostGIS's within 0.1%.
		var ratio float64
		if err := e.store.Pool.QueryRow(ctx, `SELECT ST_Area(ST_GeomFromGeoJSON($1)::geography) / ST_Area(geom::geography)
			FROM public_zone_versions WHERE zone_id = $2`, string(f.Geometry), string(f.ID)).Scan(&ratio); err != nil {
			t.Fatal(err)
		}
		if ratio < 0.999 || ratio > 1.001 {
			t.Errorf("zone %s: exported area / PostGIS area = %f", f.ID, ratio)
		}
	}
	// Level and county filters.
	if n := len(checkRFC7946(t, "level=low", e.get("/api/v1/export/zones.geojson?level=nosuchlevel", http.StatusOK).body)); n != 0 {
		t.Errorf("level filter: %d zones", n)
	}
	if n := len(checkRFC7946(t, "county", e.get(fmt.Sprintf("/api/v1/export/zones.geojson?county=%d", e.sum.CountyID), http.StatusOK).body)); n != active {
		t.Errorf("county filter: %d zones, want %d", n, active)
	}
	lifted := checkRFC7946(t, "status=lifted", e.get("/api/v1/export/zones.geojson?status=lifted", http.StatusOK).body)
	if len(lifted) != 1 || string(lifted[0].ID) != strconv.FormatInt(e.story.Lifted, 10) {
		t.Errorf("lifted zones: %v, want %d", lifted, e.story.Lifted)
	}

	// The other GeoJSON exports.
	for _, p := range []string{"/api/v1/export/zone-versions.geojson", "/api/v1/export/notices.geojson", "/api/v1/export/buildings.geojson"} {
		feats := checkRFC7946(t, p, e.get(p, http.StatusOK).body)
		if len(feats) == 0 {
			t.Errorf("%s: no features", p)
		}
	}
	part := e.story.Parts[0]
	bres := e.get(fmt.Sprintf("/api/v1/export/buildings.geojson?zone=%d", part), http.StatusOK)
	feats := checkRFC7946(t, "buildings of a zone", bres.body)
	want := e.count(t, `SELECT count(DISTINCT b) FROM public_zone_versions pv,
		unnest(pv.building_ids || ARRAY(SELECT u.building_id FROM units u WHERE u.id = ANY (pv.unit_ids))) b WHERE pv.zone_id = $1`, part)
	if len(feats) != want || want == 0 {
		t.Errorf("buildings of zone %d: %d, want %d", part, len(feats), want)
	}
	// ogrinfo reads it.
	path := filepath.Join(t.TempDir(), "b.geojson")
	if err := os.WriteFile(path, bres.body, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := featureCount(t, runGDAL(t, "ogrinfo", "-ro", "-so", "-al", path)); got != want {
		t.Errorf("ogrinfo buildings export: %d, want %d", got, want)
	}

	// An approved zone that is not published yet stays out of every public
	// output.
	approved := approveUnpublished(t, e)
	for _, p := range []string{"/api/v1/export/zones.geojson?status=all", "/ogc/collections/zones/items?status=all&limit=1000", "/ogc/collections/zone-versions/items?limit=1000"} {
		for _, f := range checkRFC7946(t, p, e.get(p, http.StatusOK).body) {
			if fmt.Sprint(f.Properties["zone_id"]) == strconv.FormatInt(approved, 10) {
				t.Errorf("%s shows the unpublished zone %d", p, approved)
			}
		}
	}
	e.get(fmt.Sprintf("/ogc/collections/zones/items/%d", approved), http.StatusNotFound)
	// Agencies see it with source=current, marked unpublished; the public
	// and other roles do not.
	e.do(request{method: "GET", path: "/api/v1/export/zones.geojson?source=current"}).expectError(t, http.StatusUnauthorized, "agency", "anonymous source=current")
	e.addUser("exp.agency", zoning.RoleAgency, "exp-agency-pass")
	e.addUser("exp.publisher", zoning.RolePublisher, "exp-publisher-pass")
	pub := e.login("exp.publisher", "exp-publisher-pass")
	e.do(request{method: "GET", path: "/api/v1/export/zones.geojson?source=current", cookie: pub.cookie}).expectError(t, http.StatusForbidden, "agency", "publisher source=current")
	ag := e.login("exp.agency", "exp-agency-pass")
	cur := e.do(request{method: "GET", path: "/api/v1/export/zones.geojson?source=current", cookie: ag.cookie}).expect(t, http.StatusOK, "agency source=current")
	if cc := cur.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("source=current Cache-Control %q", cc)
	}
	found := false
	curFeats := checkRFC7946(t, "source=current", cur.body)
	for _, f := range curFeats {
		if fmt.Sprint(f.Properties["zone_id"]) == strconv.FormatInt(approved, 10) {
			found = f.Properties["published"] == false
		}
	}
	if !found || len(curFeats) != active+1 {
		t.Errorf("source=current: %d zones (want %d), the approved zone %d unpublished: %v", len(curFeats), active+1, approved, found)
	}
	e.do(request{method: "GET", path: "/ogc/collections/zones-current/items", cookie: ag.cookie}).expect(t, http.StatusOK, "agency zones-current")
	e.do(request{method: "GET", path: "/ogc/collections/zones-current/items"}).expectError(t, http.StatusNotFound, "no collection", "anonymous zones-current")

	// The national lookup list.
	var list struct {
		UpdatedAt *string `json:"updated_at"`
		Areas     []struct {
			ZoneID      int64    `json:"zone_id"`
			Province    string   `json:"province"`
			City        string   `json:"city"`
			County      string   `json:"county"`
			AreaName    string   `json:"area_name"`
			Communities []string `json:"communities"`
			Buildings   int      `json:"buildings"`
			Population  int64    `json:"population"`
			UpdatedAt   *string  `json:"updated_at"`
		} `json:"areas"`
	}
	e.get("/api/v1/export/lookup.json", http.StatusOK).decode(t, &list)
	if len(list.Areas) != active || list.UpdatedAt == nil {
		t.Fatalf("lookup list: %d areas, updated %v; want %d", len(list.Areas), list.UpdatedAt, active)
	}
	for _, a := range list.Areas {
		if a.County != e.sum.County || a.AreaName == "" || len(a.Communities) == 0 || a.UpdatedAt == nil {
			t.Errorf("lookup area %+v", a)
		}
	}

	// The address CSV.
	cres := e.get("/api/v1/export/addresses.csv", http.StatusOK)
	recs, err := csv.NewReader(bytes.NewReader(cres.body)).ReadAll()
	if err != nil {
		t.Fatalf("addresses.csv: %v", err)
	}
	header := recs[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("addresses.csv lacks column %s: %v", name, header)
		}
		return i
	}
	iz, ib, ilon, ilat, isince, iearly := col("zone_id"), col("building_id"), col("lon"), col("lat"), col("since"), col("earliest_lifting")
	isoDate := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	if len(recs) < 2 {
		t.Fatal("addresses.csv has no row")
	}
	for _, r := range recs[1:] {
		if !isoDate.MatchString(r[iearly]) || !strings.HasSuffix(r[isince], "Z") {
			t.Fatalf("dates of %v", r)
		}
		var inside bool
		if err := e.store.Pool.QueryRow(ctx, `SELECT ST_Intersects(ST_Buffer(b.geom, 0.0000002), ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326))
			AND b.id = ANY ((SELECT building_ids || ARRAY(SELECT building_id FROM units WHERE id = ANY (unit_ids)) FROM public_zone_versions WHERE zone_id = $4)::bigint[])
			FROM buildings b WHERE b.id = $1`, r[ib], r[ilon], r[ilat], r[iz]).Scan(&inside); err != nil {
			t.Fatalf("address %v: %v", r, err)
		}
		if !inside {
			t.Fatalf("address %v: the point is not on a building of its zone", r)
		}
	}
	// Every other public export, scanned for case data with the above.
	c := e.sum.CountyID
	for _, p := range []string{"/api/v1/export/zones.geojson?status=all", "/api/v1/export/zones.geojson?status=superseded",
		fmt.Sprintf("/api/v1/export/zone-versions.geojson?county=%d", c), fmt.Sprintf("/api/v1/export/notices.geojson?county=%d", c),
		fmt.Sprintf("/api/v1/export/lookup.json?county=%d", c), fmt.Sprintf("/api/v1/export/addresses.csv?county=%d&level=high", c),
		fmt.Sprintf("/api/v1/export/buildings.geojson?zone=%d", e.story.Parts[1]), fmt.Sprintf("/api/v1/export/buildings.geojson?zone=%d", e.story.Lifted)} {
		e.get(p, http.StatusOK)
	}
	checkPrivacy(t, e)
}

// approveUnpublished approves a waiting proposal (as a second expert) and
// returns the new zone, which has no published version.
func approveUnpublished(t *testing.T, e *publicEnv) int64 {
	t.Helper()
	ctx := context.Background()
	u := e.addUser("ogc.approver", zoning.RoleExpert, "")
	rows, err := e.store.Pool.Query(ctx, `SELECT id FROM proposals WHERE status = 'proposed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var last error
	for _, id := range ids {
		z, err := postgis.Zones{S: e.store}.Approve(ctx, zoning.Origin{Actor: u.Principal(zoning.ViaCLI), Reason: "test: approved, not published"}, id,
			zoning.ApproveRequest{Reason: "test: approved, not published"})
		if err == nil {
			return z.ID
		}
		last = err
	}
	t.Fatalf("no proposal could be approved (%d waiting): %v", len(ids), last)
	return 0
}

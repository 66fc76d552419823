package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// loadTestLayers imports the hand-made layers of testdata in a sensible
// order: areas first, so buildings and places find theirs.
func loadTestLayers(t *testing.T, im *Importer) map[string]*Summary {
	out := map[string]*Summary{}
	for _, l := range []struct{ layer, file string }{
		{"admin", "admin.geojson"}, {"barriers", "barriers.geojson"}, {"buildings", "buildings.geojson"}, {"places", "places.geojson"},
	} {
		opts := Options{Kind: KindGeoJSON, Layer: l.layer, Source: "city"}
		if l.layer == "buildings" {
			opts.FieldMap = map[string]string{"population": "pop"}
		}
		out[l.layer] = importOK(t, im, testdata(l.file), opts)
	}
	return out
}

type unitRow struct {
	number     int
	population int
	derived    bool
	area       float64
}

func buildingUnits(t *testing.T, s *postgis.Store, sourceID string) (bArea float64, units []unitRow) {
	t.Helper()
	if err := s.Pool.QueryRow(ctxT(t), "SELECT ST_Area(geom::geography) FROM buildings WHERE source_id = $1", sourceID).Scan(&bArea); err != nil {
		t.Fatalf("building %s: %v", sourceID, err)
	}
	rows, err := s.Pool.Query(ctxT(t), `SELECT u.number, u.population, u.derived, coalesce(ST_Area(u.geom::geography), 0)
		FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.source_id = $1 ORDER BY u.number`, sourceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u unitRow
		if err := rows.Scan(&u.number, &u.population, &u.derived, &u.area); err != nil {
			t.Fatal(err)
		}
		units = append(units, u)
	}
	return bArea, units
}

func TestImportGeoJSONLayersDeriveAndRepair(t *testing.T) {
	im, s := newImporter(t)
	sums := loadTestLayers(t, im)

	b := sums["buildings"].LayerCounts("buildings")
	if b.Read != 7 || b.Added != 5 || b.Skipped != 2 || b.Repaired != 1 {
		t.Errorf("buildings %+v: want 7 read, 5 added, 2 skipped (degenerate, no geometry), 1 repaired (bow-tie)", b)
	}
	skipped := map[string]string{}
	for _, k := range sums["buildings"].Skipped {
		skipped[k.SourceID] = k.Reason
	}
	if !strings.Contains(skipped["b5"], "invalid geometry") || !strings.Contains(skipped["b5"], "ST_MakeValid leaves no polygon") {
		t.Errorf("b5 skipped as %q, want the invalid-geometry reason", skipped["b5"])
	}
	if skipped["b7"] != "no geometry" {
		t.Errorf("b7 skipped as %q, want no geometry", skipped["b7"])
	}
	// The bow-tie became two triangles.
	if n := count(t, s, "SELECT ST_NumGeometries(geom) FROM buildings WHERE source_id = 'b4'"); n != 2 {
		t.Errorf("repaired bow-tie has %d parts, want 2", n)
	}

	// b1: 45 m long, population given (120): three units of 40, derived.
	area, units := buildingUnits(t, s, "b1")
	if len(units) != 3 {
		t.Fatalf("b1 has %d units, want 3 (45 m / 15 m)", len(units))
	}
	var sum float64
	for i, u := range units {
		if u.number != i+1 || u.population != 40 || !u.derived {
			t.Errorf("b1 unit %+v", u)
		}
		if math.Abs(u.area-area/3) > 0.02*area/3 {
			t.Errorf("b1 unit %d area %.1f m², want a third of %.1f", u.number, u.area, area)
		}
		sum += u.area
	}
	if math.Abs(sum-area) > 0.01*area {
		t.Errorf("b1 units cover %.1f m² of %.1f", sum, area)
	}
	var pop int
	var popDerived, unitsDerived bool
	if err := s.Pool.QueryRow(ctxT(t), "SELECT population, population_derived, units_derived FROM buildings WHERE source_id = 'b1'").Scan(&pop, &popDerived, &unitsDerived); err != nil {
		t.Fatal(err)
	}
	if pop != 120 || popDerived || !unitsDerived {
		t.Errorf("b1 population %d derived %v, units derived %v: want 120 observed (--map population=pop), units derived", pop, popDerived, unitsDerived)
	}

	// b2: 18 floors, 72 flats: 72 / (18 × 2) = 2 units; population estimated
	// as area × 18 floors × 0.025.
	area, units = buildingUnits(t, s, "b2")
	if len(units) != 2 {
		t.Errorf("b2 has %d units, want 2 (from building flats)", len(units))
	}
	if err := s.Pool.QueryRow(ctxT(t), "SELECT population, population_derived FROM buildings WHERE source_id = 'b2'").Scan(&pop, &popDerived); err != nil {
		t.Fatal(err)
	}
	if want := area * 18 * 0.025; math.Abs(float64(pop)-want) > 0.01*want+1 || !popDerived {
		t.Errorf("b2 population %d derived %v, want %.0f (within 1%%) derived", pop, popDerived, want)
	}

	// b3: an L; 40 m long: 3 units clipped from its rectangle; together they
	// are the building.
	area, units = buildingUnits(t, s, "b3")
	sum = 0
	for _, u := range units {
		sum += u.area
	}
	if len(units) != 3 || math.Abs(sum-area) > 0.01*area {
		t.Errorf("b3: %d units covering %.1f of %.1f m², want 3 covering it", len(units), sum, area)
	}
	// The repaired bow-tie (20 m across) is one unit: the building itself.
	if _, units = buildingUnits(t, s, "b4"); len(units) != 1 || units[0].area == 0 {
		t.Errorf("b4 units %+v, want one", units)
	}
	if c := sums["buildings"].LayerCounts("units"); c.Added != 9 {
		t.Errorf("units %+v, want 3 + 2 + 3 + 1 derived", c)
	}
	// The commercial building has no units and no residents.
	if n := count(t, s, "SELECT count(*) FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.source_id = 'b6'"); n != 0 {
		t.Errorf("commercial building has %d units", n)
	}
	if n := count(t, s, "SELECT population FROM buildings WHERE source_id = 'b6'"); n != 0 {
		t.Errorf("commercial building population %d", n)
	}
	// Areas and places were assigned.
	if n := count(t, s, `SELECT count(*) FROM buildings b JOIN admin_areas c ON c.id = b.county_id
		LEFT JOIN admin_areas m ON m.id = b.community_id WHERE c.source_id = 'c1' AND coalesce(m.source_id = 's1', false) = (b.source_id IN ('b1', 'b2'))`); n != 5 {
		t.Errorf("%d of 5 buildings in the right county and community", n)
	}
	if n := count(t, s, `SELECT count(*) FROM places p JOIN buildings b ON b.id = p.building_id WHERE b.source_id = 'b6'
		AND p.enclosed AND (p.poorly_ventilated = (p.source_id = 'p2'))`); n != 2 {
		t.Errorf("%d of 2 places in the commercial building with their enclosure", n)
	}
	if n := count(t, s, "SELECT count(*) FROM barriers WHERE source = 'city'"); n != 3 {
		t.Errorf("%d barriers, want 3", n)
	}

	// Units loaded from a file replace the derived ones of b1.
	u := importOK(t, im, testdata("units.geojson"), Options{Kind: KindGeoJSON, Layer: "units", Source: "city"}).LayerCounts("units")
	if u.Changed != 3 || u.Added != 0 || u.Removed != 0 {
		t.Errorf("units import %+v: want the 3 derived units changed into loaded ones", u)
	}
	_, units = buildingUnits(t, s, "b1")
	if len(units) != 3 || units[0].population != 50 || units[0].derived || units[2].population != 30 {
		t.Errorf("b1 units after loading: %+v", units)
	}

	// Importing everything again changes nothing: loaded units stay loaded.
	before := fingerprints(t, s)
	for layer, sum := range loadTestLayers(t, im) {
		if sum.Changed() {
			t.Errorf("re-import of %s changed %+v", layer, sum.Layers)
		}
	}
	if importOK(t, im, testdata("units.geojson"), Options{Kind: KindGeoJSON, Layer: "units", Source: "city"}).Changed() {
		t.Error("re-import of units changed something")
	}
	after := fingerprints(t, s)
	for table, fp := range before {
		if after[table] != fp {
			t.Errorf("re-import changed %s", table)
		}
	}

	// A newer file without b6 and with b1 renamed: 1 changed, 1 removed; the
	// places in b6 lose their building.
	var fc map[string]any
	raw, err := os.ReadFile(testdata("buildings.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, f := range fc["features"].([]any) {
		f := f.(map[string]any)
		switch f["id"] {
		case "b6":
			continue
		case "b1":
			f["properties"].(map[string]any)["name"] = "1号楼（新）"
		}
		kept = append(kept, f)
	}
	fc["features"] = kept
	newer := filepath.Join(t.TempDir(), "buildings-newer.geojson")
	out, _ := json.Marshal(fc)
	if err := os.WriteFile(newer, out, 0o644); err != nil {
		t.Fatal(err)
	}
	c := importOK(t, im, newer, Options{Kind: KindGeoJSON, Layer: "buildings", Source: "city", FieldMap: map[string]string{"population": "pop"}}).LayerCounts("buildings")
	if c.Added != 0 || c.Changed != 1 || c.Removed != 1 {
		t.Errorf("newer buildings %+v, want 1 changed, 1 removed", c)
	}
	if n := count(t, s, "SELECT count(*) FROM places WHERE building_id IS NOT NULL"); n != 0 {
		t.Errorf("%d places still in a building after b6 was removed", n)
	}
}

func TestImportGeoJSONWithoutIDsIsIdempotent(t *testing.T) {
	im, s := newImporter(t)
	p := filepath.Join(t.TempDir(), "noid.geojson")
	data := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"kind":"road","road_class":"minor"},"geometry":{"type":"LineString","coordinates":[[116.4,39.9],[116.41,39.9]]}},
{"type":"Feature","properties":{"kind":"wall"},"geometry":{"type":"LineString","coordinates":[[116.4,39.91],[116.41,39.91]]}}]}`
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	first := importOK(t, im, p, Options{Kind: KindGeoJSON, Layer: "barriers"})
	if c := first.LayerCounts("barriers"); c.Added != 2 || first.Source != "noid" {
		t.Fatalf("first import %+v source %q", c, first.Source)
	}
	before := fingerprints(t, s)
	if importOK(t, im, p, Options{Kind: KindGeoJSON, Layer: "barriers"}).Changed() {
		t.Error("re-import changed something")
	}
	if after := fingerprints(t, s); after["barriers"] != before["barriers"] {
		t.Error("re-import changed barriers")
	}
}

func TestImportGeoJSONAcceptsCRS84(t *testing.T) {
	im, _ := newImporter(t)
	if c := importOK(t, im, testdata("crs_crs84.geojson"), Options{Kind: KindGeoJSON, Layer: "buildings"}).LayerCounts("buildings"); c.Added != 1 {
		t.Errorf("%+v", c)
	}
}

// TestImportGeoJSONBadInputChangesNothing: every kind of bad input fails as
// ErrInvalid naming the problem, and leaves every table as it was.
func TestImportGeoJSONBadInputChangesNothing(t *testing.T) {
	im, s := newImporter(t)
	loadTestLayers(t, im)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The syntax error is on line 6, at the '}' after "bad",.
	raw, err := os.ReadFile(testdata("syntax_error.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	line6 := strings.Split(string(raw), "\n")[5]
	col := strings.Index(line6, ",}") + 2
	offset := strings.Index(string(raw), ",}") + 1
	poly := `"geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}`
	tests := []struct {
		name  string
		path  string
		layer string
		want  []string
	}{
		{"syntax error", testdata("syntax_error.geojson"), "buildings",
			[]string{"syntax_error.geojson", "line 6, column " + itoa(col), "byte offset " + itoa(offset), "invalid character '}'"}},
		{"out-of-range coordinates", testdata("out_of_range.geojson"), "buildings",
			[]string{"feature 1 (id o2)", "216.401", "rule coordinate-range", "ring 0, position 1"}},
		{"crs not WGS 84", testdata("crs_3857.geojson"), "buildings", []string{"urn:ogc:def:crs:EPSG::3857", "not WGS 84"}},
		{"empty file", testdata("empty.geojson"), "buildings", []string{"the file is empty"}},
		{"no features", write("none.geojson", `{"type":"FeatureCollection","features":[]}`), "buildings", []string{"no features"}},
		{"duplicate ids", write("dup.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"d1","properties":{},`+poly+`},{"type":"Feature","id":"d1","properties":{},`+poly+`}]}`),
			"buildings", []string{`buildings "d1" (2 times)`}},
		{"bad property", write("floors.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"f1","properties":{"floors":"many"},`+poly+`}]}`), "buildings", []string{`property "floors"`, `"many" is not a whole number`, "line 2"}},
		{"bad kind", write("kind.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"k1","properties":{"kind":"motorway"},"geometry":{"type":"LineString","coordinates":[[116.4,39.9],[116.5,39.9]]}}]}`),
			"barriers", []string{`"motorway" is not one of road, river`}},
		{"open ring", write("open.geojson", `{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"o1","properties":{},"geometry":{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.901]]]}}]}`),
			"buildings", []string{"rule ring-closed"}},
		{"truncated", write("cut.geojson", string(raw[:len(raw)/2])), "buildings", []string{"truncated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			importInvalid(t, im, s, tt.path, Options{Kind: KindGeoJSON, Layer: tt.layer, Source: "city"}, tt.want...)
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestImportJobFromReader runs an import the way the HTTP endpoint will: a
// queued job, then Run on an uploaded stream, with progress reports.
func TestImportJobFromReader(t *testing.T) {
	im, s := newImporter(t)
	ctx := ctxT(t)
	var admin int64
	if err := s.Pool.QueryRow(ctx, "INSERT INTO users (username, role) VALUES ('ops.admin', 'admin') RETURNING id").Scan(&admin); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(testdata("barriers.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	var reports []Progress
	opts := Options{Kind: KindGeoJSON, Layer: "barriers", FileName: "upload.geojson", Origin: "http", CreatedBy: &admin,
		Progress: func(p Progress) { reports = append(reports, p) }}
	id, err := im.CreateJob(ctx, opts, int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var status string
	if err := s.Pool.QueryRow(ctx, "SELECT status FROM import_jobs WHERE id = $1", id).Scan(&status); err != nil || status != "queued" {
		t.Fatalf("new job %q %v", status, err)
	}
	sum, err := im.Run(ctx, id, bytes.NewReader(raw), int64(len(raw)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.JobID != id || sum.Source != "upload" || sum.LayerCounts("barriers").Added != 3 {
		t.Errorf("summary %+v", sum)
	}
	var origin, actor string
	var createdBy, bytesRead, features int64
	var layers int
	err = s.Pool.QueryRow(ctx, `SELECT j.status, j.origin, j.created_by, j.bytes_read, j.features_read,
		jsonb_array_length(j.summary->'layers'), a.actor
		FROM import_jobs j JOIN audit_log a ON a.entity = 'import_job' AND a.entity_id = j.id::text WHERE j.id = $1`, id).
		Scan(&status, &origin, &createdBy, &bytesRead, &features, &layers, &actor)
	if err != nil {
		t.Fatal(err)
	}
	if status != "done" || origin != "http" || createdBy != admin || bytesRead != int64(len(raw)) || features != 3 || layers != 1 || actor != "ops.admin" {
		t.Errorf("job: %s %s by %d, %d bytes, %d features, %d layers, audited as %q", status, origin, createdBy, bytesRead, features, layers, actor)
	}
	if len(reports) < 3 || reports[0].Phase != "read" || !reports[len(reports)-1].Done || reports[len(reports)-1].JobID != id {
		t.Errorf("progress reports %+v", reports)
	}
	// A job runs once.
	if _, err := im.Run(ctx, id, bytes.NewReader(raw), int64(len(raw)), opts); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("second run: %v, want ErrConflict", err)
	}
}

// Buildings go to the county, community and compound that hold their
// ST_PointOnSurface (the lowest id where two compounds overlap); a building
// outside every compound has none.
func TestImportBuildingAreas(t *testing.T) {
	im, s := newImporter(t)
	dir := t.TempDir()
	square := func(x, y, d float64) string {
		return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}`,
			x, y, x+d, y, x+d, y+d, x, y+d, x, y)
	}
	write := func(name string, features ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(features, ",")+`]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	feature := func(id, props, geom string) string {
		return fmt.Sprintf(`{"type":"Feature","id":%q,"properties":%s,"geometry":%s}`, id, props, geom)
	}
	importOK(t, im, write("admin.geojson",
		feature("cty", `{"level":"county","name":"甲区"}`, square(116.0, 39.0, 0.1)),
		feature("com", `{"level":"community","name":"乙社区"}`, square(116.0, 39.0, 0.01))),
		Options{Kind: KindGeoJSON, Layer: "admin", Source: "t"})
	importOK(t, im, write("compounds.geojson",
		feature("k1", `{"name":"城建花园"}`, square(116.001, 39.001, 0.002)),
		feature("k2", `{"name":"城建花园二期"}`, square(116.002, 39.002, 0.002)),
		feature("k3", `{"name":"远处小区"}`, square(116.05, 39.05, 0.002))),
		Options{Kind: KindGeoJSON, Layer: "compounds", Source: "t"})
	importOK(t, im, write("buildings.geojson",
		feature("in-k1", `{"floors":6}`, square(116.0012, 39.0012, 0.0002)),
		feature("in-both", `{"floors":6}`, square(116.0025, 39.0025, 0.0002)),
		feature("in-k3", `{"floors":6}`, square(116.0505, 39.0505, 0.0002)),
		feature("nowhere", `{"floors":6}`, square(116.08, 39.08, 0.0002)),
		feature("outside", `{"floors":6}`, square(117.5, 39.5, 0.0002))),
		Options{Kind: KindGeoJSON, Layer: "buildings", Source: "t"})
	rows, err := s.Pool.Query(ctxT(t), `
		SELECT b.source_id, coalesce(cty.source_id, ''), coalesce(com.source_id, ''), coalesce(k.name, '')
		FROM buildings b
		LEFT JOIN admin_areas cty ON cty.id = b.county_id
		LEFT JOIN admin_areas com ON com.id = b.community_id
		LEFT JOIN compounds k ON k.id = b.compound_id
		ORDER BY b.source_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, county, community, compound string
		if err := rows.Scan(&id, &county, &community, &compound); err != nil {
			t.Fatal(err)
		}
		got = append(got, id+":"+county+"/"+community+"/"+compound)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "in-both:cty/com/城建花园 in-k1:cty/com/城建花园 in-k3:cty//远处小区 nowhere:cty// outside://"
	if strings.Join(got, " ") != want {
		t.Errorf("areas of the buildings:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

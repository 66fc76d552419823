package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// gdalTool finds a GDAL command-line program; the suite needs it (the
// Makefile installs gdal-bin), so a missing one fails the test.
func gdalTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is missing: install the Debian package gdal-bin (make deps does): %v", name, err)
	}
	return p
}

// runGDAL runs a GDAL program and returns its output, failing on error.
func runGDAL(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gdalTool(t, name), args...)
	cmd.Env = append(os.Environ(), "GDAL_HTTP_TIMEOUT=60", "CPL_CURL_VERBOSE=NO", "GDAL_HTTP_UNSAFESSL=NO", "no_proxy=127.0.0.1", "NO_PROXY=127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var featureCountRe = regexp.MustCompile(`Feature Count: (\d+)`)

func featureCount(t *testing.T, ogrinfoOut string) int {
	t.Helper()
	m := featureCountRe.FindStringSubmatch(ogrinfoOut)
	if m == nil {
		t.Fatalf("no feature count in ogrinfo output:\n%s", ogrinfoOut)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (e *publicEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.store.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// fc is a decoded FeatureCollection page.
type fc struct {
	Type           string          `json:"type"`
	NumberMatched  *int            `json:"numberMatched"`
	NumberReturned *int            `json:"numberReturned"`
	Features       []fcFeature     `json:"features"`
	Links          []ogcLink       `json:"links"`
	BBox           []float64       `json:"bbox"`
	CRS            json.RawMessage `json:"crs"`
}

type fcFeature struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

func (f fc) link(rel string) string {
	for _, l := range f.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// pathOf strips the test server's address from an absolute link.
func (e *publicEnv) pathOf(t *testing.T, href string) string {
	t.Helper()
	if !strings.HasPrefix(href, e.ts.URL) {
		t.Fatalf("link %q is not on the server %s", href, e.ts.URL)
	}
	return strings.TrimPrefix(href, e.ts.URL)
}

func TestOGC(t *testing.T) {
	e := newPublicEnv(t)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(e.logs.String(), "\n") {
				if strings.Contains(l, "level=ERROR") {
					t.Log(l)
				}
			}
		}
	})
	t.Run("documents", func(t *testing.T) { checkOGCDocuments(t, e) })
	t.Run("ogrinfo", func(t *testing.T) { checkOGRInfo(t, e) })
	t.Run("ogr2ogr", func(t *testing.T) { checkOGR2OGR(t, e) })
	t.Run("datetime", func(t *testing.T) { checkDatetime(t, e) })
	t.Run("paging", func(t *testing.T) { checkKeysetPaging(t, e) })
	t.Run("crs", func(t *testing.T) { checkCRS(t, e) })
	t.Run("restricted", func(t *testing.T) { checkRestricted(t, e) })
	t.Run("bad-input", func(t *testing.T) { checkOGCBadInput(t, e) })
	t.Run("privacy", func(t *testing.T) { checkPrivacy(t, e) })
}

func checkOGCDocuments(t *testing.T, e *publicEnv) {
	var landing struct {
		Links []ogcLink `json:"links"`
	}
	e.get("/ogc", http.StatusOK).decode(t, &landing)
	rels := map[string]string{}
	for _, l := range landing.Links {
		rels[l.Rel] = l.Href
	}
	for _, rel := range []string{"self", "service-desc", "service-doc", "conformance", "data"} {
		if rels[rel] == "" {
			t.Errorf("landing page lacks the %s link: %+v", rel, landing.Links)
		}
	}
	api := e.get(e.pathOf(t, rels["service-desc"]), http.StatusOK)
	if ct := api.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.oai.openapi+json") {
		t.Errorf("service-desc content type %q", ct)
	}
	// An independent validator (kin-openapi) accepts the document.
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.body)
	if err != nil {
		t.Fatalf("OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("OpenAPI document is not valid: %v", err)
	}
	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	api.decode(t, &spec)
	if !strings.HasPrefix(spec.OpenAPI, "3.0") {
		t.Errorf("openapi %q", spec.OpenAPI)
	}
	items := string(spec.Paths["/collections/{collectionId}/items"]["get"])
	if !strings.Contains(items, `"maximum":10000`) || !strings.Contains(items, `"default":100`) {
		t.Errorf("OpenAPI does not state the limit default and maximum: %s", items)
	}
	e.get(e.pathOf(t, rels["service-doc"]), http.StatusOK)
	var conf struct {
		ConformsTo []string `json:"conformsTo"`
	}
	e.get("/ogc/conformance", http.StatusOK).decode(t, &conf)
	for _, want := range []string{"/conf/core", "/conf/geojson", "/conf/oas30", "/conf/html", "ogcapi-features-2/1.0/conf/crs"} {
		if !slices.ContainsFunc(conf.ConformsTo, func(s string) bool { return strings.HasSuffix(s, want) }) {
			t.Errorf("conformance lacks %s: %v", want, conf.ConformsTo)
		}
	}
	var colls struct {
		Collections []struct {
			ID      string    `json:"id"`
			CRS     []string  `json:"crs"`
			Storage string    `json:"storageCrs"`
			Links   []ogcLink `json:"links"`
			Extent  struct {
				Spatial struct {
					BBox [][]float64 `json:"bbox"`
				} `json:"spatial"`
				Temporal struct {
					Interval [][]*string `json:"interval"`
				} `json:"temporal"`
			} `json:"extent"`
		} `json:"collections"`
	}
	e.get("/ogc/collections", http.StatusOK).decode(t, &colls)
	var ids []string
	for _, c := range colls.Collections {
		ids = append(ids, c.ID)
		if !regexp.MustCompile(`^[a-z0-9_-]+$`).MatchString(c.ID) {
			t.Errorf("collection id %q", c.ID)
		}
		if c.Storage != crs84URI || len(c.CRS) < 4 {
			t.Errorf("collection %s: storageCrs %q, crs %v", c.ID, c.Storage, c.CRS)
		}
		if !slices.ContainsFunc(c.Links, func(l ogcLink) bool { return l.Rel == "describedby" && l.Type == mimeSchemaJSON }) {
			t.Errorf("collection %s has no describedby link", c.ID)
		}
	}
	if !slices.Equal(ids, []string{"zones", "zone-versions", "buildings", "barriers", "notices"}) {
		t.Errorf("anonymous collections %v", ids)
	}
	// The extent of buildings is the real one.
	var x0, y0, x1, y1 float64
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM buildings) s`).
		Scan(&x0, &y0, &x1, &y1); err != nil {
		t.Fatal(err)
	}
	for _, c := range colls.Collections {
		switch c.ID {
		case "buildings":
			if len(c.Extent.Spatial.BBox) != 1 || !slices.Equal(c.Extent.Spatial.BBox[0], []float64{x0, y0, x1, y1}) {
				t.Errorf("buildings extent %v, want %v", c.Extent.Spatial.BBox, []float64{x0, y0, x1, y1})
			}
		case "zones":
			iv := c.Extent.Temporal.Interval
			if len(iv) != 1 || len(iv[0]) != 2 || iv[0][0] == nil || iv[0][1] != nil {
				t.Errorf("zones temporal extent %v: want [start, null]", iv)
			}
		}
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	sres := e.get("/ogc/collections/zones/schema", http.StatusOK)
	sres.decode(t, &schema)
	for _, p := range []string{"level", "status", "name", "version", "since", "earliest_lifting", "population", "staff_required", "addresses", "notice_ids"} {
		if schema.Properties[p] == nil {
			t.Errorf("zones schema lacks %s", p)
		}
	}
	// Every public collection's features conform to its describedby schema
	// (checked by an independent JSON Schema validator).
	for _, id := range ids {
		sres := e.get("/ogc/collections/"+id+"/schema", http.StatusOK)
		sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(sres.body))
		if err != nil {
			t.Fatal(err)
		}
		loc := e.ts.URL + "/ogc/collections/" + id + "/schema"
		comp := jsonschema.NewCompiler()
		if err := comp.AddResource(loc, sdoc); err != nil {
			t.Fatalf("schema of %s: %v", id, err)
		}
		sch, err := comp.Compile(loc)
		if err != nil {
			t.Fatalf("schema of %s does not compile: %v", id, err)
		}
		page, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.get("/ogc/collections/"+id+"/items?limit=300", http.StatusOK).body))
		if err != nil {
			t.Fatal(err)
		}
		feats, _ := page.(map[string]any)["features"].([]any)
		if len(feats) == 0 {
			t.Errorf("collection %s has no feature to check", id)
		}
		for _, f := range feats {
			if err := sch.Validate(f.(map[string]any)["properties"]); err != nil {
				t.Fatalf("a feature of %s does not match its schema: %v", id, err)
			}
		}
	}
	// HTML by f= and by Accept.
	if h := e.get("/ogc/collections/zones/items?f=html", http.StatusOK); !strings.HasPrefix(h.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(h.body), "<table>") {
		t.Errorf("items HTML: %s %s", h.Header.Get("Content-Type"), h.body)
	}
	br := e.do(request{method: "GET", path: "/ogc/collections", header: map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}})
	if br.StatusCode != 200 || !strings.HasPrefix(br.Header.Get("Content-Type"), "text/html") {
		t.Errorf("browser Accept: %d %s", br.StatusCode, br.Header.Get("Content-Type"))
	}
	// One feature.
	z := e.story.Parts[0]
	var one fcFeature
	e.get(fmt.Sprintf("/ogc/collections/zones/items/%d", z), http.StatusOK).decode(t, &one)
	if string(one.ID) != strconv.FormatInt(z, 10) || one.Properties["zone_id"] != float64(z) {
		t.Errorf("zone %d: %s %v", z, one.ID, one.Properties)
	}
	e.get("/ogc/collections/zones/items/999999", http.StatusNotFound)
}

// checkOGRInfo: GDAL's OAPIF driver lists the zones with the right count and
// fields.
func checkOGRInfo(t *testing.T, e *publicEnv) {
	want := e.count(t, `SELECT count(*) FROM public_zone_versions WHERE status = 'active'`)
	if want == 0 {
		t.Fatal("the demo story left no public zone")
	}
	out := runGDAL(t, "ogrinfo", "-ro", "-so", "OAPIF:"+e.ts.URL+"/ogc", "zones")
	if got := featureCount(t, out); got != want {
		t.Errorf("ogrinfo zones: %d features, want %d\n%s", got, want, out)
	}
	for _, field := range []string{"level: String", "status: String", "name: String", "population: Integer", "staff_required: Integer",
		"earliest_lifting: Date", "since: DateTime", "version: Integer"} {
		if !strings.Contains(out, field) {
			t.Errorf("ogrinfo zones lacks field %q:\n%s", field, out)
		}
	}
	// The GeoJSON export, read by ogrinfo from a file.
	res := e.get("/api/v1/export/zones.geojson", http.StatusOK)
	path := filepath.Join(t.TempDir(), "zones.geojson")
	if err := os.WriteFile(path, res.body, 0o600); err != nil {
		t.Fatal(err)
	}
	out = runGDAL(t, "ogrinfo", "-ro", "-so", "-al", path)
	if got := featureCount(t, out); got != want {
		t.Errorf("ogrinfo of the export: %d features, want %d\n%s", got, want, out)
	}
}

// checkOGR2OGR: ogr2ogr copies every page of the buildings (more than
// 1,000) into a GeoPackage.
func checkOGR2OGR(t *testing.T, e *publicEnv) {
	want := e.count(t, `SELECT count(*) FROM buildings`)
	if want <= 1000 {
		t.Fatalf("%d buildings: the test needs more than 1,000", want)
	}
	out := filepath.Join(t.TempDir(), "out.gpkg")
	runGDAL(t, "ogr2ogr", "-f", "GPKG", out, "OAPIF:"+e.ts.URL+"/ogc", "buildings")
	info := runGDAL(t, "ogrinfo", "-ro", "-so", out, "buildings")
	if got := featureCount(t, info); got != want {
		t.Errorf("ogr2ogr copied %d buildings, want %d", got, want)
	}
	dist := runGDAL(t, "ogrinfo", "-ro", "-q", out, "-sql", "SELECT COUNT(DISTINCT fid) AS n FROM buildings")
	if !strings.Contains(dist, fmt.Sprintf("n (Integer) = %d", want)) && !strings.Contains(dist, fmt.Sprintf("n (Integer64) = %d", want)) {
		t.Errorf("distinct ids in the copy: %s (want %d)", dist, want)
	}
}

// zoneIDs fetches the ids of the zones of an /items query.
func (e *publicEnv) zoneIDs(t *testing.T, query string) []int64 {
	t.Helper()
	var page fc
	e.get("/ogc/collections/zones/items?limit=10000&"+query, http.StatusOK).decode(t, &page)
	var ids []int64
	for _, f := range page.Features {
		id, err := strconv.ParseInt(string(f.ID), 10, 64)
		if err != nil {
			t.Fatalf("zone id %s", f.ID)
		}
		ids = append(ids, id)
	}
	return ids
}

// checkDatetime: the zones valid at an instant follow the recorded story:
// the split zone until the second notice, its parts after, the lifted zone
// until the third.
func checkDatetime(t *testing.T, e *publicEnv) {
	if len(e.story.Notices) < 3 {
		t.Fatalf("story notices %v", e.story.Notices)
	}
	eff := func(id int64) time.Time {
		var at time.Time
		if err := e.store.Pool.QueryRow(context.Background(), `SELECT effective_at FROM notices WHERE id = $1`, id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	first, second := eff(e.story.Notices[0]), eff(e.story.Notices[1])
	instant := func(at time.Time) string { return "datetime=" + url.QueryEscape(at.UTC().Format(time.RFC3339)) }
	before := e.zoneIDs(t, instant(first.Add(-time.Minute)))
	if len(before) != 0 {
		t.Errorf("zones before the first notice: %v", before)
	}
	day1 := e.zoneIDs(t, instant(first.Add(time.Minute)))
	if !slices.Contains(day1, e.story.Split) || slices.Contains(day1, e.story.Parts[0]) || !slices.Contains(day1, e.story.Lifted) {
		t.Errorf("zones after notice 1: %v (split %d, parts %v, lifted %d)", day1, e.story.Split, e.story.Parts, e.story.Lifted)
	}
	if len(day1) != e.story.Zones {
		t.Errorf("zones after notice 1: %d, want the %d approved", len(day1), e.story.Zones)
	}
	day2 := e.zoneIDs(t, instant(second.Add(time.Minute)))
	if slices.Contains(day2, e.story.Split) || !slices.Contains(day2, e.story.Parts[0]) || !slices.Contains(day2, e.story.Lifted) {
		t.Errorf("zones after notice 2: %v", day2)
	}
	now := e.zoneIDs(t, "")
	if slices.Contains(now, e.story.Lifted) || !slices.Contains(now, e.story.Parts[1]) {
		t.Errorf("current zones %v: lifted %d must be gone", now, e.story.Lifted)
	}
	// An interval over both: the split zone and its parts (each zone once).
	both := e.zoneIDs(t, "datetime="+url.QueryEscape(first.Add(time.Minute).UTC().Format(time.RFC3339)+"/"+second.Add(time.Minute).UTC().Format(time.RFC3339)))
	if !slices.Contains(both, e.story.Split) || !slices.Contains(both, e.story.Parts[0]) {
		t.Errorf("interval zones %v", both)
	}
	sorted := slices.Clone(both)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(both) {
		t.Errorf("interval repeats zones: %v", both)
	}
	// The same through the export's "at".
	var exp fc
	e.get("/api/v1/export/zones.geojson?at="+url.QueryEscape(first.Add(time.Minute).UTC().Format(time.RFC3339)), http.StatusOK).decode(t, &exp)
	if len(exp.Features) != len(day1) {
		t.Errorf("export at notice 1: %d zones, want %d", len(exp.Features), len(day1))
	}
	// zone-versions: every published version; the open ones have no valid_to.
	var hist fc
	e.get("/ogc/collections/zone-versions/items?limit=1000", http.StatusOK).decode(t, &hist)
	if want := e.count(t, `SELECT count(*) FROM notice_zones`); len(hist.Features) != want {
		t.Errorf("zone-versions: %d, want %d", len(hist.Features), want)
	}
}

// checkKeysetPaging follows next links through the buildings while rows are
// inserted before and after the cursor: every original row is seen exactly
// once; prev leads back.
func checkKeysetPaging(t *testing.T, e *publicEnv) {
	ctx := context.Background()
	rows, err := e.store.Pool.Query(ctx, `SELECT id FROM buildings ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var all []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		all = append(all, id)
	}
	rows.Close()
	seen := map[int64]int{}
	path := "/ogc/collections/buildings/items?limit=700&f=json"
	var firstPage []string
	pages := 0
	for path != "" {
		var page fc
		e.get(path, http.StatusOK).decode(t, &page)
		if page.NumberMatched == nil || page.NumberReturned == nil || *page.NumberReturned != len(page.Features) {
			t.Fatalf("page %d: numberMatched %v, numberReturned %v, %d features", pages, page.NumberMatched, page.NumberReturned, len(page.Features))
		}
		for _, f := range page.Features {
			id, _ := strconv.ParseInt(string(f.ID), 10, 64)
			seen[id]++
			if pages == 0 {
				firstPage = append(firstPage, string(f.ID))
			}
		}
		if pages == 1 {
			// Back to the first page by prev.
			var prev fc
			e.get(e.pathOf(t, page.link("prev")), http.StatusOK).decode(t, &prev)
			var got []string
			for _, f := range prev.Features {
				got = append(got, string(f.ID))
			}
			if !slices.Equal(got, firstPage) {
				t.Errorf("prev of page 2 is not page 1: %v...", got[:min(3, len(got))])
			}
		}
		// Rows written between pages: one before every key (a negative id),
		// one after.
		if _, err := e.store.Pool.Exec(ctx, `INSERT INTO buildings (id, kind, geom, source, source_id)
			SELECT i, 'other', ST_Multi(ST_Buffer(ST_Centroid(b.geom), 0.00005, 2)), 'test', 'p' || i
			FROM (SELECT geom FROM buildings WHERE id > 0 ORDER BY id LIMIT 1) b, (VALUES ($1::bigint), ($2::bigint)) v (i)`,
			-int64(pages+1), int64(10_000_000+pages)); err != nil {
			t.Fatal(err)
		}
		next := page.link("next")
		if next != "" {
			u, _ := url.Parse(next)
			if u.Query().Get("limit") != "700" || u.Query().Get("f") != "json" || u.Query().Get("cursor") == "" {
				t.Fatalf("next link %q does not keep the query", next)
			}
			next = e.pathOf(t, next)
		}
		path = next
		pages++
		if pages > 100 {
			t.Fatal("paging does not end")
		}
	}
	for _, id := range all {
		if seen[id] != 1 {
			t.Fatalf("building %d seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 || id < 0 {
			t.Fatalf("building %d seen %d times", id, n)
		}
	}
	if _, err := e.store.Pool.Exec(ctx, `DELETE FROM buildings WHERE source = 'test'`); err != nil {
		t.Fatal(err)
	}
}

func firstCoord(t *testing.T, geom json.RawMessage) [2]float64 {
	t.Helper()
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(geom, &g); err != nil {
		t.Fatal(err)
	}
	s := strings.TrimLeft(string(g.Coordinates), "[")
	parts := strings.SplitN(s, ",", 3)
	a, _ := strconv.ParseFloat(parts[0], 64)
	b, _ := strconv.ParseFloat(strings.TrimRight(parts[1], "]"), 64)
	return [2]float64{a, b}
}

func checkCRS(t *testing.T, e *publicEnv) {
	base := "/ogc/collections/buildings/items?limit=5"
	var def, latlon, merc, cgcs fc
	r := e.get(base, http.StatusOK)
	r.decode(t, &def)
	if h := r.Header.Get("Content-Crs"); h != "<"+crs84URI+">" {
		t.Errorf("Content-Crs %q", h)
	}
	if v, cc := r.Header.Get("Vary"), r.Header.Get("Cache-Control"); !strings.Contains(v, "Accept") || cc != "public, max-age=30" {
		t.Errorf("public items: Vary %q, Cache-Control %q", v, cc)
	}
	r = e.get(base+"&crs="+url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/4326"), http.StatusOK)
	r.decode(t, &latlon)
	if h := r.Header.Get("Content-Crs"); h != "<http://www.opengis.net/def/crs/EPSG/0/4326>" {
		t.Errorf("Content-Crs %q", h)
	}
	e.get(base+"&crs="+url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"), http.StatusOK).decode(t, &merc)
	e.get(base+"&crs="+url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/4490"), http.StatusOK).decode(t, &cgcs)
	d, l, m, c := firstCoord(t, def.Features[0].Geometry), firstCoord(t, latlon.Features[0].Geometry), firstCoord(t, merc.Features[0].Geometry), firstCoord(t, cgcs.Features[0].Geometry)
	if d[0] != l[1] || d[1] != l[0] || c != l {
		t.Errorf("EPSG:4326/4490 must be lat/lon: CRS84 %v, 4326 %v, 4490 %v", d, l, c)
	}
	var x, y float64
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 3857) p`, d[0], d[1]).Scan(&x, &y); err != nil {
		t.Fatal(err)
	}
	if abs(m[0]-x) > 0.01 || abs(m[1]-y) > 0.01 {
		t.Errorf("EPSG:3857 %v, want %v", m, [2]float64{x, y})
	}
	// bbox in lat/lon order (bbox-crs EPSG:4326) selects the same features
	// as the same box in CRS84.
	box := [4]float64{d[0] - 0.002, d[1] - 0.002, d[0] + 0.002, d[1] + 0.002}
	var a, b fc
	e.get(fmt.Sprintf("/ogc/collections/buildings/items?limit=1000&bbox=%f,%f,%f,%f", box[0], box[1], box[2], box[3]), http.StatusOK).decode(t, &a)
	e.get(fmt.Sprintf("/ogc/collections/buildings/items?limit=1000&bbox=%f,%f,%f,%f&bbox-crs=%s", box[1], box[0], box[3], box[2],
		url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/4326")), http.StatusOK).decode(t, &b)
	if len(a.Features) == 0 || *a.NumberMatched != *b.NumberMatched || *a.NumberMatched >= e.count(t, `SELECT count(*) FROM buildings`) {
		t.Errorf("bbox: %v features by CRS84, %v by EPSG:4326", a.NumberMatched, b.NumberMatched)
	}
	want := e.count(t, `SELECT count(*) FROM buildings WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))`, box[0], box[1], box[2], box[3])
	if *a.NumberMatched != want {
		t.Errorf("bbox numberMatched %d, PostGIS %d", *a.NumberMatched, want)
	}
	// ogrinfo reads the zones in EPSG:3857 too (Part 2 through GDAL is
	// exercised by the CRS list; the count stays).
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func checkRestricted(t *testing.T, e *publicEnv) {
	for _, p := range []string{"/ogc/collections/cases", "/ogc/collections/cases/items", "/ogc/collections/traces/items", "/ogc/collections/cases/schema"} {
		e.do(request{method: "GET", path: p}).expectError(t, http.StatusNotFound, "no collection", "anonymous "+p)
	}
	e.addUser("ogc.expert", "expert", "ogc-expert-pass")
	e.addUser("ogc.agency", "agency", "ogc-agency-pass")
	agency := e.login("ogc.agency", "ogc-agency-pass")
	e.do(request{method: "GET", path: "/ogc/collections/cases/items", cookie: agency.cookie}).expectError(t, http.StatusNotFound, "no collection", "agency cases")
	ex := e.login("ogc.expert", "ogc-expert-pass")
	res := e.do(request{method: "GET", path: "/ogc/collections", cookie: ex.cookie}).expect(t, http.StatusOK, "expert collections")
	if !strings.Contains(string(res.body), `"id":"cases"`) || !strings.Contains(string(res.body), `"id":"traces"`) {
		t.Errorf("expert collections lack cases/traces")
	}
	var page fc
	r := e.do(request{method: "GET", path: "/ogc/collections/cases/items?limit=10", cookie: ex.cookie}).expect(t, http.StatusOK, "expert cases")
	r.decode(t, &page)
	if *page.NumberMatched != e.count(t, `SELECT count(*) FROM cases`) || len(page.Features) != 10 {
		t.Errorf("expert cases: matched %d, %d features", *page.NumberMatched, len(page.Features))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("restricted items Cache-Control %q", cc)
	}
}

func checkOGCBadInput(t *testing.T, e *publicEnv) {
	items := "/ogc/collections/zones/items"
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{items + "?bbox=1,2,3", 400, "bbox"},
		{items + "?bbox=120,31,119,32", 400, "lower corner"},
		{items + "?bbox=a,b,c,d", 400, "not a number"},
		{items + "?bbox=-200,0,10,10", 400, "longitude"},
		{items + "?datetime=yesterday", 400, "datetime"},
		{items + "?datetime=2022-11-30T00:00:00Z/2022-11-01T00:00:00Z", 400, "ends before"},
		{items + "?datetime=/", 400, "datetime"},
		{items + "?datetime=0000-01-01T00:00:00Z", 400, "datetime"},
		{items + "?datetime=2022-11-20T08:00:00%2B14:00", 200, ""},
		{items + "?datetime=../2022-11-20", 200, ""},
		{items + "?datetime=2022-11-20T08:00:00Z/..", 200, ""},
		{items + "?bbox=-180,-90,180,90,0,0", 200, ""},
		{items + "?county=9223372036854775807", 200, ""},
		{items + "?bbox=1,2,3,4,5", 400, "bbox"},
		{items + "?bbox=1,,3,4", 400, "not a number"},
		{items + "?bbox=NaN,1,2,3", 400, "not a number"},
		{items + "?limit=-1", 400, "limit"},
		{items + "?limit=1&limit=2", 400, "2 times"},
		{items + "?level=%00", 400, "level"},
		{items + "?datetime=2022-13-45", 400, "datetime"},
		{items + "?datetime=a/b/c", 400, "datetime"},
		{items + "?crs=%5BEPSG%3A4326%5D", 200, ""},
		{items + "?bbox=0,0,1,1&bbox-crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"), 200, ""},
		{items + "?bbox=0,0,1,30000000&bbox-crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"), 400, "Web Mercator"},
		{items + "?bbox-crs=" + url.QueryEscape(crs84URI), 400, "without bbox"},
		{"/ogc/collections/zones/items/1?limit=5", 400, "unknown query parameter"},
		{"/ogc/collections/zones/items/1?crs=foo", 400, "crs"},
		{"/ogc/collections/zones/items/99999999999999999999", 404, "no feature"},
		{"/ogc/collections/cases/items?cursor=x", 404, "no collection"},
		{items + "?limit=0", 400, "limit"},
		{items + "?limit=1000000000", 400, "limit"},
		{items + "?limit=ten", 400, "limit"},
		{items + "?cursor=garbage", 400, "cursor"},
		{items + "?cursor=" + encodeCursor(false, postgis.Key{K1: 1}) + "x", 400, "cursor"},
		{items + "?crs=EPSG:27700", 400, "crs"},
		{items + "?crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/27700"), 400, "crs"},
		{items + "?bbox=1,2,3,4&bbox-crs=foo", 400, "bbox-crs"},
		{items + "?f=xml", 400, "f="},
		{items + "?color=red", 400, "unknown query parameter"},
		{items + "?status=dancing", 400, "status"},
		{items + "?county=-1", 400, "county"},
		{"/ogc/collections/nope/items", 404, "no collection"},
		{"/ogc/collections/nope", 404, "no collection"},
		{"/ogc/collections/zones/items/abc", 404, "no feature"},
		{"/ogc/collections/zone-versions/items/12", 404, "no feature"},
		{"/api/v1/export/zones.geojson?bbox=1,2,3", 400, "bbox"},
		{"/api/v1/export/zones.geojson?at=soon", 400, "datetime"},
		{"/api/v1/export/zones.geojson?level=HIGH!", 400, "level"},
		{"/api/v1/export/buildings.geojson?zone=999999", 404, "not public"},
		{"/api/v1/export/addresses.csv?county=x", 400, "county"},
	}
	for _, c := range cases {
		if c.status == 200 {
			e.do(request{method: "GET", path: c.path}).expect(t, 200, c.path)
			continue
		}
		e.do(request{method: "GET", path: c.path}).expectError(t, c.status, c.want, c.path)
	}
	if strings.Contains(e.logs.String(), "internal error") {
		t.Errorf("bad input caused internal errors:\n%s", e.logs.String())
	}
}

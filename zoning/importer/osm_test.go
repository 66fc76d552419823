package importer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// TestImportLiechtensteinMatchesOsmium imports the real extract and checks
// the counts against osmium, run on the same file with the same rules
// written as osmium filters. They are equal in this extract; the test allows
// 1%. Where they differ from the generic counts of ../shared/data/README.md:
//
//   - buildings: 3,723 = 3,722 ways tagged building + 1 multipolygon relation
//     (the README's 3,725 ways include the 3 untagged member ways that
//     osmium adds without -R);
//   - roads: 2,749 of the 2,753 highway ways: 4 are tunnels (tunnel=yes),
//     which do not divide the surface;
//   - waterways: 59 of the 76 waterway ways: 4 riverbank/dam/ditch ways are
//     not river|canal|stream|drain, and 13 are culverts or tunnels; the
//     waterway relation is a route of ways already imported;
//   - railways: 34 of 39: the 3 railway=platform ways and 2 route relations
//     are not tracks;
//   - water: 22 = 19 natural=water ways + 2 landuse=reservoir ways + 1
//     natural=water multipolygon (README: 23 ways, counting 4 member ways);
//   - admin areas: 14 of the 39 boundary=administrative relations; the other
//     25 are Swiss and Austrian areas cut by the extract, whose rings do not
//     close (osmium export cannot build them either; each is listed as
//     skipped).
func TestImportLiechtensteinMatchesOsmium(t *testing.T) {
	pbf := liechtensteinPBF(t)
	im, s := newImporter(t)
	opts := Options{Kind: KindOSM, AdminLevels: liechtensteinLevels}
	sum := importOK(t, im, pbf, opts)

	surface := []string{"-i", "w/tunnel=yes,culvert,building_passage", "w/location=underground"}
	checks := []struct {
		name   string
		ours   int64
		osmium int64
	}{
		{"buildings", count(t, s, "SELECT count(*) FROM buildings"),
			osmiumCount(t, pbf, "ways", []string{"w/building!=no"}) +
				osmiumCount(t, pbf, "relations", []string{"r/type=multipolygon"}, []string{"r/building!=no"})},
		{"roads", count(t, s, "SELECT count(*) FROM barriers WHERE kind = 'road'"),
			osmiumCount(t, pbf, "ways", []string{"w/highway"}, append(surface, "w/highway=proposed,abandoned,razed,disused"))},
		{"waterways", count(t, s, "SELECT count(*) FROM barriers WHERE kind IN ('river', 'canal', 'stream', 'drain')"),
			osmiumCount(t, pbf, "ways", []string{"w/waterway=river,canal,stream,drain"}, surface)},
		{"railways", count(t, s, "SELECT count(*) FROM barriers WHERE kind = 'railway'"),
			osmiumCount(t, pbf, "ways", []string{"w/railway=rail,light_rail,subway"}, append(surface, "w/layer=-1,-2,-3,-4,-5"))},
		{"water", count(t, s, "SELECT count(*) FROM barriers WHERE kind = 'water'"),
			osmiumCount(t, pbf, "ways", []string{"w/natural=water", "w/landuse=reservoir"}) +
				osmiumCount(t, pbf, "relations", []string{"r/type=multipolygon"}, []string{"r/natural=water", "r/landuse=reservoir"})},
		{"admin areas", count(t, s, "SELECT count(*) FROM admin_areas"), osmiumAdminAreas(t, pbf, liechtensteinLevels)},
	}
	for _, c := range checks {
		t.Logf("%-12s riskzone %5d  osmium %5d", c.name, c.ours, c.osmium)
		if c.osmium == 0 || math.Abs(float64(c.ours-c.osmium)) > 0.01*float64(c.osmium) {
			t.Errorf("%s: imported %d, osmium counts %d (more than 1%% apart)", c.name, c.ours, c.osmium)
		}
	}
	// The summary agrees with the tables.
	if b := sum.LayerCounts("buildings"); b.Added != count(t, s, "SELECT count(*) FROM buildings") || b.Read != b.Added {
		t.Errorf("buildings summary %+v", b)
	}
	// Every residential building got units, and population adds up.
	if n := count(t, s, `SELECT count(*) FROM buildings b WHERE kind = 'residential'
		AND NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id)`); n != 0 {
		t.Errorf("%d residential buildings without units", n)
	}
	if n := count(t, s, `SELECT count(*) FROM buildings b WHERE kind = 'residential' AND population <>
		(SELECT sum(population) FROM units u WHERE u.building_id = b.id)`); n != 0 {
		t.Errorf("%d buildings whose units' population does not add up", n)
	}
	if n := count(t, s, "SELECT count(*) FROM buildings WHERE NOT population_derived OR h3_r11 IS NULL OR NOT units_derived AND kind = 'residential'"); n != 0 {
		t.Errorf("%d buildings without derived population, H3 cell or derived units", n)
	}
	// Vaduz's buildings are in the county Vaduz, whose parent is Oberland.
	if n := count(t, s, `SELECT count(*) FROM buildings b JOIN admin_areas a ON a.id = b.county_id
		JOIN admin_areas p ON p.id = a.parent_id WHERE a.name = 'Vaduz' AND p.name = 'Wahlkreis Oberland'`); n < 50 {
		t.Errorf("%d buildings in Vaduz, want about a hundred (in this 2013 extract)", n)
	}
	if got := len(sum.Skipped); got == 0 || !strings.Contains(fmt.Sprint(sum.Skipped), "missing from the file") {
		t.Errorf("skipped list %v: want the incomplete neighbouring boundaries", sum.Skipped)
	}
	if v := count(t, s, "SELECT sum(version) FROM layer_versions WHERE layer IN ('buildings', 'barriers', 'admin', 'places')"); v != 8 {
		t.Errorf("layer versions sum %d after one import, want 8 (each bumped once)", v)
	}

	// Importing it again changes nothing.
	before := fingerprints(t, s)
	again := importOK(t, im, pbf, opts)
	for _, l := range again.Layers {
		if l.Added != 0 || l.Changed != 0 || l.Removed != 0 {
			t.Errorf("re-import %s: %+v, want 0 added, 0 changed, 0 removed", l.Layer, l)
		}
	}
	if again.Changed() {
		t.Errorf("re-import bumped %v", again.LayerVersions)
	}
	after := fingerprints(t, s)
	for table, fp := range before {
		if after[table] != fp {
			t.Errorf("re-import changed %s", table)
		}
	}
	// Both imports are recorded as done jobs with their summaries.
	if n := count(t, s, "SELECT count(*) FROM import_jobs WHERE status = 'done' AND kind = 'osm' AND summary->'layers' IS NOT NULL AND finished_at IS NOT NULL"); n != 2 {
		t.Errorf("%d done jobs, want 2", n)
	}
	if n := count(t, s, "SELECT count(*) FROM audit_log WHERE action = 'import' AND entity = 'import_job'"); n != 2 {
		t.Errorf("%d audit rows, want 2", n)
	}
}

// osmiumAdminAreas counts the admin areas osmium itself can assemble: it
// exports the boundary relations (with their members) as polygons.
func osmiumAdminAreas(t *testing.T, pbf string, levels map[int]string) int64 {
	dir := t.TempDir()
	rel := filepath.Join(dir, "admin.osm.pbf")
	osmium(t, "tags-filter", "-O", "-o", rel, pbf, "r/boundary=administrative")
	out := filepath.Join(dir, "admin.geojsonseq")
	osmium(t, "export", "-O", "-f", "geojsonseq", "--geometry-types=polygon", "-a", "type,id", "-o", out, rel)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var feat struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal([]byte(strings.TrimLeft(sc.Text(), "\x1e")), &feat); err != nil {
			t.Fatal(err)
		}
		p := feat.Properties
		lvl, _ := strconv.Atoi(fmt.Sprint(p["admin_level"]))
		if p["@type"] == "relation" && p["boundary"] == "administrative" && levels[lvl] != "" {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// newerExtract writes the real extract with edits, as a newer extract would
// have them: building ways removed, one building given more floors, and a
// new building of four new nodes next to it. The edits are made in OSM XML
// (osmium cat) and the result converted back to PBF.
func newerExtract(t *testing.T, pbf string, remove []int64, taller int64, newAt orb.Point) string {
	dir := t.TempDir()
	xmlPath := filepath.Join(dir, "base.osm")
	osmium(t, "cat", "-O", "-o", xmlPath, pbf)
	b, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// wayAt finds the text of a way element: its start and the end of </way>.
	wayAt := func(id int64) (int, int) {
		start := strings.Index(s, `<way id="`+strconv.FormatInt(id, 10)+`"`)
		if start < 0 {
			t.Fatalf("way %d not in the extract", id)
		}
		end := start + strings.Index(s[start:], "</way>") + len("</way>")
		return start, end
	}
	for _, id := range remove {
		start, end := wayAt(id)
		s = s[:start] + s[end:]
	}
	_, end := wayAt(taller)
	closing := end - len("</way>")
	s = s[:closing] + `  <tag k="building:levels" v="7"/>
  ` + s[closing:]
	d := 0.0001
	var add strings.Builder
	for i, p := range []orb.Point{newAt, {newAt[0] + d, newAt[1]}, {newAt[0] + d, newAt[1] + d}, {newAt[0], newAt[1] + d}} {
		fmt.Fprintf(&add, "  <node id=\"%d\" version=\"1\" lat=\"%.7f\" lon=\"%.7f\"/>\n", 900001+i, p[1], p[0])
	}
	// Nodes must come before ways: insert before the first way.
	i := strings.Index(s, "  <way ")
	s = s[:i] + add.String() + s[i:]
	way := `  <way id="900001" version="1">
    <nd ref="900001"/><nd ref="900002"/><nd ref="900003"/><nd ref="900004"/><nd ref="900001"/>
    <tag k="building" v="apartments"/><tag k="building:levels" v="12"/>
  </way>
`
	i = strings.Index(s, "  <relation ")
	s = s[:i] + way + s[i:]
	edited := filepath.Join(dir, "newer.osm")
	if err := os.WriteFile(edited, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "newer.osm.pbf")
	osmium(t, "cat", "-O", "-o", out, edited)
	return out
}

// TestImportNewerExtractAddsChangesRemovesWithinScope imports the extract,
// then a newer one (one building gone, one taller, one new, and one gone far
// away) restricted to a bbox around the first three: the counts say exactly
// that, the far building stays (out of scope), and nothing else moves.
func TestImportNewerExtractAddsChangesRemovesWithinScope(t *testing.T) {
	pbf := liechtensteinPBF(t)
	im, s := newImporter(t)
	opts := Options{Kind: KindOSM, AdminLevels: liechtensteinLevels}
	importOK(t, im, pbf, opts)

	// A residential building (a plain way), its nearest residential neighbour, and the building farthest away.
	var gone, taller, far int64
	var gx, gy float64
	err := s.Pool.QueryRow(ctxT(t), `
		SELECT substr(a.source_id, 2)::bigint, substr(b.source_id, 2)::bigint, ST_X(ST_Centroid(a.geom)), ST_Y(ST_Centroid(a.geom))
		FROM (SELECT * FROM buildings WHERE source_id LIKE 'w%' AND kind = 'residential' ORDER BY id LIMIT 1) a
		CROSS JOIN LATERAL (SELECT source_id FROM buildings b WHERE b.source_id LIKE 'w%' AND b.kind = 'residential' AND b.id <> a.id
		                    ORDER BY b.geom <-> a.geom LIMIT 1) b`).Scan(&gone, &taller, &gx, &gy)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Pool.QueryRow(ctxT(t), `SELECT substr(source_id, 2)::bigint FROM buildings
		WHERE source_id LIKE 'w%' ORDER BY ST_Distance(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) DESC LIMIT 1`, gx, gy).Scan(&far)
	if err != nil {
		t.Fatal(err)
	}
	newer := newerExtract(t, pbf, []int64{gone, far}, taller, orb.Point{gx + 0.0008, gy})
	before := fingerprints(t, s)
	unitsBefore := count(t, s, "SELECT count(*) FROM units")
	opts.BBox = &orb.Bound{Min: orb.Point{gx - 0.003, gy - 0.003}, Max: orb.Point{gx + 0.003, gy + 0.003}}
	sum := importOK(t, im, newer, opts)

	b := sum.LayerCounts("buildings")
	if b.Added != 1 || b.Changed != 1 || b.Removed != 1 {
		t.Errorf("buildings: %+v, want 1 added, 1 changed, 1 removed", b)
	}
	for _, l := range []string{"barriers", "admin", "places", "compounds"} {
		if c := sum.LayerCounts(l); c.Added+c.Changed+c.Removed != 0 {
			t.Errorf("%s: %+v, want no change", l, c)
		}
	}
	for _, id := range []int64{gone, far} {
		want := int64(0)
		if id == far {
			want = 1 // outside the bbox: not in scope, so not removed
		}
		if n := count(t, s, "SELECT count(*) FROM buildings WHERE source = 'osm' AND source_id = $1", "w"+strconv.FormatInt(id, 10)); n != want {
			t.Errorf("way %d: %d rows, want %d", id, n, want)
		}
	}
	if n := count(t, s, "SELECT count(*) FROM buildings WHERE source_id = 'w900001' AND floors = 12 AND kind = 'residential'"); n != 1 {
		t.Errorf("new building: %d rows", n)
	}
	if n := count(t, s, "SELECT count(*) FROM buildings WHERE source_id = $1 AND floors = 7", "w"+strconv.FormatInt(taller, 10)); n != 1 {
		t.Errorf("taller building not updated")
	}
	u := sum.LayerCounts("units")
	if u.Added == 0 || u.Changed == 0 || u.Removed == 0 {
		t.Errorf("units %+v: want some added (new building), changed (taller: more residents) and removed (with the gone building)", u)
	}
	if got := count(t, s, "SELECT count(*) FROM units"); got != unitsBefore+u.Added-u.Removed {
		t.Errorf("units: %d, want %d + %d - %d", got, unitsBefore, u.Added, u.Removed)
	}
	after := fingerprints(t, s)
	for _, table := range []string{"barriers", "admin_areas", "places", "compounds"} {
		if after[table] != before[table] {
			t.Errorf("%s changed", table)
		}
	}
	if !strings.Contains(strings.Join(sum.LayerVersions, ","), "buildings") || strings.Contains(strings.Join(sum.LayerVersions, ","), "barriers") {
		t.Errorf("layer versions bumped %v, want buildings only", sum.LayerVersions)
	}
}

// TestImportCountyRelationScope imports only what meets Vaduz (relation 48).
func TestImportCountyRelationScope(t *testing.T) {
	pbf := liechtensteinPBF(t)
	im, s := newImporter(t)
	sum := importOK(t, im, pbf, Options{Kind: KindOSM, AdminLevels: liechtensteinLevels, CountyRelation: 48})
	var names []string
	rows, err := s.Pool.Query(ctxT(t), "SELECT name FROM admin_areas ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	// Vaduz and the areas holding it; its neighbours only touch it.
	if got := strings.Join(names, "|"); got != "Liechtenstein|Vaduz|Wahlkreis Oberland" {
		t.Errorf("admin areas %q", got)
	}
	b := sum.LayerCounts("buildings").Read
	if b < 50 || b > 3000 {
		t.Errorf("%d buildings meet Vaduz, want part of the country's 3,723", b)
	}
	if n := count(t, s, `SELECT count(*) FROM buildings b WHERE NOT ST_Intersects(b.geom, (SELECT geom FROM admin_areas WHERE name = 'Vaduz'))`); n != 0 {
		t.Errorf("%d buildings outside Vaduz", n)
	}
	// A relation that is not in the file is refused.
	importInvalid(t, im, s, pbf, Options{Kind: KindOSM, CountyRelation: 999999}, "--county-relation 999999")
}

// TestImportBrokenPBFChangesNothing: truncated, corrupted and empty files
// fail as bad input and leave every table as it was.
func TestImportBrokenPBFChangesNothing(t *testing.T) {
	pbf := liechtensteinPBF(t)
	im, s := newImporter(t)
	importOK(t, im, testdata("buildings.geojson"), Options{Kind: KindGeoJSON, Layer: "buildings"})
	b, err := os.ReadFile(pbf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	corrupt := append([]byte(nil), b...)
	for i := len(b) * 3 / 4; i < len(b)*3/4+200; i++ {
		corrupt[i] ^= 0xa5
	}
	files := map[string][]byte{
		"truncated.osm.pbf": b[:len(b)*2/3],
		"corrupted.osm.pbf": corrupt,
		"empty.osm.pbf":     nil,
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			importInvalid(t, im, s, p, Options{Kind: KindOSM}, name, "not a readable OSM file")
		})
	}
}

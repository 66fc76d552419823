package demo

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uber/h3-go/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustLoad(t *testing.T, s *postgis.Store, opt Options) *Summary {
	t.Helper()
	sum, err := Load(testCtx(t), s, opt, nil)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opt, err)
	}
	return sum
}

// digests returns, per demo table, the row count and the md5 of all rows in
// id order (row text: geometry as hex EWKB, times in UTC).
func digests(t *testing.T, s *postgis.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range Tables() {
		var n int64
		var sum string
		q := "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY id)), '') FROM " + tb.String() + " t"
		if err := s.Pool.QueryRow(testCtx(t), q).Scan(&n, &sum); err != nil {
			t.Fatalf("digest %s: %v", tb, err)
		}
		out[tb.String()] = sum
		out[tb.String()+".count"] = itoa(int(n))
	}
	return out
}

func queryInt(t *testing.T, s *postgis.Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.Pool.QueryRow(testCtx(t), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func queryFloat(t *testing.T, s *postgis.Store, q string, args ...any) float64 {
	t.Helper()
	var f float64
	if err := s.Pool.QueryRow(testCtx(t), q, args...).Scan(&f); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return f
}

// expectZero fails with the offending ids when q (a SELECT of ids) returns rows.
func expectNone(t *testing.T, s *postgis.Store, what, q string, args ...any) {
	t.Helper()
	rows, err := s.Pool.Query(testCtx(t), q+" LIMIT 5", args...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(bad) > 0 {
		t.Errorf("%s: %s", what, strings.Join(bad, "; "))
	}
}

func TestLoadIsDeterministic(t *testing.T) {
	opt := Options{Seed: 7, Buildings: 2500, Today: testToday}
	a, b, c := pgtest.NewStore(t), pgtest.NewStore(t), pgtest.NewStore(t)
	mustLoad(t, a, opt)
	mustLoad(t, b, opt)
	opt.Seed = 8
	mustLoad(t, c, opt)
	da, db, dc := digests(t, a), digests(t, b), digests(t, c)
	for _, tb := range Tables() {
		name := tb.String()
		if da[name+".count"] == "0" {
			t.Errorf("%s is empty", name)
		}
		if da[name] != db[name] {
			t.Errorf("%s: same seed and today loaded different rows (%s vs %s)", name, da[name], db[name])
		}
		if tb != AdminAreas && da[name] == dc[name] {
			t.Errorf("%s: seeds 7 and 8 loaded the same rows", name)
		}
	}
}

func TestDemoCounty(t *testing.T) {
	s := pgtest.NewStore(t)
	const n = 4000
	sum := mustLoad(t, s, Options{Seed: 3, Buildings: n, Today: testToday})

	t.Run("counts", func(t *testing.T) {
		want := map[string]int{
			"admin_areas": sum.Counts.AdminAreas, "compounds": sum.Counts.Compounds, "buildings": n,
			"units": sum.Counts.Units, "places": sum.Counts.Places, "barriers": sum.Counts.Barriers,
			"cases": sum.Counts.Cases, "traces": sum.Counts.Traces,
		}
		for table, w := range want {
			if got := queryInt(t, s, "SELECT count(*) FROM "+table); got != int64(w) {
				t.Errorf("%s: %d rows, summary says %d", table, got, w)
			}
		}
		if got := queryInt(t, s, "SELECT count(*) FROM units WHERE building_id IS NOT NULL"); got < n || got > 6*n {
			t.Errorf("%d units for %d buildings", got, n)
		}
	})

	t.Run("geometry is valid", func(t *testing.T) {
		for _, tc := range []struct{ table, col, typ string }{
			{"admin_areas", "geom", "MULTIPOLYGON"}, {"compounds", "geom", "MULTIPOLYGON"},
			{"buildings", "geom", "MULTIPOLYGON"}, {"units", "geom", "MULTIPOLYGON"},
			{"places", "geom", "POINT"}, {"barriers", "geom", ""},
		} {
			expectNone(t, s, tc.table+" invalid or not SRID 4326",
				"SELECT id::text || ': ' || ST_IsValidReason("+tc.col+") FROM "+tc.table+
					" WHERE NOT ST_IsValid("+tc.col+") OR ST_SRID("+tc.col+") <> 4326 OR ("+
					"$1 <> '' AND GeometryType("+tc.col+") <> $1)", tc.typ)
		}
	})

	t.Run("buildings clear of barriers", func(t *testing.T) {
		for _, kind := range []string{"road", "river", "water", "railway", "ridge"} {
			if got := queryInt(t, s, "SELECT count(*) FROM barriers WHERE kind = $1", kind); got == 0 {
				t.Errorf("no %s barrier", kind)
			}
		}
		for _, class := range []string{"primary", "secondary", "residential"} {
			if got := queryInt(t, s, "SELECT count(*) FROM barriers WHERE kind = 'road' AND road_class = $1", class); got == 0 {
				t.Errorf("no %s road", class)
			}
		}
		expectNone(t, s, "buildings meeting a barrier", `
SELECT b.id || ' meets ' || r.kind || ' ' || r.id FROM buildings b JOIN barriers r ON ST_Intersects(b.geom, r.geom)`)
		// The river crosses the built-up area, and the ridge lies in a park with
		// no building within 30 m.
		if got := queryInt(t, s, `
SELECT count(*) FROM barriers r WHERE r.kind = 'river'
  AND ST_Intersects(r.geom, (SELECT ST_ConvexHull(ST_Collect(geom)) FROM buildings))`); got != 1 {
			t.Error("the river does not cross the built-up area")
		}
		expectNone(t, s, "buildings near the ridge", `
SELECT b.id::text FROM buildings b JOIN barriers r ON r.kind = 'ridge' AND ST_DWithin(b.geom::geography, r.geom::geography, 30)`)
		expectNone(t, s, "overlapping buildings", `
SELECT a.id || ' & ' || b.id FROM buildings a JOIN buildings b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)`)
	})

	t.Run("units cover their building exactly", func(t *testing.T) {
		expectNone(t, s, "units not covering their building", `
SELECT b.id || ': symdiff ' || ST_Area(ST_SymDifference(u.g, b.geom)) || ', area ' || u.a || ' vs ' || ST_Area(b.geom)
FROM buildings b
JOIN (SELECT building_id, ST_Union(geom) AS g, sum(ST_Area(geom)) AS a FROM units GROUP BY building_id) u ON u.building_id = b.id
WHERE ST_Area(ST_SymDifference(u.g, b.geom)) > 1e-13 OR abs(u.a - ST_Area(b.geom)) > 1e-9 * ST_Area(b.geom)`)
		expectNone(t, s, "buildings without units", `
SELECT b.id::text FROM buildings b WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id)`)
		expectNone(t, s, "units overlapping in area", `
SELECT a.id || ' & ' || b.id FROM units a JOIN units b ON a.building_id = b.building_id AND a.id < b.id
WHERE ST_Relate(a.geom, b.geom, '2********')`)
		expectNone(t, s, "neighbouring units not sharing an edge", `
SELECT a.id || ' & ' || b.id FROM units a JOIN units b ON a.building_id = b.building_id AND b.number = a.number + 1
WHERE NOT ST_Relate(a.geom, b.geom, 'F***1****')`)
		expectNone(t, s, "unit numbers and names", `
SELECT u.id || ' ' || u.number || ' ' || u.name FROM units u
WHERE u.name <> (ARRAY['一单元','二单元','三单元','四单元','五单元','六单元'])[u.number]
   OR u.number > (SELECT count(*) FROM units v WHERE v.building_id = u.building_id)`)
	})

	t.Run("population adds up", func(t *testing.T) {
		expectNone(t, s, "building population is not the sum of its units", `
SELECT b.id || ': ' || b.population || ' vs ' || sum(u.population) FROM buildings b JOIN units u ON u.building_id = b.id
GROUP BY b.id HAVING b.population <> sum(u.population)`)
		if got := queryInt(t, s, "SELECT sum(population) FROM buildings WHERE county_id = $1", sum.CountyID); got != sum.Population {
			t.Errorf("county population %d, summary says %d", got, sum.Population)
		}
		if got := queryInt(t, s, "SELECT sum(population) FROM units"); got != sum.Population {
			t.Errorf("unit population %d, summary says %d", got, sum.Population)
		}
		expectNone(t, s, "residential buildings without residents",
			"SELECT id::text FROM buildings WHERE kind = 'residential' AND population = 0")
	})

	t.Run("addresses and hierarchy", func(t *testing.T) {
		expectNone(t, s, "buildings with an empty address part", `
SELECT id::text FROM buildings WHERE '' IN (addr_district, addr_street, addr_community, addr_compound, addr_number)
   OR addr_district <> '临河区' OR addr_street NOT LIKE '%街道' OR addr_community NOT LIKE '%社区'
   OR addr_number !~ '^[1-9][0-9]*$' OR community_id IS NULL OR compound_id IS NULL OR county_id <> 3`)
		expectNone(t, s, "residential compounds not named 小区",
			"SELECT id::text FROM buildings WHERE kind = 'residential' AND (addr_compound NOT LIKE '%小区' OR name <> addr_compound || addr_number || '号楼')")
		expectNone(t, s, "buildings outside their compound or community", `
SELECT b.id::text FROM buildings b JOIN compounds c ON c.id = b.compound_id JOIN admin_areas a ON a.id = b.community_id
WHERE NOT ST_CoveredBy(b.geom, c.geom) OR NOT ST_CoveredBy(b.geom, a.geom) OR c.community_id <> a.id`)
		expectNone(t, s, "admin areas outside their parent", `
SELECT a.id || ' ' || a.level FROM admin_areas a JOIN admin_areas p ON p.id = a.parent_id
WHERE NOT ST_CoveredBy(a.geom, p.geom)
   OR (a.level, p.level) NOT IN (('city','province'),('county','city'),('street','county'),('community','street'))`)
		var name, authority, nameEn string
		var rule *string
		if err := s.Pool.QueryRow(testCtx(t), "SELECT name, name_en, authority, rule_set_id FROM admin_areas WHERE level = 'county'").Scan(&name, &nameEn, &authority, &rule); err != nil {
			t.Fatal(err)
		}
		if name != "临河区" || authority != "临河区新冠肺炎疫情防控指挥部" || rule != nil || nameEn == "" {
			t.Errorf("county %s (%s), authority %s, rule set %v", name, nameEn, authority, rule)
		}
		expectNone(t, s, "admin areas without an English name", "SELECT id::text FROM admin_areas WHERE name_en = ''")
		// Streets and communities tile the county.
		for _, level := range []string{"street", "community"} {
			diff := queryFloat(t, s, `
SELECT abs(ST_Area((SELECT geom FROM admin_areas WHERE level = 'county')) - sum(ST_Area(geom))) FROM admin_areas WHERE level = $1`, level)
			if diff > 1e-9 {
				t.Errorf("%ss do not tile the county: area differs by %g", level, diff)
			}
		}
		var addr string
		if err := s.Pool.QueryRow(testCtx(t), `
SELECT b.addr_compound || b.addr_number || '号楼' || u.name FROM buildings b JOIN units u ON u.building_id = b.id
WHERE b.kind = 'residential' ORDER BY u.id LIMIT 1 OFFSET 1`).Scan(&addr); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\p{Han}+小区[1-9][0-9]*号楼[一二三四五六]单元$`).MatchString(addr) {
			t.Errorf("address %q does not read like 城建花园小区73号楼二单元", addr)
		}
	})

	t.Run("h3 cells", func(t *testing.T) {
		rows, err := s.Pool.Query(testCtx(t), `
SELECT id, h3_r11, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM buildings ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		checked := 0
		for rows.Next() {
			var id int64
			var cell *int64
			var lon, lat float64
			if err := rows.Scan(&id, &cell, &lon, &lat); err != nil {
				t.Fatal(err)
			}
			if cell == nil {
				t.Fatalf("building %d has no h3 cell", id)
			}
			c := h3.Cell(*cell)
			if !c.IsValid() || c.Resolution() != 11 {
				t.Fatalf("building %d: cell %x is not a resolution-11 cell", id, *cell)
			}
			if d := h3.GreatCircleDistanceM(c.LatLng(), h3.NewLatLng(lat, lon)); d > 30 {
				t.Fatalf("building %d is %.0f m from the centre of its cell", id, d)
			}
			checked++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if checked != n {
			t.Fatalf("checked %d buildings", checked)
		}
		expectNone(t, s, "cases or traces without h3", `
SELECT 'case ' || id FROM cases WHERE h3_r11 IS NULL UNION ALL SELECT 'trace ' || id FROM traces WHERE h3_r11 IS NULL`)
	})

	t.Run("places", func(t *testing.T) {
		for _, kind := range []string{"market", "office", "gym", "restaurant", "school"} {
			if got := queryInt(t, s, "SELECT count(*) FROM places WHERE kind = $1", kind); got == 0 {
				t.Errorf("no %s", kind)
			}
		}
		for _, flag := range []string{"enclosed", "poorly_ventilated"} {
			if got := queryInt(t, s, "SELECT count(DISTINCT "+flag+") FROM places"); got != 2 {
				t.Errorf("%s is not sometimes true, sometimes false", flag)
			}
		}
		expectNone(t, s, "places outside their building", `
SELECT p.id::text FROM places p LEFT JOIN buildings b ON b.id = p.building_id
WHERE b.id IS NULL OR NOT ST_Intersects(p.geom, b.geom) OR p.name = ''`)
	})

	t.Run("cases", func(t *testing.T) {
		buildings := queryInt(t, s, "SELECT count(DISTINCT residence_building_id) FROM cases")
		if share := float64(buildings) / n; share < 0.008 || share > 0.012 {
			t.Errorf("%d of %d buildings have cases (%.2f%%), want about 1%%", buildings, n, 100*share)
		}
		if buildings != int64(sum.CaseBuildings) {
			t.Errorf("%d case buildings, summary says %d", buildings, sum.CaseBuildings)
		}
		for _, cat := range ExclusionCategories() {
			if got := queryInt(t, s, `SELECT count(*) FROM cases WHERE exclusion_category = $1
AND exclusion_assessment <> '' AND excluded_at IS NOT NULL`, cat); got == 0 {
				t.Errorf("no case excluded as %s", cat)
			}
		}
		if got := queryInt(t, s, "SELECT count(*) FROM cases WHERE NOT source_known AND exclusion_category IS NULL"); got == 0 {
			t.Error("no counted case of unknown source")
		}
		if got := queryInt(t, s, "SELECT count(DISTINCT kind) FROM cases"); got != 2 {
			t.Error("cases are not both confirmed and asymptomatic")
		}
		expectNone(t, s, "malformed cases", `
SELECT c.id || ' ' || c.case_no FROM cases c LEFT JOIN units u ON u.id = c.residence_unit_id
WHERE u.building_id IS DISTINCT FROM c.residence_building_id
   OR c.report_date NOT BETWEEN $1::date - 10 AND $1::date - 1
   OR c.case_no !~ '^C2022-[0-9]{6}$' OR c.county_id <> 3
   OR c.residence_address NOT LIKE '临河区%号楼%单元'`, testToday)
		// Clustered: most case buildings lie in the two small discs.
		if len(sum.Clusters) != 2 {
			t.Fatalf("%d clusters", len(sum.Clusters))
		}
		county := queryFloat(t, s, "SELECT ST_Area(geom::geography) FROM admin_areas WHERE level = 'county'")
		var inside int64
		var discs float64
		for _, cl := range sum.Clusters {
			discs += 3.14159 * cl.RadiusM * cl.RadiusM
		}
		inside = queryInt(t, s, `
SELECT count(DISTINCT c.residence_building_id) FROM cases c JOIN buildings b ON b.id = c.residence_building_id
WHERE ST_DWithin(ST_Centroid(b.geom)::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3 + 1)
   OR ST_DWithin(ST_Centroid(b.geom)::geography, ST_SetSRID(ST_MakePoint($4, $5), 4326)::geography, $6 + 1)`,
			sum.Clusters[0].Lon, sum.Clusters[0].Lat, sum.Clusters[0].RadiusM,
			sum.Clusters[1].Lon, sum.Clusters[1].Lat, sum.Clusters[1].RadiusM)
		if share := float64(inside) / float64(buildings); share < 0.75 {
			t.Errorf("only %.0f%% of case buildings lie in the two clusters", 100*share)
		}
		if discs > 0.15*county {
			t.Errorf("the clusters cover %.0f%% of the county: not small neighbourhoods", 100*discs/county)
		}
	})

	t.Run("traces", func(t *testing.T) {
		expectNone(t, s, "cases with other than 1-3 traces", `
SELECT c.id || ': ' || count(t.id) FROM cases c LEFT JOIN traces t ON t.case_id = c.id GROUP BY c.id HAVING count(t.id) NOT BETWEEN 1 AND 3`)
		expectNone(t, s, "malformed traces", `
SELECT t.id::text FROM traces t JOIN cases c ON c.id = t.case_id JOIN places p ON p.id = t.place_id
WHERE t.building_id IS DISTINCT FROM p.building_id OR t.starts_at >= t.ends_at
   OR (t.starts_at AT TIME ZONE 'Asia/Shanghai')::date NOT BETWEEN c.report_date - 4 AND c.report_date - 1
   OR (t.ends_at AT TIME ZONE 'Asia/Shanghai')::date >= c.report_date
   OR t.enclosed IS DISTINCT FROM p.enclosed
   OR t.activity <> CASE p.kind WHEN 'market' THEN 'shopping' WHEN 'restaurant' THEN 'dining'
        WHEN 'gym' THEN 'leisure' WHEN 'office' THEN 'work' WHEN 'school' THEN 'school' END`)
		// Hot spots: some place is visited by several cases.
		if got := queryInt(t, s, "SELECT max(c) FROM (SELECT count(DISTINCT case_id) AS c FROM traces GROUP BY place_id) x"); got < 3 {
			t.Errorf("the busiest place had %d cases: no hot spot", got)
		}
	})

	t.Run("sequences and layer versions", func(t *testing.T) {
		for _, tb := range Tables() {
			next := queryInt(t, s, "SELECT nextval(pg_get_serial_sequence($1, 'id'))", tb.String())
			if maxID := queryInt(t, s, "SELECT max(id) FROM "+tb.String()); next <= maxID {
				t.Errorf("%s: next id %d, max id %d", tb, next, maxID)
			}
		}
		expectNone(t, s, "layer versions not bumped", "SELECT layer FROM layer_versions WHERE version <> 2")
	})
}

func TestLoadIsAllOrNothingAndRefusesToOverwrite(t *testing.T) {
	// A replacing load empties tables (TRUNCATE): the owner's tool, as
	// `riskzone demo --replace` runs it.
	s := pgtest.NewOwnerStore(t)
	ctx := testCtx(t)

	// A load that fails halfway leaves nothing behind.
	cctx, cancel := context.WithCancel(ctx)
	_, err := Load(cctx, s, Options{Seed: 1, Buildings: 1500, Today: testToday}, func(tb Table, done, total int64) {
		if tb == Units {
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("a cancelled load succeeded")
	}
	if found, err := Existing(ctx, s.Pool); err != nil || len(found) > 0 {
		t.Fatalf("after a failed load: %v, %v", found, err)
	}

	// Replicas learn of the load through NOTIFY.
	listener, err := s.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, "LISTEN "+postgis.LayersChannel); err != nil {
		t.Fatal(err)
	}
	first := mustLoad(t, s, Options{Seed: 1, Buildings: 1000, Today: testToday})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	note, err := listener.Conn().WaitForNotification(wctx)
	wcancel()
	if err != nil {
		t.Fatalf("no layer notification after a load: %v", err)
	}
	if !strings.Contains(note.Payload, "buildings") || !strings.Contains(note.Payload, "cases") {
		t.Errorf("notification %q does not name the buildings and cases layers", note.Payload)
	}
	// Data that a replacing load must keep.
	if _, err := s.Pool.Exec(ctx, "INSERT INTO users (username, role) VALUES ('expert1', 'expert')"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, "INSERT INTO audit_log (actor, role, action, entity) VALUES ('expert1', 'expert', 'test', 'demo')"); err != nil {
		t.Fatal(err)
	}
	before := digests(t, s)

	_, err = Load(ctx, s, Options{Seed: 2, Buildings: 1200, Today: testToday}, nil)
	if !errors.Is(err, ErrNotEmpty) || !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("loading over data: err = %v, want ErrNotEmpty", err)
	}
	if !strings.Contains(err.Error(), "1000 buildings") || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("refusal %q does not say what is there and how to replace it", err)
	}
	after := digests(t, s)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("a refused load changed %s", k)
		}
	}
	if got := queryInt(t, s, "SELECT min(version) FROM layer_versions"); got != 2 {
		t.Errorf("a refused load moved layer versions to %d", got)
	}

	second := mustLoad(t, s, Options{Seed: 2, Buildings: 1200, Today: testToday, Replace: true})
	if got := queryInt(t, s, "SELECT count(*) FROM buildings"); got != 1200 {
		t.Errorf("after --replace: %d buildings, want 1200", got)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM cases"); got != int64(second.Counts.Cases) || got == int64(first.Counts.Cases) && second.Counts.Cases != first.Counts.Cases {
		t.Errorf("after --replace: %d cases, want %d", got, second.Counts.Cases)
	}
	if got := queryInt(t, s, "SELECT sum(population) FROM buildings"); got != second.Population {
		t.Errorf("after --replace: population %d, want %d", got, second.Population)
	}
	if got := queryInt(t, s, "SELECT count(*) FROM users WHERE username = 'expert1'"); got != 1 {
		t.Error("--replace deleted a user")
	}
	if got := queryInt(t, s, "SELECT count(*) FROM audit_log WHERE action = 'test'"); got != 1 {
		t.Error("--replace deleted the audit log")
	}
	if got := queryInt(t, s, "SELECT min(version) FROM layer_versions"); got != 3 {
		t.Errorf("layer versions at %d after two loads, want 3", got)
	}
	// Both loads are in the audit log, by the command line.
	if got := queryInt(t, s, "SELECT count(*) FROM audit_log WHERE action = 'demo.load' AND actor = 'cli' AND entity_id = '3'"); got != 2 {
		t.Errorf("%d demo.load audit entries, want 2", got)
	}
}
